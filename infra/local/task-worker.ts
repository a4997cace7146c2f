/**
 * One child process of the local task pool (task-workers.ts): the same handlers, composition root and local
 * IAM as the stack's own process, invoked by IPC message. Its heap is bounded by its functions' memorySize
 * (`--max-old-space-size`, set by the pool); the stack's env (endpoints, tables, buckets) is copied when it starts.
 */
import { pathToFileURL } from 'node:url';
import { provideDeps } from '../../functions/composition';
import { buildLocalDeps } from './composition';
import { localIam } from './iam/local-iam';
import { installLocalIam } from './iam/wiring';
import { handlerModuleInvoker, loadServerlessConfig } from './serverless-config';
import { onSignerRemembered } from './iam/enforce';
import { TASK_WORKER_DATA_ENV, serializedError, type SignerMessage, type TaskWorkerData, type TaskRequest, type TaskReply } from './task-workers';

const send = (message: TaskReply | SignerMessage | 'ready') => process.send?.(message);
const data = JSON.parse(process.env[TASK_WORKER_DATA_ENV] ?? '{}') as TaskWorkerData & { functionKeys: string[] };
provideDeps(buildLocalDeps);
// A link this process presigns is used against the local S3, which asks the stack's process who signed it.
onSignerRemembered((signature, role, expiresAt) => send({ signer: { signature, role, expiresAt } }));
if (data.iam) installLocalIam(localIam(data.iam.options), data.iam.mode, data.iam.decisionsFile ? { decisionsFile: data.iam.decisionsFile } : {});
const { functions } = loadServerlessConfig(data.serverlessYmlPath, { stage: data.stage });
const invoke = handlerModuleInvoker(functions);
const modules = data.functionKeys.flatMap((key) => (functions[key] ? [functions[key].modulePath] : []));

// The handlers' modules load now, not on the first task: the pool's warm() waits for this.
await Promise.all(modules.map((modulePath) => import(pathToFileURL(modulePath).href)));
send('ready');

process.on('message', (request: TaskRequest) => {
  invoke(request.functionKey, request.payload).then(
    (result) => send({ id: request.id, result }),
    (error: unknown) => send({ id: request.id, error: serializedError(error) }),
  );
});
// The pool closing its IPC channel (or the stack dying) ends this process.
process.on('disconnect', () => process.exit(0));
