import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LocalDynamo, LocalDynamoOptions } from './server';

/**
 * startLocalDynamo in a child process of its own (server-main.ts): dynalite's request parsing, expression
 * evaluation and LevelDB calls then run beside the stack's event loop rather than on it. The child ends with the
 * stack (it exits when its IPC channel closes); if it dies first, `failure()` says so (health answers 503).
 */
export async function startLocalDynamoProcess(options: LocalDynamoOptions = {}): Promise<LocalDynamo> {
  const child = fork(fileURLToPath(new URL('./server-main.ts', import.meta.url)), [JSON.stringify(options)], {
    execArgv: ['--import', import.meta.resolve('tsx')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let closing: Promise<void> | undefined;
  let exitedBecause: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exitedBecause = closing ? 'the local DynamoDB was closed' : `the local DynamoDB process exited with ${code ?? signal}`;
      if (!closing) console.error(JSON.stringify({ level: 'error', msg: exitedBecause }));
      resolve();
    }),
  );
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.once('message', (message: { endpoint?: string; error?: string }) =>
      message.endpoint ? resolve(message.endpoint) : reject(new Error(`the local DynamoDB did not start: ${message.error}`)),
    );
    child.once('error', reject);
    void exited.then(() => reject(new Error(`the local DynamoDB process exited with ${child.exitCode ?? child.signalCode}`)));
  });
  return {
    endpoint,
    failure: () => exitedBecause,
    close: () =>
      (closing ??= (async () => {
        if (child.connected) child.send('close');
        await exited;
      })()),
  };
}
