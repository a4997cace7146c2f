import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { ImportSummary } from '../../core/contract';
import { Transient } from '../../core/errors';
import type { ExportJob, ExportReport } from '../../core/export/job';
import type { ImportJob } from '../../core/import/job';
import type { ChecksumOutcome } from '../../core/import/tasks';
import { functionKeyOf, loadStateMachineDefinition } from '../../infra/local/stepfunctions/definitions';
import { LocalStepFunctions } from '../../infra/local/stepfunctions/service';

/**
 * Every Task of both workflows, failure handlers included, retries what is worth retrying: `Transient`
 * (our adapters' name for throttling, timeouts and 5xx) and the Lambda service errors AWS recommends
 * retrying. The agreed policy is asserted as written in the ASL, then exercised on the local runtime:
 * each error once (the run goes on as if nothing happened), `Transient` every time (exactly MaxAttempts
 * retries, with waits growing by BackoffRate up to MaxDelaySeconds).
 */

const REGION = 'us-east-1';
const ASL = {
  import: fileURLToPath(new URL('../../statemachines/import.asl.yaml', import.meta.url)),
  export: fileURLToPath(new URL('../../statemachines/export.asl.yaml', import.meta.url)),
};
type Workflow = keyof typeof ASL;

const RETRIED_ERRORS = ['Transient', 'Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException'];

interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds: number;
  BackoffRate: number;
  MaxAttempts: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: 'FULL' | 'NONE';
}

const retrier = (IntervalSeconds: number, MaxAttempts: number, MaxDelaySeconds?: number): Retrier => ({
  ErrorEquals: RETRIED_ERRORS,
  IntervalSeconds,
  BackoffRate: 2,
  MaxAttempts,
  ...(MaxDelaySeconds === undefined ? {} : { MaxDelaySeconds }),
  JitterStrategy: 'FULL',
});

/** The agreed Retry of every Task, by workflow and state name (the reasons are beside each Retry in the ASL). */
const AGREED: Record<Workflow, Record<string, Retrier>> = {
  import: {
    // A busy scanner is waited out longer: up to ~3 minutes.
    'Scan for viruses': retrier(5, 6, 60),
    // A file over one clamd stream: each range is a scan of its own, and its one verdict is recorded by the same Lambda.
    'Scan a range': retrier(5, 6, 60),
    'Record the scan verdict': retrier(5, 6, 60),
    'Compute checksum': retrier(2, 4),
    // A file over one checksum step: each further step is a task of its own, retried from the same progress.
    'Checksum more of the file': retrier(2, 4),
    'Identify format': retrier(2, 4),
    'Quarantine infected file': retrier(2, 4),
    'Reject file': retrier(2, 4),
    'Reject changed file': retrier(2, 4),
    'Wait for column mapping': retrier(2, 4),
    'Expire import': retrier(2, 4),
    'Keep resource': retrier(2, 4),
    'Import valid rows': retrier(2, 4),
    "Plan the file's chunks": retrier(2, 4),
    "Plan more of the file's chunks": retrier(2, 4),
    'Import one chunk': retrier(2, 4),
    'Assemble the error report and commit': retrier(2, 4),
    'Record file failure': retrier(2, 4),
    'Notify user': retrier(2, 4),
    'Handle import failure': retrier(2, 4),
    'Wait for a processing slot': retrier(2, 4),
    'Wait for a processing slot after the mapping': retrier(2, 4),
    'Give the slot back during the mapping wait': retrier(2, 4),
    'Release the processing slot': retrier(2, 4),
    "Release the execution's slots": retrier(2, 4),
  },
  export: {
    'Record export request': retrier(1, 4),
    'Generate CSV report': retrier(1, 4),
    'Generate CSV report for email': retrier(1, 4),
    'Email link to user': retrier(1, 4),
    'Generate CSV report for push': retrier(1, 4),
    'Wait for browser connection': retrier(1, 4),
    'Push link to browser': retrier(1, 4),
    'Record export success': retrier(1, 4),
    'Handle export failure': retrier(1, 4),
    "Plan the export's slices": retrier(1, 4),
    'Write one slice': retrier(1, 4),
    'Assemble the export file': retrier(1, 4),
    "Plan the push export's slices": retrier(1, 4),
    'Write one slice of the push export': retrier(1, 4),
    'Assemble the push export file': retrier(1, 4),
  },
};

