import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { Transient } from '../../core/errors';
import type { ChecksumOutcome } from '../../core/import/tasks';
import { LocalStepFunctions, type LocalStepFunctionsOptions } from '../../infra/local/stepfunctions/service';
import { ScanFailed, SlotBusy, UploadChanged } from '../../core/errors';
import { askForSlot, NO_SLOTS_TAKEN, releaseExecutionSlots, releaseSlot, type SlotPolicy, type SlotsState } from '../../core/import/slots';
import type { ImportJob } from '../../core/import/job';
import type { ImportSummary } from '../../core/contract';
import { MAX_BATCH_FILES } from '../../core/import/use-cases';

const IMPORT_ASL = fileURLToPath(new URL('../../statemachines/import.asl.yaml', import.meta.url));
const REGION = 'us-east-1';

type TaskFn = (payload: Record<string, unknown>) => Promise<unknown>;

const job = (importIds: string[], batchId?: string, maxConcurrency = 10): ImportJob => ({
  ...(batchId ? { batchId } : {}),
  importIds,
  requestedBy: { userId: 'u-alice', username: 'alice', email: 'alice@example.com' },
  delivery: 'email',
  requestedAt: '2025-01-02T03:04:05.000Z',
  maxConcurrency,
});

const verified: ChecksumOutcome = {
  sha256: 'a'.repeat(64),
  bytes: 100,
  expectedSha256: 'a'.repeat(64),
  expectedBytes: 100,
  verdict: 'verified',
};

/**
 * The import state machine with in-memory task functions. The outcome tasks write each file's final
 * status where "Notify user" reads it, as the real ones write the import records.
 */
const importWorkflow = (
  overrides: Partial<Record<string, TaskFn>> = {},
  options: Partial<LocalStepFunctionsOptions> = {},
  slotsOf: { policy?: SlotPolicy; ownerOf?: (importId: string) => string } = {},
) => {
  const calls: { functionKey: string; payload: Record<string, unknown> }[] = [];
  // The slots' own decision (core/import/slots.ts) over one in-memory state, as the DynamoDB item holds it.
  const slots = { state: NO_SLOTS_TAKEN as SlotsState };
  const policy = slotsOf.policy ?? { slots: 10, perUser: 5, leaseSeconds: 3600, waiterSeconds: 300 };
  const outcomes = new Map<string, string>();
  const finish = (status: string) => async (payload: Record<string, unknown>) => {
    outcomes.set(String(payload.importId), status);
    return { importId: payload.importId, status };
  };
  const functions: Record<string, TaskFn> = {
    scanForViruses: async () => ({ clean: true }),
    computeChecksum: async () => verified,
    identifyFormat: async () => ({ format: 'csv', reason: 'a header of 4 post columns' }),
    quarantineFile: finish('QUARANTINED'),
    rejectFile: finish('REJECTED'),
    processImport: async (payload) => ({ ...(await finish('SUCCEEDED')(payload)), rowsImported: 9, rowsRejected: 1 }),
    // A small file: one chunk, imported by "Import valid rows".
    planImportChunks: async () => ({ count: 1, chunks: [], headerBytes: 0, concurrency: 4 }),
    importChunk: async (payload) => ({ chunk: (payload.chunk as { index: number }).index }),
    commitImportChunks: async (payload) => ({ ...(await finish('SUCCEEDED')(payload)), rowsImported: 9, rowsRejected: 1 }),
    keepResource: finish('SUCCEEDED'),
    acquireImportSlot: async (payload) => {
      const importId = String(payload.importId);
      const request = { importId, userId: slotsOf.ownerOf?.(importId) ?? 'u-alice', executionArn: String(payload.executionArn) };
      const asked = askForSlot(slots.state, request, policy, new Date());
      slots.state = asked.state;
      if (!asked.decision.granted) throw new SlotBusy(`${asked.decision.filesAhead} files ahead`);
      return { granted: true };
    },
    releaseImportSlot: async (payload) => {
      slots.state =
        typeof payload.importId === 'string' ? releaseSlot(slots.state, payload.importId) : releaseExecutionSlots(slots.state, String(payload.executionArn));
      return { released: true };
    },
    notifyImportOutcome: async (payload) => {
      const ids = (payload.job as ImportJob).importIds;
      const count = (status: string) => ids.filter((id) => outcomes.get(id) === status).length;
      const summary: ImportSummary = {
        files: ids.length,
        succeeded: count('SUCCEEDED'),
        quarantined: count('QUARANTINED'),
        rejected: count('REJECTED'),
        failed: ids.length - count('SUCCEEDED') - count('QUARANTINED') - count('REJECTED'),
        rowsImported: 0,
        rowsRejected: 0,
      };
      return summary;
    },
    handleImportFailure: async (payload) => {
      if (typeof payload.importId === 'string') outcomes.set(payload.importId, 'FAILED');
      return null;
    },
    ...overrides,
  } as Record<string, TaskFn>;

  const service = new LocalStepFunctions({
    region: REGION,
    stateMachines: { 'ferry-import': IMPORT_ASL },
    invoke: async (functionKey, payload) => {
      calls.push({ functionKey, payload: payload as Record<string, unknown> });
      const fn = functions[functionKey];
      if (!fn) throw new Error(`no fake for ${functionKey}`);
      return fn(payload as Record<string, unknown>);
    },
    retryIntervalScale: 0.001,
    ...options,
  });
  services.push(service);

  return {
    service,
    outcomes,
    slots,
    callsTo: (functionKey: string) => calls.filter((call) => call.functionKey === functionKey).map((call) => call.payload),
    /** Starts an import and waits for any terminal status. */
    run: async (input: ImportJob) => {
      const { executionArn } = await service.startExecution({
        stateMachineArn: service.stateMachineArn('ferry-import'),
        name: input.batchId ?? input.importIds[0],
        input: JSON.stringify(input),
      });
      return { executionArn, result: await service.executionSettled(executionArn) };
    },
    statesEntered: async (executionArn: string) => {
      const { events = [] } = await service.getExecutionHistory({ executionArn, maxResults: 1000 });
      return events.filter((event) => event.type?.endsWith('StateEntered')).map((event) => event.stateEnteredEventDetails?.name ?? '');
    },
  };
};

const services: LocalStepFunctions[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((service) => service.close()));
});

/**
 * The three checks run in parallel, so the order of their branches' states in the history is not fixed; everything
 * else is. A run of branch states is sorted. A file within one clamd stream passes "Is the file scanned in ranges"
 * to "File scanned whole" after its scan.
 */
const CHECKS = ['Scan for viruses', 'Compute checksum', 'Identify format'];
const WHOLE_SCAN = ['Is the file scanned in ranges', 'File scanned whole'];
const RANGED_SCAN = ['Is the file scanned in ranges', 'Scan each range', 'Scan a range', 'Record the scan verdict'];
const BRANCH_STATES = new Set([...CHECKS, ...WHOLE_SCAN, ...RANGED_SCAN]);
const withChecksSorted = (states: string[]) => {
  const out: string[] = [];
  for (let i = 0; i < states.length; ) {
    let end = i;
    while (end < states.length && BRANCH_STATES.has(states[end] ?? '')) end++;
    if (end > i) {
      out.push(...states.slice(i, end).sort());
      i = end;
    } else out.push(states[i++] ?? '');
  }
  return out;
};
/** A small file: planned as one chunk, imported by the one-piece task. */
const ONE_CHUNK = ["Plan the file's chunks", 'Is the plan done', 'Is the file one chunk', 'Import valid rows'];
const CHECKED = ['Check and import each file', 'Wait for a processing slot', 'Check the uploaded file', ...[...CHECKS, ...WHOLE_SCAN].sort(), 'Decide what to do with the file'];

