import { NotFound } from '../errors';
import type { User } from '../model';
import type { ConnectionRendezvous, ExecutionService, ExportRecords } from '../ports';
import { ownedExportOfExecution } from './jobs';

/** Where a push export's browser connection and its waiting task token meet; either may come first. */

export interface BrowserWaitInput {
  taskToken: string;
  executionArn: string;
}

/** The token half of the rendezvous ("Wait for browser connection"); if the browser is already connected, the task resumes at once. */
export async function waitForBrowserConnection(
  deps: { rendezvous: ConnectionRendezvous; executions: ExecutionService },
  input: BrowserWaitInput,
): Promise<void> {
  const { connectionId } = await deps.rendezvous.attachTaskToken(input.executionArn, input.taskToken);
  if (connectionId) await resumeWaitingTask(deps.executions, input.taskToken, connectionId);
}

/**
 * The connection half of the rendezvous (WebSocket `$connect`); only the export's owner may connect.
 * Ownership comes from the job record (the execution's name is the export id), never DescribeExecution.
 */
export async function connectBrowser(
  deps: { rendezvous: ConnectionRendezvous; executions: ExecutionService; exportJobs: ExportRecords },
  user: User,
  executionArn: string,
  connectionId: string,
): Promise<void> {
  await ownedExportOfExecution(deps.exportJobs, user, executionArn);
  const { taskToken } = await deps.rendezvous.attachConnection(executionArn, connectionId);
  if (taskToken) await resumeWaitingTask(deps.executions, taskToken, connectionId);
}

export async function disconnectBrowser(deps: { rendezvous: ConnectionRendezvous }, connectionId: string): Promise<void> {
  await deps.rendezvous.detachConnection(connectionId);
}

/** Resumes "Wait for browser connection"; a token already used (double send) or timed out is fine. */
async function resumeWaitingTask(executions: ExecutionService, taskToken: string, connectionId: string): Promise<void> {
  try {
    await executions.sendTaskSuccess(taskToken, { connectionId });
  } catch (error) {
    if (!(error instanceof NotFound)) throw error;
  }
}