/**
 * Before the agreed one, the asks for a slot retry SlotBusy (its turn has not come) for about a day: every 2 s
 * growing to 30 s, full jitter (core/import/slots.ts; the ASL says why 2,900).
 */
const SLOT_WAIT: Retrier = { ErrorEquals: ['SlotBusy'], IntervalSeconds: 2, BackoffRate: 1.5, MaxDelaySeconds: 30, MaxAttempts: 2900, JitterStrategy: 'FULL' };
const RETRIED_FIRST: Record<string, Retrier[]> = {
  'Wait for a processing slot': [SLOT_WAIT],
  'Wait for a processing slot after the mapping': [SLOT_WAIT],
};
/** A slice cut off (its Lambda timed out or died) is also retried, to resume from its parts: after the agreed retrier. */
const CUT_OFF: Retrier = { ErrorEquals: ['States.Timeout', 'Lambda.Unknown'], IntervalSeconds: 1, BackoffRate: 2, MaxAttempts: 2 };
const EXTRA_RETRIERS: Record<string, Retrier[]> = { 'Write one slice': [CUT_OFF], 'Write one slice of the push export': [CUT_OFF] };

type Json = Record<string, unknown>;
interface TaskState {
  name: string;
  functionKey: string;
  state: Json;
}

/** Every Task state of a definition, inside Parallel branches and Map processors too. */
const tasksOf = (states: Record<string, Json>): TaskState[] =>
  Object.entries(states).flatMap(([name, state]): TaskState[] => {
    if (state.Type === 'Task') {
      const parameters = state.Parameters as { FunctionName?: string } | undefined;
      const resource = String(state.Resource).includes(':states:::lambda:invoke') ? String(parameters?.FunctionName) : String(state.Resource);
      return [{ name, functionKey: functionKeyOf(resource), state }];
    }
    const nested = [
      ...((state.Branches as { States: Record<string, Json> }[] | undefined) ?? []),
      ...[state.ItemProcessor, state.Iterator].filter((processor): processor is { States: Record<string, Json> } => processor !== undefined),
    ];
    return nested.flatMap((machine) => tasksOf(machine.States));
  });

const definitionOf = (workflow: Workflow) => loadStateMachineDefinition(ASL[workflow], { region: REGION }) as unknown as { States: Record<string, Json> };

/** A copy of a definition without jitter, so that each wait before a retry is exactly its backoff. */
const tempDir = mkdtempSync(join(tmpdir(), 'ferry-retry-'));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));
const withoutJitter = (workflow: Workflow): string => {
  const definition = definitionOf(workflow);
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(Object.entries(value).filter(([key]) => key !== 'JitterStrategy').map(([key, item]) => [key, strip(item)]));
  };
  const path = join(tempDir, `${workflow}.asl.yaml`);
  writeFileSync(path, stringify(strip(definition)));
  return path;
};

// ---- the workflows with in-memory task functions ----

type TaskFn = (payload: Json, service: LocalStepFunctions) => Promise<unknown>;

const importJob: ImportJob = {
  importIds: ['imp-1'],
  requestedBy: { userId: 'u-alice', username: 'alice', email: 'alice@example.com' },
  delivery: 'email',
  requestedAt: '2025-01-02T03:04:05.000Z',
  maxConcurrency: 10,
};
const verified: ChecksumOutcome = { sha256: 'a'.repeat(64), bytes: 100, expectedSha256: 'a'.repeat(64), expectedBytes: 100, verdict: 'verified' };
const summaryOf = (failed: number): ImportSummary => ({ files: 1, succeeded: 1 - failed, quarantined: 0, rejected: 0, failed, rowsImported: 0, rowsRejected: 0 });

const exportJob = (delivery: ExportJob['delivery']): ExportJob => ({
  exportId: 'exp-1',
  requestedBy: { userId: 'u-alice', username: 'alice', email: 'alice@example.com', groups: [] },
  delivery,
  searchCriteria: { q: 'ferry' },
  requestedAt: '2025-01-02T03:04:05.000Z',
});
const report: ExportReport = { bucket: 'exports', key: 'exports/exp-1.csv', rowCount: 42, bytes: 4200, expiresAt: '2025-01-05T03:04:05.000Z' };