describe('import.asl.yaml', () => {
  it('a clean file is checked three ways, imported and the user notified; the execution succeeds', async () => {
    const workflow = importWorkflow();
    const { executionArn, result } = await workflow.run(job(['imp-1']));

    expect(result.status).toBe('SUCCEEDED');
    expect(withChecksSorted(await workflow.statesEntered(executionArn))).toEqual([
      ...CHECKED,
      ...ONE_CHUNK,
      'Release the processing slot',
      'Notify user',
      'Did every file import',
      'Import finished',
    ]);
    expect(workflow.callsTo('scanForViruses')).toEqual([{ importId: 'imp-1', executionArn }]);
    expect(workflow.callsTo('processImport')).toEqual([{ importId: 'imp-1', executionArn, format: 'csv' }]);
    expect(workflow.callsTo('notifyImportOutcome')).toEqual([{ executionArn, job: job(['imp-1']) }]);
  });

  it('an infected file is quarantined with its signature and never processed', async () => {
    const workflow = importWorkflow({ scanForViruses: async () => ({ clean: false, signature: 'Eicar-Test-Signature' }) });
    const { executionArn, result } = await workflow.run(job(['imp-1']));

    expect(result.status).toBe('SUCCEEDED');
    expect(withChecksSorted(await workflow.statesEntered(executionArn))).toEqual([
      ...CHECKED,
      'Quarantine infected file',
      'Release the processing slot',
      'Notify user',
      'Did every file import',
      'Import finished',
    ]);
    expect(workflow.callsTo('quarantineFile')).toEqual([{ importId: 'imp-1', executionArn, signature: 'Eicar-Test-Signature' }]);
    expect(workflow.callsTo('processImport')).toEqual([]);
    expect(workflow.outcomes.get('imp-1')).toBe('QUARANTINED');
  });

  it('an infected file is quarantined even when its format is also wrong', async () => {
    const workflow = importWorkflow({
      scanForViruses: async () => ({ clean: false, signature: 'Eicar-Test-Signature' }),
      identifyFormat: async () => ({ format: 'unknown', reason: 'the file is a ZIP archive' }),
    });
    await workflow.run(job(['imp-1']));
    expect(workflow.outcomes.get('imp-1')).toBe('QUARANTINED');
    expect(workflow.callsTo('rejectFile')).toEqual([]);
  });

  it('a file of the wrong format is rejected with all three check results', async () => {
    const format = { format: 'unknown', reason: 'the file is a PDF document, not CSV or NDJSON' };
    const workflow = importWorkflow({ identifyFormat: async () => format });
    const { executionArn, result } = await workflow.run(job(['imp-1']));

    expect(result.status).toBe('SUCCEEDED');
    expect(withChecksSorted(await workflow.statesEntered(executionArn))).toEqual([
      ...CHECKED,
      'Reject file',
      'Release the processing slot',
      'Notify user',
      'Did every file import',
      'Import finished',
    ]);
    expect(workflow.callsTo('rejectFile')).toEqual([
      { importId: 'imp-1', executionArn, checks: { antivirus: { clean: true }, checksum: verified, format } },
    ]);
    expect(workflow.callsTo('processImport')).toEqual([]);
  });

  describe('a file larger than IMPORT_CHUNK_BYTES (chunks)', () => {
    const chunks = [
      { index: 0, start: 0, end: 700, rowsBefore: 0, linesBefore: 0 },
      { index: 1, start: 700, end: 1400, rowsBefore: 1000, linesBefore: 2 },
      { index: 2, start: 1400, end: 2000, rowsBefore: 2000, linesBefore: 2 },
    ];
    const planned = { planImportChunks: async () => ({ count: 3, chunks, headerBytes: 35, concurrency: 2 }) };
    const CHUNKED = ["Plan the file's chunks", 'Is the plan done', 'Is the file one chunk', 'Import each chunk'];
    const perChunk = (executionArn: string) =>
      chunks.map((chunk) => ({ importId: 'imp-1', executionArn, format: 'csv', headerBytes: 35, chunk }));

    it('is planned into chunks, imported chunk by chunk at most IMPORT_CHUNK_CONCURRENCY at a time, then committed once', async () => {
      let inFlight = 0;
      let peak = 0;
      const workflow = importWorkflow({
        ...planned,
        importChunk: async (payload) => {
          peak = Math.max(peak, ++inFlight);
          await new Promise((resolve) => setTimeout(resolve, 30));
          inFlight--;
          return { chunk: (payload.chunk as { index: number }).index };
        },
      });
      const { executionArn, result } = await workflow.run(job(['imp-1']));

      expect(result.status).toBe('SUCCEEDED');
      const states = withChecksSorted(await workflow.statesEntered(executionArn));
      expect(states.filter((state) => state !== 'Import one chunk')).toEqual([
        ...CHECKED,
        ...CHUNKED,
        'Assemble the error report and commit',
        'Release the processing slot',
        'Notify user',
        'Did every file import',
        'Import finished',
      ]);
      expect(states.filter((state) => state === 'Import one chunk')).toHaveLength(3);
      expect(workflow.callsTo('planImportChunks')).toEqual([{ importId: 'imp-1', executionArn, format: 'csv' }]);
      expect(workflow.callsTo('importChunk')).toEqual(perChunk(executionArn));
      expect(peak).toBe(2);
      expect(workflow.callsTo('commitImportChunks')).toEqual([{ importId: 'imp-1', executionArn, format: 'csv', chunkCount: 3 }]);
      expect(workflow.callsTo('processImport')).toEqual([]);
    });

    it('a chunk that fails transiently is retried alone, and the file still commits once', async () => {
      let failed = false;
      const workflow = importWorkflow({
        ...planned,
        importChunk: async (payload) => {
          const { index } = payload.chunk as { index: number };
          if (index === 1 && !failed) {
            failed = true;
            throw new Transient('OpenSearch answered 503');
          }
          return { chunk: index };
        },
      });
      const { executionArn, result } = await workflow.run(job(['imp-1']));

      expect(result.status).toBe('SUCCEEDED');
      const calls = workflow.callsTo('importChunk').map((payload) => (payload.chunk as { index: number }).index);
      expect([...calls].sort()).toEqual([0, 1, 1, 2]);
      expect(workflow.callsTo('commitImportChunks')).toEqual([{ importId: 'imp-1', executionArn, format: 'csv', chunkCount: 3 }]);
      expect(workflow.outcomes.get('imp-1')).toBe('SUCCEEDED');
    });

    it('a chunk that keeps failing fails the file through "Record file failure": nothing is committed, the execution fails', async () => {
      const workflow = importWorkflow({
        ...planned,
        importChunk: async (payload) => {
          if ((payload.chunk as { index: number }).index === 2) throw new Error('the chunk cannot be read');
          return { chunk: 0 };
        },
        notifyImportOutcome: async () => ({ files: 1, succeeded: 0, quarantined: 0, rejected: 0, failed: 1, rowsImported: 0, rowsRejected: 0 }),
      });
      const { executionArn, result } = await workflow.run(job(['imp-1']));

      expect(result.status).toBe('FAILED');
      const states = withChecksSorted(await workflow.statesEntered(executionArn)).filter((state) => state !== 'Import one chunk');
      expect(states).toEqual([...CHECKED, ...CHUNKED, 'Record file failure', 'Release the processing slot', 'Notify user', 'Did every file import', 'Import failed']);
      expect(workflow.callsTo('commitImportChunks')).toEqual([]);
      expect(workflow.callsTo('handleImportFailure')).toEqual([
        {
          importId: 'imp-1',
          executionArn,
          failure: { Error: 'Error', Cause: expect.stringContaining('the chunk cannot be read') },
        },
      ]);
      expect(workflow.outcomes.get('imp-1')).toBe('FAILED');
    });
    // A file over IMPORT_PLAN_STEP_BYTES: each task returns where its scan stopped, and the next goes on from there.
    const progressAt = (offset: number) => ({ offset, rows: offset / 10, chunks: chunks.filter((chunk) => chunk.end <= offset) });
    const inSteps = (failOnce?: number) => {
      let failed = false;
      return async (payload: Record<string, unknown>) => {
        const from = (payload.progress as { offset: number } | undefined)?.offset ?? 0;
        if (from === failOnce && !failed) {
          failed = true;
          throw new Transient('S3 answered 503');
        }
        return from < 1400 ? { progress: progressAt(from + 700) } : { count: 3, chunks, headerBytes: 35, concurrency: 2 };
      };
    };

    it('a file larger than one planning step is planned by the same function step after step, each going on from the last', async () => {
      const workflow = importWorkflow({ planImportChunks: inSteps(), importChunk: async (payload) => ({ chunk: (payload.chunk as { index: number }).index }) });
      const { executionArn, result } = await workflow.run(job(['imp-1']));

      expect(result.status).toBe('SUCCEEDED');
      const states = withChecksSorted(await workflow.statesEntered(executionArn)).filter((state) => state !== 'Import one chunk');
      expect(states).toEqual([
        ...CHECKED,
        "Plan the file's chunks",
        'Is the plan done',
        "Plan more of the file's chunks",
        'Is the plan done',
        "Plan more of the file's chunks",
        'Is the plan done',
        'Is the file one chunk',
        'Import each chunk',
        'Assemble the error report and commit',
        'Release the processing slot',
        'Notify user',
        'Did every file import',
        'Import finished',
      ]);
      expect(workflow.callsTo('planImportChunks')).toEqual([
        { importId: 'imp-1', executionArn, format: 'csv' },
        { importId: 'imp-1', executionArn, format: 'csv', progress: progressAt(700) },
        { importId: 'imp-1', executionArn, format: 'csv', progress: progressAt(1400) },
      ]);
      expect(workflow.callsTo('importChunk')).toEqual(perChunk(executionArn));
      expect(workflow.callsTo('commitImportChunks')).toEqual([{ importId: 'imp-1', executionArn, format: 'csv', chunkCount: 3 }]);
    });

    it('a planning step that fails transiently is retried from the same progress, not from the start of the file', async () => {
      const workflow = importWorkflow({ planImportChunks: inSteps(700), importChunk: async (payload) => ({ chunk: (payload.chunk as { index: number }).index }) });
      const { executionArn, result } = await workflow.run(job(['imp-1']));

      expect(result.status).toBe('SUCCEEDED');
      expect(workflow.callsTo('planImportChunks').map((payload) => (payload.progress as { offset: number } | undefined)?.offset ?? 0)).toEqual([0, 700, 700, 1400]);
      expect(workflow.callsTo('commitImportChunks')).toEqual([{ importId: 'imp-1', executionArn, format: 'csv', chunkCount: 3 }]);
    });

    it('a planning step that keeps failing fails the file through "Record file failure" with nothing imported', async () => {
      const workflow = importWorkflow({
        planImportChunks: async (payload) => {
          if (payload.progress) throw new Error('the file cannot be read past 700 bytes');
          return { progress: progressAt(700) };
        },
        notifyImportOutcome: async () => ({ files: 1, succeeded: 0, quarantined: 0, rejected: 0, failed: 1, rowsImported: 0, rowsRejected: 0 }),
      });
      const { executionArn, result } = await workflow.run(job(['imp-1']));

      expect(result.status).toBe('FAILED');
      const states = withChecksSorted(await workflow.statesEntered(executionArn));
      expect(states.slice(CHECKED.length)).toEqual([
        "Plan the file's chunks",
        'Is the plan done',
        "Plan more of the file's chunks",
        'Record file failure',
        'Release the processing slot',
        'Notify user',
        'Did every file import',
        'Import failed',
      ]);
      expect(workflow.callsTo('importChunk')).toEqual([]);
      expect(workflow.callsTo('processImport')).toEqual([]);
      expect(workflow.callsTo('commitImportChunks')).toEqual([]);
      expect(workflow.outcomes.get('imp-1')).toBe('FAILED');
    });
  });

  describe('a header that needs a column mapping', () => {
    const needsMapping = (mappingTimeoutSeconds: number) => async () => ({
      format: 'csv',
      reason: 'comma-delimited, a header of 3 columns that are not all post fields',
      needsMapping: true,
      mappingTimeoutSeconds,
    });
    /** The callback task's fake parks its token, as awaitImportMapping parks it on the record. */
    const parked = () => {
      const tokens = new Map<string, string>();
      const awaitImportMapping: TaskFn = async (payload) => {
        tokens.set(String(payload.importId), String(payload.taskToken));
        return null;
      };
      const tokenOf = async (importId: string): Promise<string> => {
        for (let i = 0; i < 500 && !tokens.has(importId); i++) await new Promise((resolve) => setTimeout(resolve, 10));
        const token = tokens.get(importId);
        if (!token) throw new Error(`no token parked for ${importId}`);
        return token;
      };
      return { awaitImportMapping, tokenOf };
    };

    it('waits for the mapping, then imports once it is sent', async () => {
      const { awaitImportMapping, tokenOf } = parked();
      const workflow = importWorkflow({ identifyFormat: needsMapping(86_400), awaitImportMapping });
      const { executionArn } = await workflow.service.startExecution({
        stateMachineArn: workflow.service.stateMachineArn('ferry-import'),
        name: 'imp-1',
        input: JSON.stringify(job(['imp-1'])),
      });
      const token = await tokenOf('imp-1');
      expect((await workflow.service.describeExecution({ executionArn })).status).toBe('RUNNING');
      expect(workflow.callsTo('processImport')).toEqual([]);

      await workflow.service.sendTaskSuccess({ taskToken: token, output: JSON.stringify({ importId: 'imp-1' }) });
      const result = await workflow.service.executionSettled(executionArn);

      expect(result.status).toBe('SUCCEEDED');
      expect(withChecksSorted(await workflow.statesEntered(executionArn))).toEqual([
        ...CHECKED,
        'Give the slot back during the mapping wait',
        'Wait for column mapping',
        'Wait for a processing slot after the mapping',
        ...ONE_CHUNK,
        'Release the processing slot',
        'Notify user',
        'Did every file import',
        'Import finished',
      ]);
      expect(workflow.callsTo('awaitImportMapping')).toEqual([{ importId: 'imp-1', executionArn, taskToken: token }]);
      expect(workflow.callsTo('processImport')).toEqual([{ importId: 'imp-1', executionArn, format: 'csv' }]);
    });

    it('a wait that times out ends the import EXPIRED, with nothing imported, and the execution still succeeds', async () => {
      const { awaitImportMapping } = parked();
      const workflow = importWorkflow({
        identifyFormat: needsMapping(1),
        awaitImportMapping,
        expireImport: async (payload) => {
          workflow.outcomes.set(String(payload.importId), 'EXPIRED');
          return { importId: payload.importId, status: 'EXPIRED' };
        },
        notifyImportOutcome: async (payload) => ({
          files: (payload.job as ImportJob).importIds.length,
          succeeded: 0,
          quarantined: 0,
          rejected: 0,
          failed: 0,
          rowsImported: 0,
          rowsRejected: 0,
        }),
      });
      const { executionArn, result } = await workflow.run(job(['imp-1']));

      expect(result.status).toBe('SUCCEEDED');
      expect(withChecksSorted(await workflow.statesEntered(executionArn))).toEqual([
        ...CHECKED,
        'Give the slot back during the mapping wait',
        'Wait for column mapping',
        'Expire import',
        'Release the processing slot',
        'Notify user',
        'Did every file import',
        'Import finished',
      ]);
      expect(workflow.callsTo('expireImport')).toEqual([{ importId: 'imp-1', executionArn }]);
      expect(workflow.callsTo('processImport')).toEqual([]);
      expect(workflow.outcomes.get('imp-1')).toBe('EXPIRED');
    });

    it('a header that maps by itself (needsMapping false) or an NDJSON file (no needsMapping) never waits', async () => {
      for (const format of [
        { format: 'csv', reason: 'post columns', needsMapping: false },
        { format: 'ndjson', reason: 'objects' },
      ]) {
        const workflow = importWorkflow({ identifyFormat: async () => format });
        const { executionArn, result } = await workflow.run(job(['imp-1']));
        expect(result.status).toBe('SUCCEEDED');
        expect(await workflow.statesEntered(executionArn)).not.toContain('Wait for column mapping');
        expect(workflow.callsTo('processImport')).toEqual([{ importId: 'imp-1', executionArn, format: format.format }]);
      }
    });
  });

  it('a checksum mismatch is rejected', async () => {
    const workflow = importWorkflow({ computeChecksum: async () => ({ ...verified, sha256: 'b'.repeat(64), verdict: 'mismatch' }) });
    const { executionArn } = await workflow.run(job(['imp-1']));

    expect(withChecksSorted(await workflow.statesEntered(executionArn))).toContain('Reject file');
    expect(workflow.outcomes.get('imp-1')).toBe('REJECTED');
    expect(workflow.callsTo('processImport')).toEqual([]);
  });

  it('an upload swapped after it arrived (UploadChanged in a check) is rejected as changed, never processed', async () => {
    const workflow = importWorkflow({
      computeChecksum: async () => {
        throw new UploadChanged('s3://uploads/k is no longer the object that was uploaded');
      },
    });
    const { executionArn, result } = await workflow.run(job(['imp-1']));

    expect(result.status).toBe('SUCCEEDED');
    const states = withChecksSorted(await workflow.statesEntered(executionArn));
    expect(states.slice(0, 3)).toEqual(['Check and import each file', 'Wait for a processing slot', 'Check the uploaded file']);
    // The local runtime lets the other branches run on after the Parallel caught, so their states are left out here.
    expect(states.filter((state) => !BRANCH_STATES.has(state)).slice(-5)).toEqual([
      'Reject changed file',
      'Release the processing slot',
      'Notify user',
      'Did every file import',
      'Import finished',
    ]);
    expect(states).not.toContain('Decide what to do with the file');
    expect(workflow.callsTo('rejectFile')).toEqual([
      { importId: 'imp-1', executionArn, failure: { Error: 'UploadChanged', Cause: expect.stringContaining('no longer the object') } },
    ]);
    expect(workflow.outcomes.get('imp-1')).toBe('REJECTED');
    expect(workflow.callsTo('processImport')).toEqual([]);
    expect(workflow.callsTo('handleImportFailure')).toEqual([]);
  });

  it('an upload swapped before processing or quarantine read it is rejected as changed, not failed', async () => {
    const changed = async () => {
      throw new UploadChanged('s3://uploads/k is no longer the object that was uploaded');
    };
    const processing = importWorkflow({ processImport: changed });
    const processed = await processing.run(job(['imp-1']));
    expect(withChecksSorted(await processing.statesEntered(processed.executionArn))).toEqual([
      ...CHECKED,
      ...ONE_CHUNK,
      'Reject changed file',
      'Release the processing slot',
      'Notify user',
      'Did every file import',
      'Import finished',
    ]);
    expect(processing.outcomes.get('imp-1')).toBe('REJECTED');

    const quarantining = importWorkflow({ scanForViruses: async () => ({ clean: false, signature: 'Eicar-Test-Signature' }), quarantineFile: changed });
    const quarantined = await quarantining.run(job(['imp-2']));
    expect(await quarantining.statesEntered(quarantined.executionArn)).toContain('Reject changed file');
    expect(quarantining.outcomes.get('imp-2')).toBe('REJECTED');
  });

  it('a transient failure of a check is retried and the import then succeeds', async () => {
    let attempts = 0;
    const workflow = importWorkflow({
      scanForViruses: async () => {
        attempts++;
        if (attempts < 3) throw new Transient('clamd at 127.0.0.1:3310 dropped the connection');
        return { clean: true };
      },
    });
    const { executionArn, result } = await workflow.run(job(['imp-1']));

    expect(result.status).toBe('SUCCEEDED');
    expect(attempts).toBe(3);
    expect(withChecksSorted(await workflow.statesEntered(executionArn))).toEqual([
      ...CHECKED,
      ...ONE_CHUNK,
      'Release the processing slot',
      'Notify user',
      'Did every file import',
      'Import finished',
    ]);
    expect(workflow.callsTo('handleImportFailure')).toEqual([]);
  });

  it('clamd down fails closed: after the retries the file FAILED, nothing is processed and the execution fails', async () => {
    const workflow = importWorkflow({
      scanForViruses: async () => {
        throw new Transient('clamd at 127.0.0.1:3310 is unreachable: connect ECONNREFUSED');
      },
    });
    const { executionArn, result } = await workflow.run(job(['imp-1']));

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('ImportFailed');
    expect(workflow.callsTo('scanForViruses')).toHaveLength(7); // the first attempt and 6 retries (a busy scanner's backoff)
    expect(withChecksSorted(await workflow.statesEntered(executionArn))).toEqual([
      ...CHECKED.slice(0, 3),
      ...[...CHECKS].sort(),
      'Record file failure',
      'Release the processing slot',
      'Notify user',
      'Did every file import',
      'Import failed',
    ]);
    const [failure] = workflow.callsTo('handleImportFailure');
    expect(failure).toMatchObject({ importId: 'imp-1', executionArn, failure: { Error: 'Transient' } });
    expect(workflow.callsTo('processImport')).toEqual([]);
    expect(workflow.callsTo('quarantineFile')).toEqual([]);
  });

  it('a scanner throttled at its reserved concurrency five times in a row is waited out, and the file imports', async () => {
    let throttles = 0;
    const workflow = importWorkflow({
      scanForViruses: async () => {
        if (throttles++ < 5) throw Object.assign(new Error('Rate Exceeded.'), { name: 'Lambda.TooManyRequestsException' });
        return { clean: true };
      },
    });
    const { result } = await workflow.run(job(['imp-1']));

    expect(result.status).toBe('SUCCEEDED');
    expect(workflow.callsTo('scanForViruses')).toHaveLength(6);
    expect(workflow.callsTo('computeChecksum')).toHaveLength(1);
    expect(workflow.callsTo('processImport')).toHaveLength(1);
  });

  describe('a file over one clamd stream (ranges)', () => {
    const RANGES = [
      { start: 0, end: 110 },
      { start: 100, end: 210 },
      { start: 200, end: 310 },
      { start: 300, end: 400 },
    ];
    type Verdict = { clean: true } | { clean: false; signature: string };
    /** The antivirus Lambda as it answers each state: the plan, one range's verdict, the one verdict of all ranges. */
    const rangedScanner =
      (rangeVerdict: (range: { start: number; end: number }) => Promise<Verdict>) =>
      async (payload: Record<string, unknown>): Promise<unknown> => {
        if (payload.range) return rangeVerdict(payload.range as { start: number; end: number });
        if (payload.verdicts) return (payload.verdicts as Verdict[]).find((verdict) => !verdict.clean) ?? { clean: true };
        return { ranges: RANGES, rangeConcurrency: 2 };
      };

    it('infected only in range 3: every range is its own task, the one verdict is infected and the file quarantined', async () => {
      const workflow = importWorkflow({
        scanForViruses: rangedScanner(async (range) => (range.start === 200 ? { clean: false, signature: 'Eicar-Test-Signature' } : { clean: true })),
      });
      const { executionArn, result } = await workflow.run(job(['imp-1']));

      expect(result.status).toBe('SUCCEEDED');
      expect(withChecksSorted(await workflow.statesEntered(executionArn))).toEqual([
        ...CHECKED.slice(0, 3),
        ...[...CHECKS, 'Is the file scanned in ranges', 'Scan each range', ...RANGES.map(() => 'Scan a range'), 'Record the scan verdict'].sort(),
        'Decide what to do with the file',
        'Quarantine infected file',
        'Release the processing slot',
        'Notify user',
        'Did every file import',
        'Import finished',
      ]);
      const calls = workflow.callsTo('scanForViruses');
      expect(calls[0]).toEqual({ importId: 'imp-1', executionArn });
      expect(calls.slice(1, -1).sort((a, b) => (a.range as { start: number }).start - (b.range as { start: number }).start)).toEqual(
        RANGES.map((range) => ({ importId: 'imp-1', executionArn, range })),
      );
      expect(calls.at(-1)).toEqual({
        importId: 'imp-1',
        executionArn,
        verdicts: [{ clean: true }, { clean: true }, { clean: false, signature: 'Eicar-Test-Signature' }, { clean: true }],
      });
      expect(workflow.callsTo('quarantineFile')).toEqual([{ importId: 'imp-1', executionArn, signature: 'Eicar-Test-Signature' }]);
      expect(workflow.callsTo('processImport')).toEqual([]);
      expect(workflow.outcomes.get('imp-1')).toBe('QUARANTINED');
    });

    it('a range failing Transient once is retried alone, and the clean file imports', async () => {
      let failed = false;
      const workflow = importWorkflow({
        scanForViruses: rangedScanner(async (range) => {
          if (range.start === 100 && !failed) {
            failed = true;
            throw new Transient('clamd at 127.0.0.1:3310 is unreachable: connect ECONNREFUSED');
          }
          return { clean: true };
        }),
      });
      const { result } = await workflow.run(job(['imp-1']));

      expect(result.status).toBe('SUCCEEDED');
      const starts = workflow
        .callsTo('scanForViruses')
        .filter((call) => call.range)
        .map((call) => (call.range as { start: number }).start)
        .sort((a, b) => a - b);
      expect(starts).toEqual([0, 100, 100, 200, 300]);
      expect(workflow.callsTo('scanForViruses').filter((call) => call.verdicts)).toHaveLength(1);
      expect(workflow.callsTo('processImport')).toHaveLength(1);
      expect(workflow.outcomes.get('imp-1')).toBe('SUCCEEDED');
    });

    it('ranges run at most rangeConcurrency at a time (SCAN_RANGE_CONCURRENCY)', async () => {
      let running = 0;
      let most = 0;
      const workflow = importWorkflow({
        scanForViruses: rangedScanner(async () => {
          most = Math.max(most, ++running);
          await new Promise((resolve) => setTimeout(resolve, 30));
          running--;
          return { clean: true };
        }),
      });
      const { result } = await workflow.run(job(['imp-1']));

      expect(result.status).toBe('SUCCEEDED');
      expect(most).toBe(2);
    });
  });

  describe('a file over CHECKSUM_STEP_BYTES (steps)', () => {
    // The checksum Lambda as it answers a 300-byte file in steps of 100: each step's progress is the offset and a state.
    const progressAt = (offset: number) => ({ offset, state: Buffer.from(`sha-256 state after ${offset} bytes`).toString('base64') });
    const inSteps =
      (options: { failAt?: number; failures?: number; outcome?: ChecksumOutcome } = {}) =>
      async (payload: Record<string, unknown>) => {
        const from = (payload.progress as { offset: number } | undefined)?.offset ?? 0;
        if (from === options.failAt && (options.failures ?? Infinity) > 0) {
          options.failures = (options.failures ?? Infinity) - 1;
          throw new Transient('S3 answered 503 Slow Down');
        }
        return from < 200 ? { progress: progressAt(from + 100) } : (options.outcome ?? verified);
      };
    const offsetsOf = (calls: Record<string, unknown>[]) => calls.map((payload) => (payload.progress as { offset: number } | undefined)?.offset ?? 0);
    /** After the checks: the checksum finished by "Checksum more of the file", a decision after each step. */
    const STEPPED = ['Checksum more of the file', 'Decide what to do with the file', 'Checksum more of the file', 'Decide what to do with the file'];

    it('is hashed by the same function step after step, each from the last one\'s progress, then the file imports', async () => {
      const workflow = importWorkflow({ computeChecksum: inSteps() });
      const { executionArn, result } = await workflow.run(job(['imp-1']));

      expect(result.status).toBe('SUCCEEDED');
      expect(withChecksSorted(await workflow.statesEntered(executionArn))).toEqual([
        ...CHECKED,
        ...STEPPED,
        ...ONE_CHUNK,
        'Release the processing slot',
        'Notify user',
        'Did every file import',
        'Import finished',
      ]);
      expect(workflow.callsTo('computeChecksum')).toEqual([
        { importId: 'imp-1', executionArn },
        { importId: 'imp-1', executionArn, progress: progressAt(100) },
        { importId: 'imp-1', executionArn, progress: progressAt(200) },
      ]);
      expect(workflow.callsTo('processImport')).toEqual([{ importId: 'imp-1', executionArn, format: 'csv' }]);
      expect(workflow.outcomes.get('imp-1')).toBe('SUCCEEDED');
    });

    it('a mismatch found by the last step rejects the file with the finished checks', async () => {
      const mismatch: ChecksumOutcome = { ...verified, sha256: 'b'.repeat(64), verdict: 'mismatch' };
      const workflow = importWorkflow({ computeChecksum: inSteps({ outcome: mismatch }) });
      const { executionArn } = await workflow.run(job(['imp-1']));

      expect(withChecksSorted(await workflow.statesEntered(executionArn)).slice(CHECKED.length)).toEqual([
        ...STEPPED,
        'Reject file',
        'Release the processing slot',
        'Notify user',
        'Did every file import',
        'Import finished',
      ]);
      expect(workflow.callsTo('rejectFile')).toEqual([
        {
          importId: 'imp-1',
          executionArn,
          checks: { antivirus: { clean: true }, checksum: mismatch, format: { format: 'csv', reason: 'a header of 4 post columns' } },
        },
      ]);
      expect(workflow.outcomes.get('imp-1')).toBe('REJECTED');
    });

    it('an infected file is quarantined without hashing the rest of it', async () => {
      const workflow = importWorkflow({ computeChecksum: inSteps(), scanForViruses: async () => ({ clean: false, signature: 'Eicar-Test-Signature' }) });
      const { executionArn } = await workflow.run(job(['imp-1']));

      expect(withChecksSorted(await workflow.statesEntered(executionArn)).slice(CHECKED.length)).toEqual([
        'Quarantine infected file',
        'Release the processing slot',
        'Notify user',
        'Did every file import',
        'Import finished',
      ]);
      expect(workflow.callsTo('computeChecksum')).toEqual([{ importId: 'imp-1', executionArn }]);
      expect(workflow.outcomes.get('imp-1')).toBe('QUARANTINED');
    });

    it('a step that fails transiently is retried from the same progress, not from the start of the file', async () => {
      const workflow = importWorkflow({ computeChecksum: inSteps({ failAt: 100, failures: 2 }) });
      const { result } = await workflow.run(job(['imp-1']));

      expect(result.status).toBe('SUCCEEDED');
      expect(offsetsOf(workflow.callsTo('computeChecksum'))).toEqual([0, 100, 100, 100, 200]);
      expect(workflow.callsTo('processImport')).toHaveLength(1);
      expect(workflow.callsTo('handleImportFailure')).toEqual([]);
    });

    it('a step that keeps failing fails the file as a failing "Compute checksum" does: recorded, nothing imported', async () => {
      const failed = { files: 1, succeeded: 0, quarantined: 0, rejected: 0, failed: 1, rowsImported: 0, rowsRejected: 0 };
      const stepping = importWorkflow({ computeChecksum: inSteps({ failAt: 200 }), notifyImportOutcome: async () => failed });
      const stepped = await stepping.run(job(['imp-1']));
      const whole = importWorkflow({ computeChecksum: inSteps({ failAt: 0 }), notifyImportOutcome: async () => failed });
      const wholeRun = await whole.run(job(['imp-1']));

      expect(stepped.result.status).toBe('FAILED');
      expect(stepped.result.error).toBe('ImportFailed');
      expect(offsetsOf(stepping.callsTo('computeChecksum'))).toEqual([0, 100, 200, 200, 200, 200, 200]); // the first attempt and 4 retries
      expect(withChecksSorted(await stepping.statesEntered(stepped.executionArn)).slice(CHECKED.length)).toEqual([
        'Checksum more of the file',
        'Decide what to do with the file',
        'Checksum more of the file',
        'Record file failure',
        'Release the processing slot',
        'Notify user',
        'Did every file import',
        'Import failed',
      ]);
      const failure = { Error: 'Transient', Cause: expect.stringContaining('S3 answered 503 Slow Down') };
      expect(stepping.callsTo('handleImportFailure')).toEqual([{ importId: 'imp-1', executionArn: stepped.executionArn, failure }]);
      expect(whole.callsTo('handleImportFailure')).toEqual([{ importId: 'imp-1', executionArn: wholeRun.executionArn, failure }]);
      expect(stepping.callsTo('processImport')).toEqual([]);
      expect(stepping.outcomes.get('imp-1')).toBe('FAILED');
      expect(whole.outcomes.get('imp-1')).toBe('FAILED');
    });

    it('a step that finds the upload changed rejects the file as changed, as a check does', async () => {
      const workflow = importWorkflow({
        computeChecksum: async (payload) => {
          if (payload.progress) throw new UploadChanged('s3://uploads/k is no longer the object that was uploaded');
          return { progress: progressAt(100) };
        },
      });
      const { executionArn, result } = await workflow.run(job(['imp-1']));

      expect(result.status).toBe('SUCCEEDED');
      expect(withChecksSorted(await workflow.statesEntered(executionArn)).slice(CHECKED.length)).toEqual([
        'Checksum more of the file',
        'Reject changed file',
        'Release the processing slot',
        'Notify user',
        'Did every file import',
        'Import finished',
      ]);
      expect(workflow.callsTo('rejectFile')).toEqual([
        { importId: 'imp-1', executionArn, failure: { Error: 'UploadChanged', Cause: expect.stringContaining('no longer the object') } },
      ]);
      expect(workflow.callsTo('processImport')).toEqual([]);
    });
  });

  it('a scanner that answers without a verdict (ScanFailed) is not retried into "clean"', async () => {
    const workflow = importWorkflow({
      scanForViruses: async () => {
        throw new ScanFailed('clamd could not scan completely: Heuristics.Limits.Exceeded.MaxFileSize');
      },
    });
    const { result } = await workflow.run(job(['imp-1']));

    expect(result.status).toBe('FAILED');
    expect(workflow.callsTo('scanForViruses')).toHaveLength(1);
    expect(workflow.callsTo('handleImportFailure')[0]).toMatchObject({ failure: { Error: 'ScanFailed' } });
    expect(workflow.callsTo('processImport')).toEqual([]);
  });

  it('a failure outside the files (notifying) is handled once for the whole job and fails the execution', async () => {
    const workflow = importWorkflow({
      notifyImportOutcome: async () => {
        throw new Error('the mail template is broken');
      },
    });
    const { executionArn, result } = await workflow.run(job(['imp-1']));

    expect(result.status).toBe('FAILED');
    expect((await workflow.statesEntered(executionArn)).slice(-4)).toEqual(['Notify user', 'Handle import failure', "Release the execution's slots", 'Import failed']);
    expect(workflow.callsTo('handleImportFailure')).toEqual([
      { executionArn, job: { ...job(['imp-1']), failure: expect.any(Object) }, failure: expect.objectContaining({ Error: 'Error' }) },
    ]);
  });

  it('a batch runs every file through the same checks at most MaxConcurrency at a time, and notifies once', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `imp-${String(i + 1).padStart(2, '0')}`);
    let inFlight = 0;
    let peak = 0;
    const workflow = importWorkflow({
      scanForViruses: async (payload) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 20));
        inFlight--;
        return payload.importId === 'imp-03' ? { clean: false, signature: 'Eicar-Test-Signature' } : { clean: true };
      },
      identifyFormat: async (payload) =>
        payload.importId === 'imp-07' ? { format: 'unknown', reason: 'the file is empty' } : { format: 'ndjson', reason: 'JSON objects' },
    });
    const { executionArn, result } = await workflow.run(job(ids, 'batch-1', 3));

    expect(result.status).toBe('SUCCEEDED');
    expect(peak).toBe(3);
    const states = await workflow.statesEntered(executionArn);
    expect(states[0]).toBe('Check and import each file');
    expect(states.slice(-3)).toEqual(['Notify user', 'Did every file import', 'Import finished']);
    expect(states.filter((state) => state === 'Check the uploaded file')).toHaveLength(12);
    expect(states.filter((state) => state === 'Import valid rows')).toHaveLength(10);
    expect(workflow.callsTo('processImport').map((payload) => payload.format)).toEqual(Array(10).fill('ndjson'));
    expect(Object.fromEntries(workflow.outcomes)).toMatchObject({ 'imp-03': 'QUARANTINED', 'imp-07': 'REJECTED', 'imp-12': 'SUCCEEDED' });
    expect(workflow.callsTo('notifyImportOutcome')).toEqual([{ executionArn, job: job(ids, 'batch-1', 3) }]);
  });

  it('one failed file in a batch fails the execution after the other files finished', async () => {
    const ids = ['imp-1', 'imp-2', 'imp-3'];
    const workflow = importWorkflow({
      processImport: async (payload) => {
        if (payload.importId === 'imp-2') throw new Error('the search store refused the bulk request');
        workflow.outcomes.set(String(payload.importId), 'SUCCEEDED');
        return { importId: payload.importId, status: 'SUCCEEDED', rowsImported: 1, rowsRejected: 0 };
      },
    });
    const { result } = await workflow.run(job(ids, 'batch-2', 2));

    expect(result.status).toBe('FAILED');
    expect(Object.fromEntries(workflow.outcomes)).toEqual({ 'imp-1': 'SUCCEEDED', 'imp-2': 'FAILED', 'imp-3': 'SUCCEEDED' });
    expect(workflow.callsTo('handleImportFailure')).toEqual([expect.objectContaining({ importId: 'imp-2' })]);
  });

  it('a batch at the cap leaves the Map an aggregate of empty child outputs, far under the 256 KB state limit', async () => {
    // The real definition discards the Map's list (ResultPath: null); this copy keeps it to weigh it.
    const dir = mkdtempSync(join(tmpdir(), 'ferry-import-asl-'));
    try {
      const definition = parse(readFileSync(IMPORT_ASL, 'utf8')) as { States: Record<string, Record<string, unknown>> };
      const map = definition.States['Check and import each file']!;
      map.ResultPath = '$.mapResults';
      const keepingResults = join(dir, 'import.asl.yaml');
      writeFileSync(keepingResults, stringify(definition));
      let mapResults: unknown;
      const ids = Array.from({ length: MAX_BATCH_FILES }, (_, i) => `imp-${String(i).padStart(4, '0')}`);
      const workflow = importWorkflow(
        {
          identifyFormat: async (payload) =>
            payload.importId === 'imp-0001' ? { format: 'unknown', reason: 'the file is empty' } : { format: 'csv', reason: 'a header' },
          scanForViruses: async (payload) =>
            payload.importId === 'imp-0002' ? { clean: false, signature: 'Eicar-Test-Signature' } : { clean: true },
          processImport: async (payload) => {
            if (payload.importId === 'imp-0003') throw new Error('the search store refused the bulk request');
            workflow.outcomes.set(String(payload.importId), 'SUCCEEDED');
            return { importId: payload.importId, status: 'SUCCEEDED', rowsImported: 9, rowsRejected: 1 };
          },
          notifyImportOutcome: async (payload) => {
            mapResults = (payload.job as { mapResults?: unknown }).mapResults;
            return { files: ids.length, succeeded: 0, quarantined: 0, rejected: 0, failed: 0, rowsImported: 0, rowsRejected: 0 };
          },
        },
        { stateMachines: { 'ferry-import': keepingResults } },
      );
      const { result } = await workflow.run(job(ids, 'batch-cap', 50));

      expect(result.status).toBe('SUCCEEDED');
      expect(workflow.outcomes.size).toBe(MAX_BATCH_FILES);
      // Every ending (imported, rejected, quarantined, failed) returns {}: 2,000 × 3 bytes, not 2,000 × ~100.
      expect(mapResults).toEqual(Array(MAX_BATCH_FILES).fill({}));
      expect(Buffer.byteLength(JSON.stringify(mapResults))).toBeLessThan(8 * 1024);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('import.asl.yaml: fair shares of the engine', () => {
  /** processImport taking a while; it records the file SUCCEEDED where "Notify user" reads it. */
  const slow = (order: string[], outcomes: () => Map<string, string>, inFlight = { now: 0, peak: 0 }, ms = 30) => async (payload: Record<string, unknown>) => {
    order.push(String(payload.importId));
    outcomes().set(String(payload.importId), 'SUCCEEDED');
    inFlight.now++;
    inFlight.peak = Math.max(inFlight.peak, inFlight.now);
    await new Promise((resolve) => setTimeout(resolve, ms));
    inFlight.now--;
    return { importId: payload.importId, status: 'SUCCEEDED', rowsImported: 1, rowsRejected: 0 };
  };

  it('with the engine full a file waits its turn (SlotBusy retried), never fails, and every slot is given back', async () => {
    const order: string[] = [];
    const inFlight = { now: 0, peak: 0 };
    const workflow = importWorkflow({ processImport: slow(order, () => workflow.outcomes, inFlight) }, {}, { policy: { slots: 1, perUser: 1, leaseSeconds: 3600, waiterSeconds: 300 } });
    const ids = ['imp-1', 'imp-2', 'imp-3'];
    const { executionArn, result } = await workflow.run(job(ids, 'batch-1', 3));

    expect(result.status).toBe('SUCCEEDED');
    expect(inFlight.peak).toBe(1);
    expect([...order].sort()).toEqual(ids);
    // The waiting files asked again (retries of the same state), each entered the state once.
    expect(workflow.callsTo('acquireImportSlot').length).toBeGreaterThan(3);
    const states = await workflow.statesEntered(executionArn);
    expect(states.filter((state) => state === 'Wait for a processing slot')).toHaveLength(3);
    expect(states.filter((state) => state === 'Release the processing slot')).toHaveLength(3);
    expect(workflow.slots.state).toMatchObject({ holders: [], waiters: [] });
  });

  it("one user's batch does not starve another user's file: it takes the next free slot ahead of the batch's waiting files", async () => {
    const order: string[] = [];
    const owners: Record<string, string> = { 'bob-1': 'u-bob' };
    const workflow = importWorkflow(
      // Long enough that Bob's file asks while Alice's first two still hold the slots.
      { processImport: slow(order, () => workflow.outcomes, undefined, 300) },
      {},
      { policy: { slots: 2, perUser: 2, leaseSeconds: 3600, waiterSeconds: 300 }, ownerOf: (id) => owners[id] ?? 'u-alice' },
    );
    const alice = Array.from({ length: 6 }, (_, i) => `alice-${i + 1}`);
    const batch = workflow.run(job(alice, 'batch-alice', 6));
    // Bob uploads once Alice's files hold both slots and the rest of her batch waits.
    for (let i = 0; i < 500 && workflow.slots.state.waiters.length < 4; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(workflow.slots.state.holders.map((holder) => holder.userId)).toEqual(['u-alice', 'u-alice']);
    const bob = await workflow.run(job(['bob-1']));
    await batch;

    expect(bob.result.status).toBe('SUCCEEDED');
    // Two of Alice's files ran first; Bob's took one of the two slots they gave back, ahead of at least three of her
    // four waiting files (first come, first served would have put it last, at 6).
    expect(order.slice(0, 2).every((id) => id.startsWith('alice-'))).toBe(true);
    expect(order.indexOf('bob-1')).toBeGreaterThanOrEqual(2);
    expect(order.indexOf('bob-1')).toBeLessThanOrEqual(3);
    expect(order.filter((id) => id.startsWith('alice-'))).toHaveLength(6);
    expect(workflow.slots.state).toMatchObject({ holders: [], waiters: [] });
  });

  it('a file waiting for its column mapping holds no slot: other files run meanwhile, and it asks again once mapped', async () => {
    const order: string[] = [];
    const tokens = new Map<string, string>();
    const workflow = importWorkflow(
      {
        processImport: slow(order, () => workflow.outcomes),
        identifyFormat: async (payload) =>
          payload.importId === 'imp-1'
            ? { format: 'csv', reason: 'columns that are not post fields', needsMapping: true, mappingTimeoutSeconds: 86_400 }
            : { format: 'ndjson', reason: 'JSON objects' },
        awaitImportMapping: async (payload) => {
          tokens.set(String(payload.importId), String(payload.taskToken));
          return null;
        },
      },
      {},
      { policy: { slots: 1, perUser: 1, leaseSeconds: 3600, waiterSeconds: 300 } },
    );
    const { executionArn } = await workflow.service.startExecution({
      stateMachineArn: workflow.service.stateMachineArn('ferry-import'),
      name: 'batch-1',
      input: JSON.stringify(job(['imp-1', 'imp-2'], 'batch-1', 2)),
    });
    for (let i = 0; i < 1000 && !(tokens.has('imp-1') && order.includes('imp-2')); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    // imp-2 was imported while imp-1 waited for its user, with the only slot.
    expect(order).toEqual(['imp-2']);
    expect(workflow.slots.state.holders.map((holder) => holder.importId)).not.toContain('imp-1');

    await workflow.service.sendTaskSuccess({ taskToken: tokens.get('imp-1') ?? '', output: '{}' });
    const result = await workflow.service.executionSettled(executionArn);
    expect(result.status).toBe('SUCCEEDED');
    expect(order).toEqual(['imp-2', 'imp-1']);
    expect(workflow.slots.state).toMatchObject({ holders: [], waiters: [] });
  });

  it('quarantined, rejected and failed files give their slots back, and so does an execution that failed outside its files', async () => {
    const workflow = importWorkflow({
      scanForViruses: async (payload) => (payload.importId === 'imp-1' ? { clean: false, signature: 'Eicar-Test-Signature' } : { clean: true }),
      identifyFormat: async (payload) => (payload.importId === 'imp-2' ? { format: 'unknown', reason: 'the file is empty' } : { format: 'csv', reason: 'post columns' }),
      processImport: async () => {
        throw new Error('the index refused the bulk request');
      },
    });
    const { result } = await workflow.run(job(['imp-1', 'imp-2', 'imp-3'], 'batch-1', 3));
    expect(result.status).toBe('FAILED');
    expect(Object.fromEntries(workflow.outcomes)).toEqual({ 'imp-1': 'QUARANTINED', 'imp-2': 'REJECTED', 'imp-3': 'FAILED' });
    expect(workflow.slots.state).toMatchObject({ holders: [], waiters: [] });

    // A whole-execution failure: the slots its files held (here one left by a crashed release) go back.
    const crashed = importWorkflow({
      releaseImportSlot: async (payload) => {
        if (typeof payload.importId === 'string') throw new Error('DynamoDB is unreachable');
        crashed.slots.state = releaseExecutionSlots(crashed.slots.state, String(payload.executionArn));
        return { released: true };
      },
      notifyImportOutcome: async () => {
        throw new Error('the mail template is broken');
      },
    });
    const failed = await crashed.run(job(['imp-9']));
    expect(failed.result.status).toBe('FAILED');
    const states = await crashed.statesEntered(failed.executionArn);
    expect(states).toContain('Slot left to its lease');
    expect(states.slice(-2)).toEqual(["Release the execution's slots", 'Import failed']);
    expect(crashed.slots.state).toMatchObject({ holders: [], waiters: [] });
  });
});

describe('import.asl.yaml for resources', () => {
  const resourceVerdict = {
    kind: 'resource',
    format: 'resource',
    reason: 'the file is PDF (application/pdf)',
    type: { mime: 'application/pdf', ext: 'pdf' },
  };

  it('a clean resource of an allowed type is kept, never processed as rows; the execution succeeds', async () => {
    const workflow = importWorkflow({ identifyFormat: async () => resourceVerdict });
    const { executionArn, result } = await workflow.run(job(['res-1']));

    expect(result.status).toBe('SUCCEEDED');
    expect(withChecksSorted(await workflow.statesEntered(executionArn))).toEqual([
      ...CHECKED,
      'Keep resource',
      'Release the processing slot',
      'Notify user',
      'Did every file import',
      'Import finished',
    ]);
    expect(workflow.callsTo('keepResource')).toEqual([{ importId: 'res-1', executionArn }]);
    expect(workflow.callsTo('processImport')).toEqual([]);
  });

  it('an infected resource is quarantined, and one whose bytes changed on the way is rejected, not kept', async () => {
    const infected = importWorkflow({
      identifyFormat: async () => resourceVerdict,
      scanForViruses: async () => ({ clean: false, signature: 'Eicar-Test-Signature' }),
    });
    await infected.run(job(['res-1']));
    expect(infected.outcomes.get('res-1')).toBe('QUARANTINED');
    expect(infected.callsTo('keepResource')).toEqual([]);

    const changed = importWorkflow({
      identifyFormat: async () => resourceVerdict,
      computeChecksum: async () => ({ ...verified, sha256: 'b'.repeat(64), verdict: 'mismatch' }),
    });
    await changed.run(job(['res-2']));
    expect(changed.outcomes.get('res-2')).toBe('REJECTED');
    expect(changed.callsTo('keepResource')).toEqual([]);
  });

  it('a resource the identify check refuses is rejected with the verdict', async () => {
    const refused = { kind: 'resource', format: 'unknown', reason: 'the PDF is encrypted or password-protected' };
    const workflow = importWorkflow({ identifyFormat: async () => refused });
    await workflow.run(job(['res-1']));
    expect(workflow.outcomes.get('res-1')).toBe('REJECTED');
    expect(workflow.callsTo('rejectFile')[0]).toMatchObject({ checks: { format: refused } });
  });

  it('a failing "Keep resource" records that file FAILED and fails the execution', async () => {
    const workflow = importWorkflow({
      identifyFormat: async () => resourceVerdict,
      keepResource: async () => {
        throw new Error('the permanent bucket refused the copy');
      },
    });
    const { result } = await workflow.run(job(['res-1']));
    expect(result.status).toBe('FAILED');
    expect(workflow.outcomes.get('res-1')).toBe('FAILED');
  });
});
