import { describe, expect, it } from 'vitest';
import { auditLog, executionsWithStatus, redriveExecution } from '../../core/admin';
import { Forbidden, NotFound } from '../../core/errors';
import type { User } from '../../core/model';
import { alice, FakeExecutions, HOUR, InMemoryAuditLog, ManualClock } from './fakes';

const admin: User = { userId: 'user-admin', username: 'admin', email: 'admin@example.com', groups: ['admin'] };

describe('admin use-cases', () => {
  it('refuse members who are not in the admin group', async () => {
    const deps = { audit: new InMemoryAuditLog(), executions: new FakeExecutions() };
    await expect(auditLog(deps, alice, { limit: 10 })).rejects.toBeInstanceOf(Forbidden);
    await expect(executionsWithStatus(deps, alice, 'FAILED', 10)).rejects.toBeInstanceOf(Forbidden);
    await expect(redriveExecution(deps, alice, 'arn:x')).rejects.toBeInstanceOf(Forbidden);
  });

  it('list failed executions of every workflow, newest first, up to the limit', async () => {
    const clock = new ManualClock();
    const executions = new FakeExecutions(clock);
    const names: string[] = [];
    for (const workflow of ['export', 'import', 'export'] as const) {
      const { executionArn } = await executions.start(workflow, `run-${names.length}`, {});
      executions.fail(executionArn, 'FAILED', 'ExportFailed');
      names.push(executionArn);
      clock.advance(HOUR);
    }
    await executions.start('export', 'still-running', {});

    const failed = await executionsWithStatus({ executions }, admin, 'FAILED', 2);

    expect(failed.map((e) => e.name)).toEqual(['run-2', 'run-1']);
    expect(failed.map((e) => e.workflow)).toEqual(['export', 'import']);
  });

  it('redrive a failed execution, and say NotFound for one that does not exist', async () => {
    const executions = new FakeExecutions();
    const { executionArn } = await executions.start('export', 'broken', {});
    executions.fail(executionArn, 'FAILED', 'ExportFailed');

    await redriveExecution({ executions }, admin, executionArn);

    expect(executions.redriven).toEqual([executionArn]);
    expect((await executions.describe(executionArn))?.status).toBe('RUNNING');
    await expect(redriveExecution({ executions }, admin, `${executionArn}-nope`)).rejects.toBeInstanceOf(NotFound);
  });
});
