import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StepFunctionsExecutions } from '../../adapters/aws/sfn-executions';
import { executionsWithStatus } from '../../core/admin';
import type { ExportJob, ExportReport } from '../../core/export/job';
import type { User } from '../../core/model';
import { retryExecution } from '../../core/retry';
import { startStepFunctionsServer } from '../../infra/local/stepfunctions/http';
import { LocalStepFunctions } from '../../infra/local/stepfunctions/service';
import { InMemoryAuditLog, ManualClock } from '../unit/fakes';
import { InMemoryImportRecords } from '../unit/import-fakes';

/**
 * The admin's failed-executions list and Retry, through the SFN adapter and an unmodified SFNClient,
 * against the local Step Functions service running the real export workflow: a real FAILED execution,
 * listed alone among others, and a Retry that runs its job again to SUCCEEDED.
 */

const REGION = 'us-east-1';
const EXPORT_ASL = fileURLToPath(new URL('../../statemachines/export.asl.yaml', import.meta.url));
const IMPORT_ASL = fileURLToPath(new URL('../../statemachines/import.asl.yaml', import.meta.url));
const admin: User = { userId: 'user-admin', username: 'admin', email: 'admin@example.com', groups: ['admin'] };

const job = (exportId: string): ExportJob => ({
  exportId,
  requestedBy: { userId: 'user-alice', username: 'alice', email: 'alice@example.com', groups: [] },
  delivery: 'direct',
  searchCriteria: { q: 'ferry' },
  requestedAt: '2025-01-02T03:04:05.000Z',
});
const report: ExportReport = { bucket: 'exports', key: 'exports/e.csv', rowCount: 3, bytes: 30, expiresAt: '2025-01-05T03:04:05.000Z' };

describe('failed executions and Retry, through the SFN adapter on the local Step Functions service', () => {
  /** Export ids whose CSV report cannot be written (the search store refuses them) until they are healed. */
  const broken = new Set<string>();
  const service = new LocalStepFunctions({
    region: REGION,
    stateMachines: { 'ferry-export': EXPORT_ASL, 'ferry-import': IMPORT_ASL },
    invoke: async (functionKey, payload) => {
      const { exportId } = payload as { exportId?: string };
      if (functionKey === 'generateCsvReport' && exportId && broken.has(exportId)) throw new Error('the search store refused the query');
      return functionKey === 'generateCsvReport' ? report : {};
    },
    retryIntervalScale: 0.001,
  });
  let server: Awaited<ReturnType<typeof startStepFunctionsServer>>;
  let sfn: SFNClient;
  let executions: StepFunctionsExecutions;
  const run = async (exportId: string) => {
    const { executionArn } = await executions.start('export', exportId, job(exportId));
    return { executionArn, status: (await service.executionSettled(executionArn)).status };
  };

  beforeAll(async () => {
    server = await startStepFunctionsServer(service, { port: 0, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    sfn = new SFNClient({ endpoint: server.url, region: REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
    executions = new StepFunctionsExecutions(sfn, {
      export: service.stateMachineArn('ferry-export'),
      import: service.stateMachineArn('ferry-import'),
    });
  });
  afterAll(async () => {
    sfn.destroy();
    await server.close();
    await service.close();
  });

  it('lists only the FAILED executions, and Retry runs the failed one again to SUCCEEDED under <name>-r1', async () => {
    broken.add('exp-broken');
    const fine = await run('exp-fine');
    const failed = await run('exp-broken');
    expect([fine.status, failed.status]).toEqual(['SUCCEEDED', 'FAILED']);

    const deps = { executions, imports: new InMemoryImportRecords(), audit: new InMemoryAuditLog(), clock: new ManualClock() };
    const failedList = await executionsWithStatus(deps, admin, 'FAILED', 10);
    expect(failedList).toEqual([
      { executionArn: failed.executionArn, workflow: 'export', name: 'exp-broken', status: 'FAILED', startDate: expect.any(Date), stopDate: expect.any(Date) },
    ]);

    broken.delete('exp-broken');
    const retried = await retryExecution(deps, admin, failed.executionArn);
    expect(retried.executionArn).toBe(failed.executionArn.replace(/exp-broken$/, 'exp-broken-r1'));
    expect((await service.executionSettled(retried.executionArn)).status).toBe('SUCCEEDED');
    expect(await executions.describe(retried.executionArn)).toMatchObject({
      status: 'SUCCEEDED',
      input: { ...job('exp-broken'), exportId: 'exp-broken-r1', retryOf: failed.executionArn },
    });

    // Moved on: the retry is among the succeeded, the failed list still holds only the original.
    const succeeded = (await executionsWithStatus(deps, admin, 'SUCCEEDED', 10)).map((execution) => execution.name);
    expect(succeeded.sort()).toEqual(['exp-broken-r1', 'exp-fine']);
    expect((await executionsWithStatus(deps, admin, 'FAILED', 10)).map((execution) => execution.name)).toEqual(['exp-broken']);
    expect([...deps.audit.entries.keys()]).toEqual(['export:exp-broken:RETRIED']);
    // A second Retry answers the same execution and starts nothing.
    expect(await retryExecution(deps, admin, failed.executionArn)).toEqual(retried);
    const all = await sfn.send(new ListExecutionsCommand({ stateMachineArn: service.stateMachineArn('ferry-export') }));
    expect(all.executions?.map((execution) => execution.name).sort()).toEqual(['exp-broken', 'exp-broken-r1', 'exp-fine']);
  });
});
