import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Transient, InvalidInput } from '../../core/errors';
import { loadStateMachineDefinition } from '../../infra/local/stepfunctions/definitions';
import { LocalStepFunctions, type LocalStepFunctionsOptions } from '../../infra/local/stepfunctions/service';
import type { ExportJob, ExportReport } from '../../core/export/job';

const STATEMACHINES_DIR = fileURLToPath(new URL('../../statemachines/', import.meta.url));
const EXPORT_ASL = `${STATEMACHINES_DIR}export.asl.yaml`;
const REGION = 'us-east-1';

type TaskFn = (payload: unknown) => Promise<unknown>;

const job = (delivery: ExportJob['delivery']): ExportJob => ({
  exportId: 'exp-1',
  requestedBy: { userId: 'u-alice', username: 'alice', email: 'alice@example.com', groups: [] },
  delivery,
  searchCriteria: { q: 'ferry', tags: ['boats'] },
  requestedAt: '2025-01-02T03:04:05.000Z',
});

const report: ExportReport = {
  bucket: 'exports',
  key: 'exports/exp-1.csv',
  rowCount: 42,
  bytes: 4200,
  expiresAt: '2025-01-05T03:04:05.000Z',
};

/**
 * The export state machine with in-memory task functions. The default waitForBrowserConnection plays
 * the WebSocket rendezvous: it answers the task token at once when the browser already connected,
 * otherwise it parks the token until `browserConnects` is called.
 */
const exportWorkflow = (
  overrides: Partial<Record<string, TaskFn>> = {},
  options: Partial<LocalStepFunctionsOptions> = {},
) => {
  const calls: { functionKey: string; payload: unknown }[] = [];
  const connections = new Map<string, string>();
  const parkedTokens = new Map<string, string>();
  const functions: Record<string, TaskFn> = {
    recordExportRequest: async () => ({ recorded: true }),
    generateCsvReport: async () => report,
    emailLinkToUser: async () => ({ messageId: 'm-1' }),
    waitForBrowserConnection: async (payload) => {
      const { taskToken, executionArn } = payload as { taskToken: string; executionArn: string };
      const connectionId = connections.get(executionArn);
      if (connectionId) {
        await service.sendTaskSuccess({ taskToken, output: JSON.stringify({ connectionId }) });
      } else {
        parkedTokens.set(executionArn, taskToken);
      }
      return { waiting: true };
    },
    pushLinkToBrowser: async () => ({ delivered: true }),
    recordExportSuccess: async (payload) => {
      const { executionArn, report: recorded } = payload as { executionArn: string; report: ExportReport };
      return { executionArn, report: recorded };
    },
    handleExportFailure: async () => ({ handled: true }),
    ...overrides,
  } as Record<string, TaskFn>;

  const service: LocalStepFunctions = new LocalStepFunctions({
    region: REGION,
    stateMachines: { 'ferry-export': EXPORT_ASL },
    invoke: async (functionKey, payload) => {
      calls.push({ functionKey, payload });
      const fn = functions[functionKey];
      if (!fn) throw new Error(`no fake for ${functionKey}`);
      return fn(payload);
    },
    retryIntervalScale: 0.001,
    ...options,
  });
  services.push(service);

  const executionArnOf = (name: string) => `arn:aws:states:${REGION}:000000000000:execution:ferry-export:${name}`;

  return {
    service,
    calls,
    callsTo: (functionKey: string) => calls.filter((call) => call.functionKey === functionKey).map((call) => call.payload),
    executionArnOf,
    browserConnectedBefore: (executionArn: string, connectionId: string) => connections.set(executionArn, connectionId),
    parkedToken: async (executionArn: string) => {
      await until(() => parkedTokens.has(executionArn));
      return parkedTokens.get(executionArn) ?? '';
    },
    /** Starts an export and waits for any terminal status. */
    run: async (input: ExportJob, name = 'export-1') => {
      const { executionArn } = await service.startExecution({
        stateMachineArn: service.stateMachineArn('ferry-export'),
        name,
        input: JSON.stringify(input),
      });
      return { executionArn, settled: service.executionSettled(executionArn) };
    },
    statesEntered: async (executionArn: string) => {
      const { events = [] } = await service.getExecutionHistory({ executionArn, maxResults: 1000 });
      return events.filter((event) => event.type?.endsWith('StateEntered')).map((event) => event.stateEnteredEventDetails?.name);
    },
    history: async (executionArn: string) => (await service.getExecutionHistory({ executionArn, maxResults: 1000 })).events ?? [],
  };
};