const needsMapping = (mappingTimeoutSeconds: number) => ({ format: 'csv', reason: 'the columns need mapping', needsMapping: true, mappingTimeoutSeconds });

const broken = () => {
  throw new Error('a bug, not worth retrying');
};

const BASE: Record<Workflow, Record<string, TaskFn>> = {
  import: {
    scanForViruses: async () => ({ clean: true }),
    computeChecksum: async () => verified,
    identifyFormat: async () => ({ format: 'csv', reason: 'a header of 4 post columns' }),
    quarantineFile: async (payload) => ({ importId: payload.importId, status: 'QUARANTINED' }),
    rejectFile: async (payload) => ({ importId: payload.importId, status: 'REJECTED' }),
    processImport: async (payload) => ({ importId: payload.importId, status: 'SUCCEEDED', rowsImported: 9, rowsRejected: 1 }),
    planImportChunks: async () => ({ count: 1, chunks: [], headerBytes: 0, concurrency: 4 }),
    notifyImportOutcome: async () => summaryOf(0),
    handleImportFailure: async () => null,
    // The user maps the columns at once: the mapping route answers the token.
    awaitImportMapping: async (payload, service) => {
      await service.sendTaskSuccess({ taskToken: String(payload.taskToken), output: JSON.stringify({ importId: payload.importId }) });
      return null;
    },
    expireImport: async (payload) => ({ importId: payload.importId, status: 'EXPIRED' }),
    keepResource: async (payload) => ({ importId: payload.importId, status: 'SUCCEEDED' }),
    acquireImportSlot: async () => ({ granted: true }),
    releaseImportSlot: async (payload) => ({ released: payload.phase ?? 'execution' }),
  },
  export: {
    recordExportRequest: async () => ({ recorded: true }),
    generateCsvReport: async () => report,
    emailLinkToUser: async () => ({ messageId: 'm-1' }),
    // The browser is already connected: the rendezvous answers the token at once.
    waitForBrowserConnection: async (payload, service) => {
      await service.sendTaskSuccess({ taskToken: String(payload.taskToken), output: JSON.stringify({ connectionId: 'conn-1' }) });
      return { waiting: false };
    },
    pushLinkToBrowser: async () => ({ delivered: true }),
    recordExportSuccess: async () => ({ recorded: true }),
    handleExportFailure: async () => ({ handled: true }),
    // Reached only when "Generate CSV report" asks for slices (see scenarioThrough); one slice, so a Task's calls are its slice's.
    planExportSlices: async () => ({
      bucket: 'exports',
      key: 'exports/exp-1.csv',
      uploadId: 'up-1',
      totalRows: 42,
      partsPerSlice: 10_000,
      maxConcurrency: 10,
      slices: [{ slice: 0, range: {} }],
    }),
    writeExportSlice: async () => ({ slice: 0, rows: 42, bytes: 4200, parts: 1 }),
    assembleExportFile: async () => report,
  },
};

/** A large file: planned as two chunks, imported by "Import each chunk" and committed once. */
const twoChunks: Record<string, TaskFn> = {
  planImportChunks: async () => ({
    count: 2,
    chunks: [
      { index: 0, start: 0, end: 100, rowsBefore: 0, linesBefore: 0 },
      { index: 1, start: 100, end: 200, rowsBefore: 1000, linesBefore: 0 },
    ],
    headerBytes: 30,
    // One chunk at a time: a chunk that gives up ends the Map before the next one starts.
    concurrency: 1,
  }),
  importChunk: async (payload) => ({ chunk: (payload.chunk as { index: number }).index }),
  commitImportChunks: async (payload) => ({ importId: payload.importId, status: 'SUCCEEDED', rowsImported: 9, rowsRejected: 1 }),
};

/** A file over one clamd stream: "Scan for viruses" returns two ranges, scanned one at a time, then one verdict recorded. */
const twoRanges: Record<string, TaskFn> = {
  scanForViruses: async (payload) =>
    payload.range
      ? { clean: true }
      : payload.verdicts
        ? { clean: true }
        : { ranges: [{ start: 0, end: 110 }, { start: 100, end: 200 }], rangeConcurrency: 1 },
};

/** A file larger than one planning step: the first step returns its progress, the next one the whole plan. */
const steppedTwoChunks: Record<string, TaskFn> = {
  ...twoChunks,
  planImportChunks: async (payload, service) =>
    payload.progress ? twoChunks.planImportChunks!(payload, service) : { progress: { offset: 100, rows: 1000, chunks: [] } },
};

