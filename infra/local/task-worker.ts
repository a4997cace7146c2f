/**
 * One worker thread of the local task pool (task-workers.ts): the same handlers, composition root and local
 * IAM as the stack's own thread, invoked by message. The stack's env (endpoints, tables, buckets) is the
 * worker's, copied when it starts.
 */
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { provideDeps } from '../../functions/composition';
import { buildLocalDeps } from './composition';
import { localIam } from './iam/local-iam';
import { installLocalIam } from './iam/wiring';
import { handlerModuleInvoker, loadServerlessConfig } from './serverless-config';
import { OFFLOADED_TASKS, serializedError, type TaskWorkerData, type TaskRequest, type TaskReply } from './task-workers';

const data = workerData as TaskWorkerData;
provideDeps(buildLocalDeps);
if (data.iam) installLocalIam(localIam(data.iam.options), data.iam.mode, data.iam.decisionsFile ? { decisionsFile: data.iam.decisionsFile } : {});
const { functions } = loadServerlessConfig(data.serverlessYmlPath, { stage: data.stage });
const invoke = handlerModuleInvoker(functions);
const OFFLOADED_TASKS_MODULES = [...OFFLOADED_TASKS].flatMap((key) => (functions[key] ? [functions[key].modulePath] : []));

// The handlers' modules load now, not on the first task: the pool's warm() waits for this.
await Promise.all(OFFLOADED_TASKS_MODULES.map((modulePath) => import(pathToFileURL(modulePath).href)));
parentPort?.postMessage('ready');

parentPort?.on('message', (request: TaskRequest) => {
  invoke(request.functionKey, request.payload).then(
    (result) => parentPort?.postMessage({ id: request.id, result } satisfies TaskReply),
    (error: unknown) => parentPort?.postMessage({ id: request.id, error: serializedError(error) } satisfies TaskReply),
  );
});
