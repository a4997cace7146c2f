import { describe, expect, it } from 'vitest';
import { Transient } from '../../core/errors';
import { task } from '../../functions/task';

describe('the task() wrapper of workflow task handlers', () => {
  it('hands the task a logger bound to the request id and the job ids found in the event', async () => {
    const run = task('Some task', async (_event: unknown, log) => log.bindings());
    const bindings = await run({ executionArn: 'arn:exec', job: { exportId: 'exp-1', batchId: 'batch-1' } }, { awsRequestId: 'req-1' });
    expect(bindings).toMatchObject({
      task: 'Some task',
      requestId: 'req-1',
      executionArn: 'arn:exec',
      exportId: 'exp-1',
      batchId: 'batch-1',
    });
  });

  it('prefers the ids at the top of the event, and binds no request id when there is no invocation', async () => {
    const bindings = await task('Some task', async (_event: unknown, log) => log.bindings())({
      importId: 'imp-1',
      job: { importId: 'other' },
    });
    expect(bindings).toMatchObject({ importId: 'imp-1' });
    expect(bindings).not.toHaveProperty('requestId');
  });

  it('returns what the task returns', async () => {
    await expect(task('Some task', async (event: { n: number }) => event.n * 2)({ n: 21 })).resolves.toBe(42);
  });

  it('rethrows the very error the task threw, so Retry and Catch see its name', async () => {
    const error = new Transient('busy');
    const failing = task('Some task', async () => {
      throw error;
    });
    await expect(failing({ executionArn: 'arn:exec' })).rejects.toBe(error);
  });
});
