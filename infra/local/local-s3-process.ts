import { setPriority } from 'node:os';
import { forkService } from './service-process';
import type { PresignedUse } from './s3-front/front';
import type { S3Notification } from './local-eventbridge';
import type { LocalS3Options, LocalS3Service } from './local-s3';

/** What the local S3's process tells the stack (local-s3-main.ts). */
export type FromLocalS3 =
  | { type: 'ready'; endpoint: string }
  | { type: 'failed'; error: string }
  | { type: 'event'; notification: S3Notification }
  | { type: 'authorize'; id: number; use: PresignedUse };

/** What the stack tells it: a presigned use's verdict, or to close. */
export type ToLocalS3 = { type: 'authorized'; id: number; refusal?: string } | { type: 'close' };

/** Its options on the command line: credentials as entries, and whether to ask the stack about presigned uses. */
export interface LocalS3ProcessArgs extends Omit<LocalS3Options, 'credentials' | 'authorizePresigned'> {
  credentials?: [string, string][];
  authorizePresigned: boolean;
}

/**
 * startLocalS3 in a child process of its own (local-s3-main.ts): s3rver, its verifying front, and every byte of
 * every export and upload then pass beside the stack's event loop rather than through it. Object-created events
 * come back over IPC; a presigned use is authorised by the stack, which knows who signed it (local IAM). The child
 * ends with the stack (it exits when its IPC channel closes); if it dies first, `failure()` says so (health answers 503).
 */
export async function startLocalS3Process(options: LocalS3Options): Promise<LocalS3Service & { pid: number }> {
  const args: LocalS3ProcessArgs = {
    dataDir: options.dataDir,
    port: options.port,
    buckets: options.buckets,
    ...(options.credentials ? { credentials: [...options.credentials] } : {}),
    authorizePresigned: options.authorizePresigned !== undefined,
  };
  const service = forkService({
    main: new URL('./local-s3-main.ts', import.meta.url),
    args,
    name: 'the local S3',
    closeMessage: { type: 'close' } satisfies ToLocalS3,
    execArgv: ['--disable-warning=ExperimentalWarning'],
  });
  const { child, exited } = service;
  // Bytes for the task processes and browsers, none for search or status: when the cores are busy, the gateway goes first.
  if (child.pid !== undefined) setPriority(child.pid, Number(process.env.LOCAL_S3_NICENESS ?? 10));
  const listeners: Array<(notification: S3Notification) => void> = [];
  const send = (message: ToLocalS3) => {
    if (child.connected) child.send(message);
  };
  const endpoint = new Promise<string>((resolve, reject) => {
    child.on('message', (message: FromLocalS3) => {
      switch (message.type) {
        case 'ready':
          return resolve(message.endpoint);
        case 'failed':
          return reject(new Error(`the local S3 did not start: ${message.error}`));
        case 'event':
          for (const listener of listeners) listener(message.notification);
          return;
        case 'authorize':
          return void Promise.resolve()
            .then(() => options.authorizePresigned?.(message.use))
            .then(
              (refusal) => send({ type: 'authorized', id: message.id, ...(refusal !== undefined ? { refusal } : {}) }),
              // A verdict that cannot be reached refuses: a presigned use is never let through unchecked.
              (error: unknown) => send({ type: 'authorized', id: message.id, refusal: `Access Denied (${error instanceof Error ? error.message : String(error)})` }),
            );
      }
    });
    child.once('error', reject);
    void exited.then(() => reject(new Error(service.failure())));
  });
  try {
    return {
      endpoint: await endpoint,
      pid: child.pid!,
      onEvent: (listener) => void listeners.push(listener),
      failure: service.failure,
      close: service.close,
    };
  } catch (error) {
    child.kill();
    await exited;
    throw error;
  }
}
