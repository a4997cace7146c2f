/** The local S3's own process (local-s3-process.ts): starts s3rver and its front, reports its endpoint, closes on 'close'. */
import { keepRunningOnStrayErrors } from './process-safety-net';
import { startLocalS3 } from './local-s3';
import type { FromLocalS3, LocalS3ProcessArgs, ToLocalS3 } from './local-s3-process';

// One request's failure must not end the local S3 (and with it every upload and export).
keepRunningOnStrayErrors();
const args = JSON.parse(process.argv[2] ?? '{}') as LocalS3ProcessArgs;
const tell = (message: FromLocalS3) => {
  if (process.connected) process.send?.(message);
};

// Presigned uses waiting for the stack's verdict, by id.
const verdicts = new Map<number, (refusal: string | undefined) => void>();
let ids = 0;
const askStack = (use: Extract<FromLocalS3, { type: 'authorize' }>['use']) =>
  new Promise<string | undefined>((resolve) => {
    const id = ++ids;
    verdicts.set(id, resolve);
    tell({ type: 'authorize', id, use });
  });

// The stack ends it (on 'close' or when its channel closes), so Ctrl-C on `npm start` closes the stack first.
process.on('SIGINT', () => undefined);
try {
  const s3 = await startLocalS3({
    dataDir: args.dataDir,
    port: args.port,
    buckets: args.buckets,
    ...(args.credentials ? { credentials: new Map(args.credentials) } : {}),
    ...(args.authorizePresigned ? { authorizePresigned: askStack } : {}),
  });
  s3.onEvent((notification) => tell({ type: 'event', notification }));
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // Nothing can answer a presigned use any more: refused, never let through.
    for (const resolve of verdicts.values()) resolve('Access Denied');
    void s3.close().finally(() => process.exit(0));
  };
  process.on('message', (message: ToLocalS3) => {
    if (message.type === 'close') return stop();
    verdicts.get(message.id)?.(message.refusal);
    verdicts.delete(message.id);
  });
  // The stack went away without closing (a crash): this process goes with it.
  process.on('disconnect', stop);
  tell({ type: 'ready', endpoint: s3.endpoint });
} catch (error) {
  tell({ type: 'failed', error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}
