import { ExecutionAlreadyStarted } from '../errors';
import type { ExecutionService } from '../ports';
import type { ImportJob } from './job';

/**
 * Starts the execution for a job, named after the batch or the import: Step Functions refuses a second
 * execution of the same name, so whatever arrives twice (the S3 event and /complete, a retried event)
 * starts exactly one. Resolves with the ARN when this call started it.
 */
export async function startImportExecution(executions: ExecutionService, job: ImportJob): Promise<{ executionArn?: string }> {
  const name = job.batchId ?? job.importIds[0] ?? '';
  try {
    return await executions.start('import', name, job);
  } catch (error) {
    if (error instanceof ExecutionAlreadyStarted) return {};
    throw error;
  }
}