const services: LocalStepFunctions[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((service) => service.close()));
});

const until = async (condition: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

const PUSH_PREFIX = ['Record export request', 'Choose delivery', 'Generate CSV report while waiting for browser'];
const PUSH_BRANCHES = ['Generate CSV report for push', 'Wait for browser connection', 'Is the push report sliced?', 'Hand on the push report'];
const PUSH_SUFFIX = ['Push link to browser', 'Copy push report', 'Record export success'];

describe('export.asl.yaml', () => {
  it('a direct export generates the report and records success', async () => {
    const workflow = exportWorkflow();
    const { executionArn, settled } = await workflow.run(job('direct'));
    const result = await settled;

    expect(result.status).toBe('SUCCEEDED');
    expect(JSON.parse(result.output ?? 'null')).toEqual({ executionArn, report });
    expect(await workflow.statesEntered(executionArn)).toEqual([
      'Record export request',
      'Choose delivery',
      'Generate CSV report',
      'Is the report sliced?',
      'Record export success',
    ]);
    expect(workflow.callsTo('generateCsvReport')).toEqual([job('direct')]);
  });

  it('an email export mails the link to the user with the report', async () => {
    const workflow = exportWorkflow();
    const { executionArn, settled } = await workflow.run(job('email'));

    expect((await settled).status).toBe('SUCCEEDED');
    expect(await workflow.statesEntered(executionArn)).toEqual([
      'Record export request',
      'Choose delivery',
      'Generate CSV report for email',
      'Is the email report sliced?',
      'Email link to user',
      'Record export success',
    ]);
    expect(workflow.callsTo('emailLinkToUser')).toEqual([{ ...job('email'), report }]);
  });

  it('a push export reaches a browser that connected before the wait started', async () => {
    const workflow = exportWorkflow();
    const executionArn = workflow.executionArnOf('push-early');
    workflow.browserConnectedBefore(executionArn, 'conn-early');
    const { settled } = await workflow.run(job('push'), 'push-early');

    expect((await settled).status).toBe('SUCCEEDED');
    expect(await workflow.statesEntered(executionArn)).toEqual([...PUSH_PREFIX, ...PUSH_BRANCHES, ...PUSH_SUFFIX]);
    expect(workflow.callsTo('waitForBrowserConnection')).toEqual([{ taskToken: expect.any(String), executionArn }]);
    expect(workflow.callsTo('pushLinkToBrowser')).toEqual([
      { executionArn, exportId: 'exp-1', requestedBy: job('push').requestedBy, connectionId: 'conn-early', report },
    ]);
  });

  it('a push export reaches a browser that connects after the wait started', async () => {
    const workflow = exportWorkflow();
    const { executionArn, settled } = await workflow.run(job('push'), 'push-late');
    const taskToken = await workflow.parkedToken(executionArn);
    expect((await workflow.service.describeExecution({ executionArn })).status).toBe('RUNNING');

    await workflow.service.sendTaskSuccess({ taskToken, output: JSON.stringify({ connectionId: 'conn-late' }) });

    expect((await settled).status).toBe('SUCCEEDED');
    expect(await workflow.statesEntered(executionArn)).toEqual([...PUSH_PREFIX, ...PUSH_BRANCHES, ...PUSH_SUFFIX]);
    expect(workflow.callsTo('pushLinkToBrowser')).toMatchObject([{ connectionId: 'conn-late', report }]);
  });

  it('a push export still succeeds when the browser never connects, and the stale token times out', async () => {
    // 900 s × 0.0005 = 0.45 s.
    const workflow = exportWorkflow({}, { timeoutScale: 0.0005 });
    const { executionArn, settled } = await workflow.run(job('push'), 'push-never');
    const taskToken = await workflow.parkedToken(executionArn);

    const result = await settled;
    expect(result.status).toBe('SUCCEEDED');
    expect(await workflow.statesEntered(executionArn)).toEqual([
      ...PUSH_PREFIX,
      ...PUSH_BRANCHES,
      'Browser did not connect',
      ...PUSH_SUFFIX,
    ]);
    expect(workflow.callsTo('pushLinkToBrowser')).toMatchObject([{ connectionId: null, report }]);
    expect(JSON.parse(result.output ?? 'null')).toEqual({ executionArn, report });
    await expect(
      workflow.service.sendTaskSuccess({ taskToken, output: JSON.stringify({ connectionId: 'too-late' }) }),
    ).rejects.toMatchObject({ name: 'TaskTimedOut' });
  });

  it('a Transient failure of "Generate CSV report" is retried, then the export succeeds', async () => {
    let attempts = 0;
    const workflow = exportWorkflow({
      generateCsvReport: async () => {
        attempts += 1;
        if (attempts < 3) throw new Transient(`search cluster busy (attempt ${attempts})`);
        return report;
      },
    });
    const { executionArn, settled } = await workflow.run(job('direct'));

    expect((await settled).status).toBe('SUCCEEDED');
    expect(await workflow.statesEntered(executionArn)).toEqual([
      'Record export request',
      'Choose delivery',
      'Generate CSV report',
      'Is the report sliced?',
      'Record export success',
    ]);
    const failures = (await workflow.history(executionArn)).filter((event) => event.type === 'TaskFailed');
    expect(failures.map((event) => event.taskFailedEventDetails)).toMatchObject([
      { error: 'Transient', cause: 'search cluster busy (attempt 1)' },
      { error: 'Transient', cause: 'search cluster busy (attempt 2)' },
    ]);
    expect(attempts).toBe(3);
  });

  it('a permanent failure goes to "Handle export failure" with the job and the failure, and the export fails', async () => {
    const workflow = exportWorkflow({
      generateCsvReport: async () => {
        throw new InvalidInput('tags must be an array', 'tags');
      },
    });
    const { executionArn, settled } = await workflow.run(job('direct'));
    const result = await settled;

    expect(result).toMatchObject({
      status: 'FAILED',
      error: 'ExportFailed',
      cause: 'The export could not be completed; the user and the admins were told.',
    });
    expect(await workflow.statesEntered(executionArn)).toEqual([
      'Record export request',
      'Choose delivery',
      'Generate CSV report',
      'Handle export failure',
      'Export failed',
    ]);
    const failure = { Error: 'InvalidInput', Cause: 'tags must be an array' };
    expect(workflow.callsTo('handleExportFailure')).toEqual([
      { executionArn, job: { ...job('direct'), failure }, failure },
    ]);
    expect(workflow.callsTo('generateCsvReport')).toHaveLength(1);
  });

  it('a Transient failure that outlasts its retries goes to "Handle export failure"', async () => {
    const workflow = exportWorkflow({
      generateCsvReport: async () => {
        throw new Transient('search cluster down');
      },
    });
    const { executionArn, settled } = await workflow.run(job('email'));

    expect(await settled).toMatchObject({ status: 'FAILED', error: 'ExportFailed' });
    // One attempt plus MaxAttempts: 4 retries.
    expect(workflow.callsTo('generateCsvReport')).toHaveLength(5);
    expect(workflow.callsTo('handleExportFailure')).toMatchObject([
      { executionArn, failure: { Error: 'Transient', Cause: 'search cluster down' } },
    ]);
    expect(await workflow.statesEntered(executionArn)).toEqual([
      'Record export request',
      'Choose delivery',
      'Generate CSV report for email',
      'Handle export failure',
      'Export failed',
    ]);
  });

  it('a failure inside the push branch reaches the catch path and releases the browser wait', async () => {
    const workflow = exportWorkflow({
      // Fails once the other branch's browser wait has started (its task token is parked).
      generateCsvReport: async () => {
        await workflow.parkedToken(workflow.executionArnOf('push-broken'));
        throw new InvalidInput('unknown column', 'columns');
      },
    });
    const { executionArn, settled } = await workflow.run(job('push'), 'push-broken');
    const taskToken = await workflow.parkedToken(executionArn);

    expect(await settled).toMatchObject({ status: 'FAILED', error: 'ExportFailed' });
    expect(await workflow.statesEntered(executionArn)).toEqual([
      ...PUSH_PREFIX,
      'Generate CSV report for push',
      'Wait for browser connection',
      'Handle export failure',
      'Export failed',
    ]);
    expect(workflow.callsTo('handleExportFailure')).toMatchObject([
      { executionArn, failure: { Error: 'InvalidInput', Cause: 'unknown column' } },
    ]);
    expect(workflow.callsTo('pushLinkToBrowser')).toEqual([]);
    await expect(
      workflow.service.sendTaskSuccess({ taskToken, output: JSON.stringify({ connectionId: 'c' }) }),
    ).rejects.toMatchObject({ name: 'TaskTimedOut' });
  });
});

/** A sliced export: "Generate CSV report" asks for slices, the plan cuts three. */
const sliceRequest = { sliced: true, totalRows: 300 };
const slicing = {
  bucket: 'exports',
  key: 'exports/u-alice/exp-1.csv',
  uploadId: 'up-1',
  totalRows: 300,
  partsPerSlice: 3333,
  maxConcurrency: 2,
  slices: [
    { slice: 0, range: { after: { createdMs: 3_000, id: '' }, through: { createdMs: 2_000, id: 'p-200' } } },
    { slice: 1, range: { after: { createdMs: 2_000, id: 'p-200' }, through: { createdMs: 1_000, id: 'p-100' } } },
    { slice: 2, range: { after: { createdMs: 1_000, id: 'p-100' } } },
  ],
};
const writtenBy = (slice: number) => ({ slice, rows: 100, bytes: 6_000_000, parts: 1 });
const written = [writtenBy(0), writtenBy(1), writtenBy(2)];
const SLICED = ["Plan the export's slices", 'Write each slice', 'Write one slice', 'Write one slice', 'Write one slice', 'Assemble the export file', 'Deliver the assembled file'];

/** The slice tasks: each returns what its slice wrote; `failSlice` decides per call whether a slice throws instead. */
const slicedTasks = (failSlice: (slice: number, call: number) => Error | undefined = () => undefined) => {
  const calls = new Map<number, number>();
  return {
    generateCsvReport: async () => sliceRequest,
    planExportSlices: async () => slicing,
    writeExportSlice: async (payload: unknown) => {
      const { slice } = (payload as { slice: { slice: number } }).slice;
      const call = (calls.get(slice) ?? 0) + 1;
      calls.set(slice, call);
      const error = failSlice(slice, call);
      if (error) throw error;
      return writtenBy(slice);
    },
    assembleExportFile: async () => report,
  };
};

const sliceCalls = (calls: unknown[]) => calls.map((payload) => (payload as { slice: { slice: number } }).slice.slice).sort();

describe('export.asl.yaml: sliced exports', () => {
  it('a small export stays one task: no planning, no slices', async () => {
    const workflow = exportWorkflow();
    const { executionArn, settled } = await workflow.run(job('direct'));
    expect((await settled).status).toBe('SUCCEEDED');
    expect(await workflow.statesEntered(executionArn)).toEqual(['Record export request', 'Choose delivery', 'Generate CSV report', 'Is the report sliced?', 'Record export success']);
    expect(workflow.callsTo('planExportSlices')).toEqual([]);
    expect(workflow.callsTo('writeExportSlice')).toEqual([]);
  });

  it('a large direct export plans its slices, writes each with the job and its slice, and assembles what they wrote', async () => {
    const workflow = exportWorkflow(slicedTasks());
    const { executionArn, settled } = await workflow.run(job('direct'));
    const result = await settled;

    expect(result.status).toBe('SUCCEEDED');
    expect(JSON.parse(result.output ?? 'null')).toEqual({ executionArn, report });
    expect(await workflow.statesEntered(executionArn)).toEqual([
      'Record export request',
      'Choose delivery',
      'Generate CSV report',
      'Is the report sliced?',
      ...SLICED,
      'Record export success',
    ]);
    const planned = { ...job('direct'), report: sliceRequest };
    expect(workflow.callsTo('planExportSlices')).toEqual([planned]);
    const withPlan = { ...planned, slicing };
    expect(workflow.callsTo('writeExportSlice').sort((a, b) => sliceCalls([a])[0]! - sliceCalls([b])[0]!)).toEqual(
      slicing.slices.map((slice) => ({ job: withPlan, slice })),
    );
    expect(workflow.callsTo('assembleExportFile')).toEqual([{ ...planned, slicing: { ...slicing, written } }]);
    expect(workflow.callsTo('recordExportSuccess')).toMatchObject([{ report }]);
  });

  it('an email export assembles its slices, then mails the link', async () => {
    const workflow = exportWorkflow(slicedTasks());
    const { executionArn, settled } = await workflow.run(job('email'));
    expect((await settled).status).toBe('SUCCEEDED');
    expect(await workflow.statesEntered(executionArn)).toEqual([
      'Record export request',
      'Choose delivery',
      'Generate CSV report for email',
      'Is the email report sliced?',
      ...SLICED,
      'Email link to user',
      'Record export success',
    ]);
    expect(workflow.callsTo('emailLinkToUser')).toMatchObject([{ report }]);
  });

  it('a push export slices inside its branch while the browser wait goes on, and pushes the assembled report', async () => {
    const workflow = exportWorkflow(slicedTasks());
    const executionArn = workflow.executionArnOf('push-sliced');
    workflow.browserConnectedBefore(executionArn, 'conn-1');
    const { settled } = await workflow.run(job('push'), 'push-sliced');
    expect((await settled).status).toBe('SUCCEEDED');
    const entered = await workflow.statesEntered(executionArn);
    expect(entered.filter((name) => name?.includes('push export'))).toEqual([
      "Plan the push export's slices",
      'Write each slice of the push export',
      'Write one slice of the push export',
      'Write one slice of the push export',
      'Write one slice of the push export',
      'Assemble the push export file',
    ]);
    expect(entered.slice(-3)).toEqual(PUSH_SUFFIX);
    expect(workflow.callsTo('pushLinkToBrowser')).toEqual([{ executionArn, exportId: 'exp-1', requestedBy: job('push').requestedBy, connectionId: 'conn-1', report }]);
  });

  it('a slice that fails once is retried alone: the other slices run once, and the export succeeds', async () => {
    const workflow = exportWorkflow(slicedTasks((slice, call) => (slice === 1 && call === 1 ? new Transient('OpenSearch 503') : undefined)));
    const { executionArn, settled } = await workflow.run(job('direct'));
    expect((await settled).status).toBe('SUCCEEDED');
    expect(sliceCalls(workflow.callsTo('writeExportSlice'))).toEqual([0, 1, 1, 2]);
    expect(workflow.callsTo('planExportSlices')).toHaveLength(1);
    expect(workflow.callsTo('assembleExportFile')).toMatchObject([{ slicing: { written } }]);
    const failures = (await workflow.history(executionArn)).filter((event) => event.type === 'TaskFailed');
    expect(failures.map((event) => event.taskFailedEventDetails)).toMatchObject([{ error: 'Transient', cause: 'OpenSearch 503' }]);
  });

  it('a slice cut off (its Lambda timed out) runs again with the same input, so it resumes from its parts', async () => {
    const cutOff = Object.assign(new Error('Task timed out after 900.00 seconds'), { name: 'States.Timeout' });
    const workflow = exportWorkflow(slicedTasks((slice, call) => (slice === 2 && call === 1 ? cutOff : undefined)));
    const { settled } = await workflow.run(job('direct'));
    expect((await settled).status).toBe('SUCCEEDED');
    const slice2 = workflow.callsTo('writeExportSlice').filter((payload) => sliceCalls([payload])[0] === 2);
    expect(slice2).toHaveLength(2);
    expect(slice2[1]).toEqual(slice2[0]);
  });

  it('a slice that keeps failing fails the export through "Handle export failure", with the plan (its upload) in the state', async () => {
    const workflow = exportWorkflow(slicedTasks((slice) => (slice === 0 ? new InvalidInput('Slice 0 needs more than its 3333 parts', 'slices') : undefined)));
    const { executionArn, settled } = await workflow.run(job('direct'));
    expect(await settled).toMatchObject({ status: 'FAILED', error: 'ExportFailed' });
    const entered = await workflow.statesEntered(executionArn);
    expect(entered.slice(-2)).toEqual(['Handle export failure', 'Export failed']);
    expect(entered).not.toContain('Assemble the export file');
    const failure = { Error: 'InvalidInput', Cause: 'Slice 0 needs more than its 3333 parts' };
    expect(workflow.callsTo('handleExportFailure')).toEqual([
      { executionArn, job: { ...job('direct'), report: sliceRequest, slicing, failure }, failure },
    ]);
  });
});

describe('every workflow definition', () => {
  const aslFiles = readdirSync(STATEMACHINES_DIR).filter((file) => file.endsWith('.asl.yaml'));
  // The failure handlers are the end of the line: nothing is left to catch their own failure.
  const isFailureHandler = (stateName: string) => /failure/i.test(stateName);

  interface State {
    Type: string;
    Retry?: unknown[];
    Catch?: { ErrorEquals: string[] }[];
    Branches?: { States: Record<string, State> }[];
    Iterator?: { States: Record<string, State> };
    ItemProcessor?: { States: Record<string, State> };
  }

  /** Every Task, with whether it or a Parallel/Map around it catches every error (States.ALL). */
  const tasksOf = (states: Record<string, State>, caughtByEnclosing = false): { name: string; state: State; caught: boolean }[] =>
    Object.entries(states).flatMap(([name, state]) => {
      const catchesAll = (state.Catch ?? []).some((catcher) => catcher.ErrorEquals.includes('States.ALL'));
      const children = [...(state.Branches ?? []), ...(state.Iterator ? [state.Iterator] : []), ...(state.ItemProcessor ? [state.ItemProcessor] : [])];
      const own = state.Type === 'Task' ? [{ name, state, caught: caughtByEnclosing || catchesAll }] : [];
      return [...own, ...children.flatMap((child) => tasksOf(child.States, caughtByEnclosing || catchesAll))];
    });

  it.each(aslFiles)('%s: every Task but the failure handlers has a Retry and a Catch for every error', (file) => {
    const definition = loadStateMachineDefinition(`${STATEMACHINES_DIR}${file}`, { region: REGION });
    const tasks = tasksOf(definition.States as unknown as Record<string, State>).filter((task) => !isFailureHandler(task.name));

    expect(tasks.length).toBeGreaterThan(0);
    const unguarded = tasks.filter((task) => !task.state.Retry?.length || !task.caught).map((task) => task.name);
    expect(unguarded).toEqual([]);
  });
});