/** A file over one checksum step: the first step returns its progress, the next one the verdict. */
const steppedChecksum: Record<string, TaskFn> = {
  computeChecksum: async (payload, service) =>
    payload.progress ? BASE.import.computeChecksum!(payload, service) : { progress: { offset: 100, state: 'c2hhLTI1NiBzdGF0ZQ==' } },
};

/** Tasks a scenario runs once per Map item: "Import one chunk" runs once per chunk of `twoChunks`, "Scan a range" per range of `twoRanges`. */
const ITEMS_THROUGH: Record<string, number> = { 'Import one chunk': 2, 'Scan a range': 2 };
const SLICED_STATES = new Set(["Plan the export's slices", 'Write one slice', 'Assemble the export file', "Plan the push export's slices", 'Write one slice of the push export', 'Assemble the push export file']);

interface Scenario {
  input: unknown;
  overrides?: Record<string, TaskFn>;
}

/** A run that passes through the given Task (the others are reached only on some paths). */
const scenarioThrough = (workflow: Workflow, stateName: string): Scenario => {
  if (workflow === 'import') {
    const routes: Record<string, Record<string, TaskFn>> = {
      'Quarantine infected file': { scanForViruses: async () => ({ clean: false, signature: 'Eicar-Test-Signature' }) },
      'Reject file': { identifyFormat: async () => ({ format: 'unknown', reason: 'the file is a PDF document' }) },
      'Record file failure': { processImport: async () => broken(), notifyImportOutcome: async () => summaryOf(1) },
      'Handle import failure': { notifyImportOutcome: async () => broken() },
      'Reject changed file': {
        processImport: async () => {
          throw Object.assign(new Error('the upload changed'), { name: 'UploadChanged' });
        },
      },
      'Wait for column mapping': { identifyFormat: async () => needsMapping(60) },
      // Nobody maps the columns: the 1 s wait times out.
      'Expire import': { identifyFormat: async () => needsMapping(1), awaitImportMapping: async () => null },
      'Keep resource': { identifyFormat: async () => ({ format: 'resource', reason: 'the file is JPG (image/jpeg)' }) },
      'Give the slot back during the mapping wait': { identifyFormat: async () => needsMapping(60) },
      'Wait for a processing slot after the mapping': { identifyFormat: async () => needsMapping(60) },
      "Release the execution's slots": { notifyImportOutcome: async () => broken() },
      'Import one chunk': twoChunks,
      'Assemble the error report and commit': twoChunks,
      'Scan a range': twoRanges,
      'Record the scan verdict': twoRanges,
      "Plan more of the file's chunks": steppedTwoChunks,
      'Checksum more of the file': steppedChecksum,
    };
    return { input: importJob, overrides: routes[stateName] ?? {} };
  }
  if (stateName === 'Handle export failure') return { input: exportJob('direct'), overrides: { recordExportRequest: async () => broken() } };
  const delivery = stateName.endsWith('for email') || stateName === 'Email link to user' ? 'email'
    : stateName.endsWith('for push') || stateName.includes('push export') || stateName === 'Wait for browser connection' || stateName === 'Push link to browser' ? 'push'
      : 'direct';
  const sliced: Record<string, TaskFn> = SLICED_STATES.has(stateName) ? { generateCsvReport: async () => ({ sliced: true, totalRows: 42 }) } : {};
  return { input: exportJob(delivery), overrides: sliced };
};

/** Whether a call of the Task's function comes from that Task (one function can serve two states). */
const invokedBy = (task: TaskState) => (payload: Json): boolean => {
  if (task.name === 'Record file failure') return 'importId' in payload;
  // The antivirus Lambda behind three states: a range's scan has its `range`, the recording its `verdicts`.
  if (task.name === 'Scan for viruses') return !('range' in payload) && !('verdicts' in payload);
  if (task.name === 'Scan a range') return 'range' in payload;
  if (task.name === 'Record the scan verdict') return 'verdicts' in payload;
  if (task.name === 'Compute checksum') return !('progress' in payload);
  if (task.name === 'Checksum more of the file') return 'progress' in payload;
  if (task.name === "Plan the file's chunks") return !('progress' in payload);
  if (task.name === "Plan more of the file's chunks") return 'progress' in payload;
  if (task.name === 'Reject file') return 'checks' in payload;
  if (task.name === 'Reject changed file') return 'failure' in payload;
  if (task.name === 'Handle import failure') return !('importId' in payload);
  // One function per side of the slots, each behind several states: the state's `phase` tells them apart.
  if (task.name === 'Wait for a processing slot') return payload.phase === 'checks';
  if (task.name === 'Wait for a processing slot after the mapping') return payload.phase === 'processing';
  if (task.name === 'Give the slot back during the mapping wait') return payload.phase === 'mapping';
  if (task.name === 'Release the processing slot') return payload.phase === 'done';
  if (task.name === "Release the execution's slots") return !('importId' in payload);
  return true;
};

