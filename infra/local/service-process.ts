import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A local service in a child process of its own (dynalite, the local S3), as the stack watches and ends it. */
export interface ServiceProcess {
  child: ChildProcess;
  /** Resolves once the process has exited, for whatever reason. */
  exited: Promise<void>;
  /** Why the service cannot answer (its process exited, or was closed); undefined while it can. An unplanned exit is logged. */
  failure(): string | undefined;
  /** Sends `closeMessage` (if the channel is still open) and waits for the exit; once, however often called. */
  close(): Promise<void>;
}

/**
 * Forks `main` under tsx with `args` as JSON on its command line and an IPC channel; `name` is how the service is
 * named in its failure ("the local DynamoDB process exited with 1").
 */
export function forkService(options: { main: URL; args: unknown; name: string; closeMessage: unknown; execArgv?: string[] }): ServiceProcess {
  const child = fork(fileURLToPath(options.main), [JSON.stringify(options.args)], {
    execArgv: ['--import', import.meta.resolve('tsx'), ...(options.execArgv ?? [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let closing: Promise<void> | undefined;
  let exitedBecause: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exitedBecause = closing ? `${options.name} was closed` : `${options.name} process exited with ${code ?? signal}`;
      if (!closing) console.error(JSON.stringify({ level: 'error', msg: exitedBecause }));
      resolve();
    }),
  );
  return {
    child,
    exited,
    failure: () => exitedBecause,
    close: () =>
      (closing ??= (async () => {
        if (child.connected) child.send(options.closeMessage as object);
        await exited;
      })()),
  };
}
