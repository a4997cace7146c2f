import { forkService } from '../service-process';
import type { LocalDynamo, LocalDynamoOptions } from './server';

/**
 * startLocalDynamo in a child process of its own (server-main.ts): dynalite's request parsing, expression
 * evaluation and LevelDB calls then run beside the stack's event loop rather than on it. The child ends with the
 * stack (it exits when its IPC channel closes); if it dies first, `failure()` says so (health answers 503).
 */
export async function startLocalDynamoProcess(options: LocalDynamoOptions = {}): Promise<LocalDynamo> {
  const service = forkService({ main: new URL('./server-main.ts', import.meta.url), args: options, name: 'the local DynamoDB', closeMessage: 'close' });
  const { child, exited } = service;
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.once('message', (message: { endpoint?: string; error?: string }) =>
      message.endpoint ? resolve(message.endpoint) : reject(new Error(`the local DynamoDB did not start: ${message.error}`)),
    );
    child.once('error', reject);
    void exited.then(() => reject(new Error(service.failure())));
  });
  return { endpoint, failure: service.failure, close: service.close };
}