const services: LocalStepFunctions[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(services.splice(0).map((service) => service.close()));
});

const RETRY_SCALE = 0.000731; // an odd scale, so each wait before a retry is a fraction of a millisecond no other timer uses

/** Runs a scenario where `failing` decides, call by call, whether the Task's function throws instead. */
const runWorkflow = (workflow: Workflow, aslPath: string) => {
  let functions: Record<string, TaskFn> = {};
  const service: LocalStepFunctions = new LocalStepFunctions({
    region: REGION,
    stateMachines: { [workflow]: aslPath },
    invoke: async (functionKey, payload) => {
      const fn = functions[functionKey];
      if (!fn) throw new Error(`no function ${functionKey}`);
      return fn(payload as Json, service);
    },
    retryIntervalScale: RETRY_SCALE,
  });
  services.push(service);
  let runs = 0;
  return async (scenario: Scenario, task: TaskState, fail: (call: number) => Error | undefined) => {
    let call = 0;
    const base = { ...BASE[workflow], ...scenario.overrides };
    const real = base[task.functionKey]!;
    const ofTask = invokedBy(task);
    functions = {
      ...base,
      [task.functionKey]: async (payload, svc) => {
        if (!ofTask(payload)) return real(payload, svc);
        const error = fail(++call);
        if (error) throw error;
        return real(payload, svc);
      },
    };
    const { executionArn } = await service.startExecution({
      stateMachineArn: service.stateMachineArn(workflow),
      name: `run-${++runs}`,
      input: JSON.stringify(scenario.input),
    });
    const result = await service.executionSettled(executionArn);
    const { events = [] } = await service.getExecutionHistory({ executionArn, maxResults: 1000 });
    const states = events.filter((event) => event.type?.endsWith('StateEntered')).map((event) => event.stateEnteredEventDetails?.name);
    return { status: result.status, error: result.error, states, calls: call };
  };
};

const taskNamed = (workflow: Workflow, name: string): TaskState => tasksOf(definitionOf(workflow).States).find((task) => task.name === name)!;

const namedError = (name: string): Error => (name === 'Transient' ? new Transient(`${name} in a test`) : Object.assign(new Error(`${name} in a test`), { name }));

for (const workflow of ['import', 'export'] as const) {
  const tasks = tasksOf(definitionOf(workflow).States);

  describe(`${workflow}.asl.yaml: the Retry of every Task`, () => {
    it('has an agreed policy for each of its Tasks, no more and no fewer', () => {
      expect(tasks.map((task) => task.name).sort()).toEqual(Object.keys(AGREED[workflow]).sort());
    });

    for (const task of tasks) {
      const agreed = AGREED[workflow][task.name]!;

      it(`"${task.name}" retries Transient and the Lambda service errors, ${agreed.MaxAttempts} times with backoff ${agreed.BackoffRate} from ${agreed.IntervalSeconds} s`, () => {
        expect(task.state.Retry).toEqual([...(RETRIED_FIRST[task.name] ?? []), agreed, ...(EXTRA_RETRIERS[task.name] ?? [])]);
      });

      it(`"${task.name}" failing once with each retried error is retried, and the run ends as without the failure`, async () => {
        const run = runWorkflow(workflow, ASL[workflow]);
        const scenario = scenarioThrough(workflow, task.name);
        const baseline = await run(scenario, task, () => undefined);
        expect(baseline.states).toContain(task.name);
        for (const name of RETRIED_ERRORS) {
          const outcome = await run(scenario, task, (call) => (call === 1 ? namedError(name) : undefined));
          expect(outcome, name).toEqual({ ...baseline, calls: baseline.calls + 1 });
        }
      });

      it(`"${task.name}" failing with Transient every time gives up after ${agreed.MaxAttempts} retries, waiting longer each time`, async () => {
        const run = runWorkflow(workflow, withoutJitter(workflow));
        const waits: number[] = [];
        const realSetTimeout = globalThis.setTimeout;
        // An observer: every timer still runs as asked; the fractional ones are the waits before a retry.
        vi.spyOn(globalThis, 'setTimeout').mockImplementation(((...args: Parameters<typeof setTimeout>) => {
          const ms = args[1];
          if (ms !== undefined && !Number.isInteger(ms)) waits.push(ms);
          return realSetTimeout(...args);
        }) as typeof setTimeout);
        const outcome = await run(scenarioThrough(workflow, task.name), task, () => new Transient('still down'));
        vi.restoreAllMocks();

        // Each of the scenario's items gives up alone: the local runtime (aws-local-stepfunctions' Map, p-limit) still
        // starts the items queued behind one that failed, where AWS stops the Map; the outcome is the same.
        const items = ITEMS_THROUGH[task.name] ?? 1;
        expect(outcome.calls).toBe(items * (agreed.MaxAttempts + 1));
        // Given up: the error went to the Catch (a file failure, or the whole job's) or failed the execution.
        // A slot's release that keeps failing leaves the slot to its lease, and the file as it ended.
        const handled = ['Record file failure', 'Slot left to its lease'].some((state) => outcome.states.includes(state));
        expect(outcome.status === 'FAILED' || handled, outcome.states.join(' → ')).toBe(true);
        // The runtime's arithmetic: IntervalSeconds × BackoffRate^n, capped at MaxDelaySeconds (both scaled).
        const expected = Array.from({ length: agreed.MaxAttempts }, (_, n) => {
          const wait = agreed.IntervalSeconds * RETRY_SCALE * agreed.BackoffRate ** n;
          return Math.min(wait, (agreed.MaxDelaySeconds ?? Infinity) * RETRY_SCALE) * 1e3;
        });
        // (The waits of the first item: those of items started after the Map failed may outlast the observer.)
        expect(waits.slice(0, expected.length).map((ms) => ms.toFixed(6))).toEqual(expected.map((ms) => ms.toFixed(6)));
      });
    }
  });
}

describe('a failure handler that fails transiently is retried, and the workflow still ends as a handled failure', () => {
  it('"Record file failure" throwing Transient once is retried: the file is recorded FAILED and the import fails as ImportFailed', async () => {
    const run = runWorkflow('import', ASL.import);
    const outcome = await run(scenarioThrough('import', 'Record file failure'), taskNamed('import', 'Record file failure'), (call) =>
      call === 1 ? new Transient('DynamoDB throttled the update') : undefined,
    );
    expect(outcome).toEqual({
      status: 'FAILED',
      error: 'ImportFailed',
      calls: 2,
      states: expect.arrayContaining(['Record file failure', 'Notify user', 'Import failed']),
    });
    expect(outcome.states).not.toContain('Handle import failure');
  });

  it('"Handle import failure" throwing Transient once is retried and the execution ends in "Import failed"', async () => {
    const run = runWorkflow('import', ASL.import);
    const outcome = await run(scenarioThrough('import', 'Handle import failure'), taskNamed('import', 'Handle import failure'), (call) =>
      call === 1 ? new Transient('SES throttled the alert') : undefined,
    );
    expect(outcome).toEqual({ status: 'FAILED', error: 'ImportFailed', calls: 2, states: expect.arrayContaining(['Handle import failure']) });
    expect(outcome.states.slice(-3)).toEqual(['Handle import failure', "Release the execution's slots", 'Import failed']);
  });

  it('"Handle export failure" throwing Transient once is retried and the execution ends in "Export failed"', async () => {
    const run = runWorkflow('export', ASL.export);
    const outcome = await run(scenarioThrough('export', 'Handle export failure'), taskNamed('export', 'Handle export failure'), (call) =>
      call === 1 ? new Transient('DynamoDB throttled the audit entry') : undefined,
    );
    expect(outcome).toEqual({ status: 'FAILED', error: 'ExportFailed', calls: 2, states: ['Record export request', 'Handle export failure', 'Export failed'] });
  });
});
