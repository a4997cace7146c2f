/**
 * A local Step Functions service: runs the ASL files with aws-local-stepfunctions and speaks the
 * Step Functions API shapes (the @aws-sdk/client-sfn input/output types), so http.ts can serve it to an
 * unmodified SFNClient. Knows nothing about Ferry: tasks call `invoke(functionKey, payload)`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StateMachine, ExecutionAbortedError, ExecutionError, ExecutionTimeoutError } from 'aws-local-stepfunctions';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import type {
  DescribeExecutionInput,
  DescribeExecutionOutput,
  ExecutionListItem,
  ExecutionStatus,
  GetExecutionHistoryInput,
  GetExecutionHistoryOutput,
  HistoryEvent,
  ListExecutionsInput,
  ListExecutionsOutput,
  SendTaskFailureInput,
  SendTaskHeartbeatInput,
  SendTaskSuccessInput,
  StartExecutionInput,
  StartExecutionOutput,
  StopExecutionInput,
  StopExecutionOutput,
} from '@aws-sdk/client-sfn';
import { DEFAULT_ACCOUNT_ID, functionKeyOf, loadStateMachineDefinition, localLambdaArn } from './definitions';

/** One execution's record writes (see save). */
interface RecordWrites {
  dirty: boolean;
  writing?: Promise<void>;
  /** Changes saved so far, and how many of them are on disk. */
  changed: number;
  written: number;
  waiters: { version: number; resolve: () => void }[];
}
/** How long a changed execution record waits to be written, so the events of a burst share one write. */
const RECORD_WRITE_DELAY_MS = 20;

export interface LocalStepFunctionsOptions {
  region: string;
  /** Used in state machine, execution and Lambda ARNs. Default 000000000000. */
  accountId?: string;
  /** State machine name → path of its ASL YAML file. */
  stateMachines: Record<string, string>;
  /** Runs a Lambda function (serverless.yml function key) with a JSON payload and returns its result. */
  invoke: (functionKey: string, payload: unknown) => Promise<unknown>;
  /**
   * Authorises a Task's invocation as its state machine's role before it runs (local IAM); a throw fails
   * the Task with that error, as Lambda's AccessDeniedException does in AWS. Default: every invoke allowed.
   */
  authorizeInvoke?: (stateMachineName: string, functionArn: string) => void;
  /** Where execution records are kept across restarts; in memory only when absent. */
  storeDir?: string;
  /** Multiplies every Retry IntervalSeconds/MaxDelaySeconds (tests use e.g. 0.001). Default 1. */
  retryIntervalScale?: number;
  /** Multiplies every TimeoutSeconds/HeartbeatSeconds, state machine and Task level. Default 1. */
  timeoutScale?: number;
}

/** A Step Functions API error; `name` is the AWS error code (`__type` on the wire). */
export class StepFunctionsError extends Error {
  constructor(code: string, message: string) {
    super(message);
    this.name = code;
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type TaskKind = 'lambda' | 'lambda:invoke' | 'lambda:invoke.waitForTaskToken';

interface TaskSpec {
  stateName: string;
  kind: TaskKind;
  /** The Lambda ARN for `lambda` tasks; the integration ARN otherwise. */
  resource: string;
  timeoutMs?: number;
  heartbeatMs?: number;
  /** TimeoutSecondsPath of a callback task: its value arrives in the Parameters under TIMEOUT_PARAMETER (see prepareTask). */
  timeoutFromInput?: { scale: number };
}

/**
 * AWS reads a Task's TimeoutSecondsPath from the state's input; aws-local-stepfunctions reads it after Parameters.
 * A callback task's path is therefore carried through its Parameters under this name, and the service times the wait.
 */
const TIMEOUT_PARAMETER = '__ferryTimeoutSeconds';

interface LoadedStateMachine {
  name: string;
  arn: string;
  runtime: StateMachine;
  tasks: Map<string, TaskSpec>;
  /** Parallel/Map state name → every state nested inside it, to release task tokens of lost branches. */
  nestedStates: Map<string, Set<string>>;
  /** The runtime definition, from which resumed runs derive one with another StartAt. */
  definition: StatesContainer & { StartAt: string };
  /** Top-level state name → a runtime that starts there (built on first resume). */
  resumeRuntimes: Map<string, StateMachine>;
  /** States inside a Map: their task tokens are per item, so a resumed run issues fresh ones. */
  inMap: Set<string>;
}

/** What is persisted per execution; dates are epoch milliseconds. */
interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  stateMachineName: string;
  name: string;
  status: ExecutionStatus;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  startDate: number;
  stopDate?: number;
  redriveCount: number;
  redriveDate?: number;
  history: StoredHistoryEvent[];
  /** The last top-level state entered and its input: where a run interrupted by a crash resumes. */
  resumeAt?: { stateName: string; input: string };
  /** Task tokens of waiting Task states (not inside a Map), by state name, reused when the run resumes. */
  taskTokens?: Record<string, string>;
}

/** What DescribeExecution and ListExecutions both say of an execution. */
const summaryOf = (record: ExecutionRecord): ExecutionListItem => ({
  executionArn: record.executionArn,
  stateMachineArn: record.stateMachineArn,
  name: record.name,
  status: record.status,
  startDate: new Date(record.startDate),
  ...(record.stopDate !== undefined && { stopDate: new Date(record.stopDate) }),
  redriveCount: record.redriveCount,
  ...(record.redriveDate !== undefined && { redriveDate: new Date(record.redriveDate) }),
});

type StoredHistoryEvent = Omit<HistoryEvent, 'timestamp'> & { timestamp: number };

interface Run {
  /** Distinguishes a redriven run from the one before it, whose late events are ignored. */
  id: number;
  abort: () => void;
}

interface PendingTask {
  executionArn: string;
  runId: number;
  stateName: string;
  createdAt: number;
  succeed: (output: Json) => void;
  fail: (error: Error) => void;
  heartbeat: () => void;
}

const TASK_TOKEN_PLACEHOLDER = '__local_stepfunctions_task_token__';
/** aws-local-stepfunctions gives Tasks without TimeoutSeconds 60 s; AWS gives them a year. setTimeout caps near 24.8 days. */
const NO_TIMEOUT_SECONDS = 2_000_000;
const INTERRUPTED_CAUSE = 'interrupted by local stack restart, and its state machine is no longer defined';
/** Step Functions' 256 KB quota on execution input, state input/output and task results (UTF-8 bytes). */
const PAYLOAD_LIMIT_BYTES = 262_144;
const TERMINAL: ReadonlySet<ExecutionStatus> = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);
// AWS refuses control characters in execution names, so the rule names them.
// eslint-disable-next-line no-control-regex
const INVALID_NAME = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;

/** Raised into a task whose wait was abandoned (lost Parallel branch, stopped execution): never retried or caught. */
class TaskAbandoned extends Error {
  override name = 'States.Runtime';
  readonly isRetryable = false;
  readonly isCatchable = false;
}

const namedError = (name: string, message: string): Error => Object.assign(new Error(message), { name });

export class LocalStepFunctions {
  readonly region: string;
  readonly accountId: string;
  private readonly invoke: LocalStepFunctionsOptions['invoke'];
  private readonly authorizeInvoke: NonNullable<LocalStepFunctionsOptions['authorizeInvoke']>;
  private readonly storeDir?: string;
  private readonly machines = new Map<string, LoadedStateMachine>();
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly runs = new Map<string, Run>();
  private readonly pendingTasks = new Map<string, PendingTask>();
  private readonly settledWaiters = new Map<string, (() => void)[]>();
  private runCounter = 0;
  private closed = false;
  /** Per execution: whether its record changed since its last write began, the write under way, and who waits for it. */
  private readonly writes = new Map<string, RecordWrites>();
  private writeCounter = 0;
  /** Executions found RUNNING in the store at start-up, until resumeInterrupted() runs them again. */
  private readonly interrupted: ExecutionRecord[] = [];

  constructor(options: LocalStepFunctionsOptions) {
    this.region = options.region;
    this.accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
    this.invoke = options.invoke;
    this.authorizeInvoke = options.authorizeInvoke ?? (() => undefined);
    this.storeDir = options.storeDir;
    for (const [name, aslPath] of Object.entries(options.stateMachines)) {
      const definition = loadStateMachineDefinition(aslPath, { region: this.region, accountId: this.accountId });
      this.machines.set(name, this.prepare(name, definition, options.retryIntervalScale ?? 1, options.timeoutScale ?? 1));
    }
    this.loadStore();
  }

  stateMachineArn(name: string): string {
    return `arn:aws:states:${this.region}:${this.accountId}:stateMachine:${name}`;
  }

  async startExecution(request: StartExecutionInput): Promise<StartExecutionOutput & { executionArn: string; startDate: Date }> {
    const machine = this.machineByArn(request.stateMachineArn);
    const name = request.name ?? randomUUID();
    if (name.length < 1 || name.length > 80 || INVALID_NAME.test(name)) {
      throw new StepFunctionsError('InvalidName', `Invalid Name: '${name}'`);
    }
    const input = request.input ?? '{}';
    if (Buffer.byteLength(input) > PAYLOAD_LIMIT_BYTES) {
      throw new StepFunctionsError(
        'InvalidExecutionInput',
        `Invalid State Machine Execution Input: the input is larger than ${PAYLOAD_LIMIT_BYTES} bytes`,
      );
    }
    try {
      JSON.parse(input);
    } catch {
      throw new StepFunctionsError('InvalidExecutionInput', 'Invalid State Machine Execution Input: the input is not valid JSON');
    }
    const executionArn = `arn:aws:states:${this.region}:${this.accountId}:execution:${machine.name}:${name}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      // Like AWS: the same name and input while running is idempotent; anything else is a conflict.
      if (existing.status === 'RUNNING' && existing.input === input) {
        return { executionArn, startDate: new Date(existing.startDate) };
      }
      throw new StepFunctionsError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const record: ExecutionRecord = {
      executionArn,
      stateMachineArn: machine.arn,
      stateMachineName: machine.name,
      name,
      status: 'RUNNING',
      input,
      startDate: Date.now(),
      redriveCount: 0,
      history: [],
    };
    this.executions.set(executionArn, record);
    this.appendEvent(record, {
      type: 'ExecutionStarted',
      executionStartedEventDetails: { input, inputDetails: { truncated: false } },
    });
    this.startRun(record, machine);
    return { executionArn, startDate: new Date(record.startDate) };
  }

  async describeExecution(request: DescribeExecutionInput): Promise<DescribeExecutionOutput> {
    const record = this.executionByArn(request.executionArn);
    const described: DescribeExecutionOutput = {
      ...summaryOf(record),
      input: record.input,
      inputDetails: { included: true },
      ...(record.output !== undefined && { output: record.output, outputDetails: { included: true } }),
      ...(record.error !== undefined && { error: record.error }),
      ...(record.cause !== undefined && { cause: record.cause }),
      redriveStatus: this.isRedrivable(record) ? 'REDRIVABLE' : 'NOT_REDRIVABLE',
    };
    await this.persisted(record.executionArn);
    return described;
  }

  /** Newest first, like AWS; executions started in the same millisecond keep their start order, reversed. */
  async listExecutions(request: ListExecutionsInput): Promise<ListExecutionsOutput> {
    const machine = this.machineByArn(request.stateMachineArn);
    const matching = [...this.executions.values()]
      .reverse()
      .filter((record) => record.stateMachineName === machine.name)
      .filter((record) => !request.statusFilter || record.status === request.statusFilter)
      .sort((a, b) => b.startDate - a.startDate);
    const { items, nextToken } = paginate(matching, request.maxResults, request.nextToken);
    const executions: ExecutionListItem[] = items.map(summaryOf);
    return { executions, ...(nextToken && { nextToken }) };
  }

  async getExecutionHistory(request: GetExecutionHistoryInput): Promise<GetExecutionHistoryOutput> {
    const record = this.executionByArn(request.executionArn);
    const ordered = request.reverseOrder ? [...record.history].reverse() : record.history;
    const { items, nextToken } = paginate(ordered, request.maxResults, request.nextToken);
    const withData = request.includeExecutionData ?? true;
    const events = items.map((event) => toHistoryEvent(event, withData));
    await this.persisted(record.executionArn);
    return { events, ...(nextToken && { nextToken }) };
  }

  async sendTaskSuccess(request: SendTaskSuccessInput): Promise<Record<string, never>> {
    const task = this.pendingTask(request.taskToken);
    let output: Json;
    try {
      output = JSON.parse(request.output ?? '') as Json;
    } catch {
      throw new StepFunctionsError('InvalidOutput', 'Invalid Output: the output is not valid JSON');
    }
    task.succeed(output);
    return {};
  }

  async sendTaskFailure(request: SendTaskFailureInput): Promise<Record<string, never>> {
    this.pendingTask(request.taskToken).fail(namedError(request.error ?? '', request.cause ?? ''));
    return {};
  }

  async sendTaskHeartbeat(request: SendTaskHeartbeatInput): Promise<Record<string, never>> {
    this.pendingTask(request.taskToken).heartbeat();
    return {};
  }

  async stopExecution(request: StopExecutionInput): Promise<StopExecutionOutput> {
    const record = this.executionByArn(request.executionArn);
    if (record.status !== 'RUNNING') return { stopDate: new Date(record.stopDate ?? Date.now()) };
    this.finish(record, {
      status: 'ABORTED',
      ...(request.error !== undefined && { error: request.error }),
      ...(request.cause !== undefined && { cause: request.cause }),
    });
    return { stopDate: new Date(record.stopDate ?? Date.now()) };
  }

  /** Resolves once the execution reaches a terminal status (SUCCEEDED, FAILED, TIMED_OUT, ABORTED). */
  async executionSettled(executionArn: string): Promise<DescribeExecutionOutput> {
    const record = this.executionByArn(executionArn);
    if (!TERMINAL.has(record.status)) {
      await new Promise<void>((resolve) => {
        this.settledWaiters.set(executionArn, [...(this.settledWaiters.get(executionArn) ?? []), resolve]);
      });
    }
    return this.describeExecution({ executionArn });
  }

  /**
   * Runs again every execution that was RUNNING when the previous service over this storeDir stopped
   * (a crash, a kill, close()): from the last top-level state it entered, with that state's input, so
   * the interrupted Task is rerun. Call it once the functions the tasks invoke can run.
   */
  resumeInterrupted(): string[] {
    const resumed: string[] = [];
    for (const record of this.interrupted.splice(0)) {
      const machine = this.machines.get(record.stateMachineName);
      if (record.status !== 'RUNNING' || !machine) continue;
      this.startRun(record, machine, record.resumeAt);
      resumed.push(record.executionArn);
    }
    return resumed;
  }

  /**
   * Stops running work without recording an outcome, as a crash would: executions still RUNNING stay so
   * on disk, and the next service over the same storeDir resumes them (resumeInterrupted).
   */
  async close(): Promise<void> {
    this.closed = true;
    // What the records say now is what the next service resumes from: snapshot the changed ones before aborting.
    const last = [...this.writes].flatMap(([executionArn, state]) => {
      const record = this.executions.get(executionArn);
      return state.dirty && record ? [{ executionArn, json: JSON.stringify(record), writing: state.writing }] : [];
    });
    for (const task of this.pendingTasks.values()) task.fail(new TaskAbandoned('the local Step Functions service closed'));
    for (const run of this.runs.values()) run.abort();
    this.runs.clear();
    await Promise.all(
      last.map(async ({ executionArn, json, writing }) => {
        await writing;
        await this.writeRecord(executionArn, json);
      }),
    );
    await Promise.all([...this.writes.values()].map((state) => state.writing));
    for (const state of this.writes.values()) this.markWritten(state, state.changed);
  }

  private prepare(name: string, definition: StateMachineDefinition, retryScale: number, timeoutScale: number): LoadedStateMachine {
    // Validate the definition as written; the runtime copy carries scaled (possibly fractional) numbers.
    new StateMachine(definition, { validationOptions: { checkArn: true, checkPaths: true } });
    const runtimeDefinition = structuredClone(definition) as unknown as StatesContainer & { TimeoutSeconds?: number };
    const tasks = new Map<string, TaskSpec>();
    const nestedStates = new Map<string, Set<string>>();
    if (runtimeDefinition.TimeoutSeconds !== undefined) runtimeDefinition.TimeoutSeconds *= timeoutScale;

    const inMap = new Set<string>();
    const visit = (container: StatesContainer, enclosing: string[], insideMap: boolean): void => {
      for (const [stateName, state] of Object.entries(container.States)) {
        for (const outer of enclosing) nestedStates.get(outer)?.add(stateName);
        if (insideMap) inMap.add(stateName);
        for (const retrier of state.Retry ?? []) {
          retrier.IntervalSeconds = (retrier.IntervalSeconds ?? 1) * retryScale;
          if (retrier.MaxDelaySeconds !== undefined) retrier.MaxDelaySeconds *= retryScale;
        }
        if (state.Type === 'Task') tasks.set(stateName, prepareTask(stateName, state, timeoutScale));
        const children = [
          ...(state.Branches ?? []),
          ...(state.Iterator ? [state.Iterator] : []),
          ...(state.ItemProcessor ? [state.ItemProcessor] : []),
        ];
        if (children.length > 0) {
          nestedStates.set(stateName, new Set());
          for (const child of children) visit(child, [...enclosing, stateName], insideMap || state.Type === 'Map');
        }
      }
    };
    visit(runtimeDefinition, [], false);
    return {
      name,
      arn: this.stateMachineArn(name),
      runtime: new StateMachine(runtimeDefinition as unknown as StateMachineDefinition, { validationOptions: { noValidate: true } }),
      tasks,
      nestedStates,
      definition: runtimeDefinition as StatesContainer & { StartAt: string },
      resumeRuntimes: new Map(),
      inMap,
    };
  }

  /** The same definition with StartAt moved to a top-level state: the single ASL source, entered part way. */
  private runtimeStartingAt(machine: LoadedStateMachine, stateName: string): StateMachine {
    let runtime = machine.resumeRuntimes.get(stateName);
    if (!runtime) {
      const derived = { ...machine.definition, StartAt: stateName };
      runtime = new StateMachine(derived as unknown as StateMachineDefinition, { validationOptions: { noValidate: true } });
      machine.resumeRuntimes.set(stateName, runtime);
    }
    return runtime;
  }

  private startRun(record: ExecutionRecord, machine: LoadedStateMachine, resumeAt?: ExecutionRecord['resumeAt']): void {
    const runId = ++this.runCounter;
    const resumedTokens = new Map(Object.entries(resumeAt ? (record.taskTokens ?? {}) : {}));
    if (!resumeAt) delete record.taskTokens;
    // Registered before run(): the library calls the first Task's handler synchronously.
    const run: Run = { id: runId, abort: () => undefined };
    this.runs.set(record.executionArn, run);
    const taskResourceLocalHandlers = Object.fromEntries(
      [...machine.tasks.values()].map((task) => [
        task.stateName,
        (input: unknown) => this.runTask(record.executionArn, runId, task, input, resumedTokens) as Promise<never>,
      ]),
    );
    const runtime =
      resumeAt && resumeAt.stateName in machine.definition.States ? this.runtimeStartingAt(machine, resumeAt.stateName) : machine.runtime;
    const execution = runtime.run(JSON.parse(resumeAt?.input ?? record.input) as Json as never, {
      overrides: { taskResourceLocalHandlers },
      context: {
        Execution: { Id: record.executionArn, Name: record.name, StartTime: new Date(record.startDate).toISOString() },
        StateMachine: { Id: machine.arn, Name: machine.name },
        // Each waitForTaskToken task swaps this for a fresh token of its own (see runTask).
        Task: { Token: TASK_TOKEN_PLACEHOLDER },
      },
    });
    run.abort = execution.abort;
    const isCurrent = () => !this.closed && this.runs.get(record.executionArn)?.id === runId;

    const historyRecorded = (async () => {
      for await (const logged of execution.eventLogs) {
        const event = logged as LibraryEvent;
        if (!isCurrent() || record.status !== 'RUNNING') continue;
        const overLimit = dataOverLimit(event);
        if (overLimit) {
          this.finish(record, { status: 'FAILED', error: 'States.DataLimitExceeded', cause: overLimit });
          run.abort();
          continue;
        }
        if (event.type === 'StateEntered' && event.state && event.state.name in machine.definition.States) {
          record.resumeAt = { stateName: event.state.name, input: JSON.stringify(event.state.input ?? null) };
        }
        const historyEvent = fromLibraryEvent(event, machine);
        if (historyEvent) this.appendEvent(record, historyEvent);
        // A Parallel/Map that failed abandoned its other branches: release their task tokens.
        const nested = event.type === 'StateFailed' && event.state ? machine.nestedStates.get(event.state.name) : undefined;
        if (nested) {
          this.abandonTasks(record.executionArn, (task) => nested.has(task.stateName) && task.createdAt <= event.timestamp);
        }
      }
    })();

    void Promise.allSettled([execution.result, historyRecorded]).then(([result]) => {
      if (!isCurrent() || record.status !== 'RUNNING') return;
      if (result.status === 'fulfilled') {
        this.finish(record, { status: 'SUCCEEDED', output: JSON.stringify(result.value ?? null) });
      } else if (result.reason instanceof ExecutionTimeoutError) {
        this.finish(record, { status: 'TIMED_OUT', error: 'States.Timeout', cause: 'The execution timed out' });
      } else if (result.reason instanceof ExecutionAbortedError) {
        this.finish(record, { status: 'ABORTED' });
      } else {
        const failure =
          result.reason instanceof ExecutionError && result.reason.cause instanceof Error ? result.reason.cause : result.reason;
        this.finish(record, {
          status: 'FAILED',
          error: failure instanceof Error ? failure.name : 'States.Runtime',
          cause: failure instanceof Error ? failure.message : String(failure),
        });
      }
    });
  }

  private async runTask(
    executionArn: string,
    runId: number,
    task: TaskSpec,
    input: unknown,
    resumedTokens: Map<string, string>,
  ): Promise<Json> {
    const result = await this.runTaskResource(executionArn, runId, task, input, resumedTokens);
    const size = Buffer.byteLength(JSON.stringify(result));
    const record = this.executions.get(executionArn);
    if (size > PAYLOAD_LIMIT_BYTES && record?.status === 'RUNNING' && this.runs.get(executionArn)?.id === runId) {
      // As in AWS, a result over the limit fails the execution itself: no Retry or Catch sees it.
      const cause = `The state/task '${task.stateName}' returned a result with a size exceeding the maximum number of bytes service limit (${size} > ${PAYLOAD_LIMIT_BYTES}).`;
      this.finish(record, { status: 'FAILED', error: 'States.DataLimitExceeded', cause });
      throw new TaskAbandoned(cause);
    }
    return result;
  }

  private async runTaskResource(
    executionArn: string,
    runId: number,
    task: TaskSpec,
    input: unknown,
    resumedTokens: Map<string, string>,
  ): Promise<Json> {
    const record = this.executions.get(executionArn);
    if (this.closed || this.runs.get(executionArn)?.id !== runId || record?.status !== 'RUNNING') {
      throw new TaskAbandoned(`The execution ${executionArn} is no longer running`);
    }
    switch (task.kind) {
      case 'lambda':
        return this.invokeFunction(record.stateMachineName, functionKeyOf(task.resource), input);
      case 'lambda:invoke': {
        const { functionKey, payload } = lambdaInvokeParameters(task, input);
        // The shape AWS's lambda:invoke integration returns.
        return { ExecutedVersion: '$LATEST', Payload: await this.invokeFunction(record.stateMachineName, functionKey, payload), StatusCode: 200 };
      }
      case 'lambda:invoke.waitForTaskToken': {
        const { functionKey, payload } = lambdaInvokeParameters(task, input);
        const taskToken = this.taskTokenFor(record, task.stateName, resumedTokens);
        const outcome = this.awaitTaskToken(taskToken, executionArn, runId, withTimeoutFromInput(task, input));
        void outcome.finally(() => this.forgetTaskToken(record, task.stateName, taskToken)).catch(() => undefined);
        // The function may call SendTaskSuccess before it even returns; its own failure fails the task. The token is
        // on disk before the function can hand it out, so a client holding it can answer after a restart.
        this.persisted(record.executionArn)
          .then(() => this.invokeFunction(record.stateMachineName, functionKey, replaceInJson(payload, TASK_TOKEN_PLACEHOLDER, taskToken)))
          .catch((error: unknown) => this.pendingTasks.get(taskToken)?.fail(toError(error)));
        return outcome;
      }
    }
  }

  /**
   * A waiting state outside any Map keeps its token across a restart (persisted with the record), so a
   * client that was handed the token before the crash can still answer; its function is invoked again.
   */
  private taskTokenFor(record: ExecutionRecord, stateName: string, resumedTokens: Map<string, string>): string {
    const machine = this.machines.get(record.stateMachineName);
    if (machine?.inMap.has(stateName)) return encodeTaskToken(record.executionArn, stateName);
    const taskToken = resumedTokens.get(stateName) ?? encodeTaskToken(record.executionArn, stateName);
    resumedTokens.delete(stateName);
    record.taskTokens = { ...record.taskTokens, [stateName]: taskToken };
    this.save(record);
    return taskToken;
  }

  private forgetTaskToken(record: ExecutionRecord, stateName: string, taskToken: string): void {
    if (record.taskTokens?.[stateName] !== taskToken) return;
    delete record.taskTokens[stateName];
    this.save(record);
  }

  private awaitTaskToken(taskToken: string, executionArn: string, runId: number, task: TaskSpec): Promise<Json> {
    return new Promise<Json>((resolve, reject) => {
      let heartbeatTimer: NodeJS.Timeout | undefined;
      const settle = (outcome: () => void) => {
        if (!this.pendingTasks.delete(taskToken)) return;
        clearTimeout(timeoutTimer);
        clearTimeout(heartbeatTimer);
        outcome();
      };
      const fail = (error: Error) => settle(() => reject(error));
      const timeoutTimer =
        task.timeoutMs === undefined
          ? undefined
          : setTimeout(
              () => fail(namedError('States.Timeout', `The task ${task.stateName} timed out waiting for its task token`)),
              task.timeoutMs,
            );
      const heartbeat = () => {
        if (task.heartbeatMs === undefined) return;
        clearTimeout(heartbeatTimer);
        heartbeatTimer = setTimeout(
          () => fail(namedError('States.HeartbeatTimeout', `The task ${task.stateName} sent no heartbeat in time`)),
          task.heartbeatMs,
        );
      };
      this.pendingTasks.set(taskToken, {
        executionArn,
        runId,
        stateName: task.stateName,
        createdAt: Date.now(),
        succeed: (output) => settle(() => resolve(output)),
        fail,
        heartbeat,
      });
      heartbeat();
    });
  }

  private async invokeFunction(stateMachineName: string, functionKey: string, payload: unknown): Promise<Json> {
    let result: unknown;
    try {
      this.authorizeInvoke(stateMachineName, localLambdaArn(this.region, this.accountId, functionKey));
      result = await this.invoke(functionKey, structuredClone(payload));
    } catch (error) {
      // The error's name is what Retry/Catch ErrorEquals match, its message the Cause (see toError).
      throw toError(error);
    }
    return JSON.parse(JSON.stringify(result ?? null)) as Json;
  }

  private pendingTask(taskToken: string | undefined): PendingTask {
    const task = taskToken ? this.pendingTasks.get(taskToken) : undefined;
    if (task) return task;
    const executionArn = taskToken ? decodeTaskToken(taskToken) : undefined;
    if (executionArn && this.executions.has(executionArn)) {
      throw new StepFunctionsError('TaskTimedOut', "Task Timed Out: 'Provided task does not exist anymore'");
    }
    throw new StepFunctionsError('TaskDoesNotExist', 'Task Does Not Exist: the task token is unknown');
  }

  private abandonTasks(executionArn: string, which: (task: PendingTask) => boolean = () => true): void {
    for (const task of [...this.pendingTasks.values()]) {
      if (task.executionArn === executionArn && which(task)) task.fail(new TaskAbandoned(`The task ${task.stateName} was abandoned`));
    }
  }

  private finish(record: ExecutionRecord, outcome: Pick<ExecutionRecord, 'status' | 'output' | 'error' | 'cause'>): void {
    Object.assign(record, outcome, { stopDate: Date.now() });
    const run = this.runs.get(record.executionArn);
    this.runs.delete(record.executionArn);
    this.abandonTasks(record.executionArn);
    if (outcome.status === 'ABORTED') run?.abort();
    const details = { error: outcome.error, cause: outcome.cause };
    switch (outcome.status) {
      case 'SUCCEEDED':
        this.appendEvent(record, {
          type: 'ExecutionSucceeded',
          executionSucceededEventDetails: { output: outcome.output, outputDetails: { truncated: false } },
        });
        break;
      case 'FAILED':
        this.appendEvent(record, { type: 'ExecutionFailed', executionFailedEventDetails: details });
        break;
      case 'TIMED_OUT':
        this.appendEvent(record, { type: 'ExecutionTimedOut', executionTimedOutEventDetails: details });
        break;
      default:
        this.appendEvent(record, { type: 'ExecutionAborted', executionAbortedEventDetails: details });
    }
    for (const resolve of this.settledWaiters.get(record.executionArn) ?? []) resolve();
    this.settledWaiters.delete(record.executionArn);
  }

  private appendEvent(record: ExecutionRecord, event: Omit<StoredHistoryEvent, 'id' | 'previousEventId' | 'timestamp'>): void {
    const id = record.history.length + 1;
    record.history.push({ ...event, id, previousEventId: id - 1, timestamp: Date.now() } as StoredHistoryEvent);
    this.save(record);
  }

  private isRedrivable(record: ExecutionRecord): boolean {
    return record.status === 'FAILED' || record.status === 'TIMED_OUT' || record.status === 'ABORTED';
  }

  private machineByArn(stateMachineArn: string | undefined): LoadedStateMachine {
    const machine = [...this.machines.values()].find((candidate) => candidate.arn === stateMachineArn);
    if (machine) return machine;
    if (!stateMachineArn?.startsWith('arn:')) throw new StepFunctionsError('InvalidArn', `Invalid Arn: '${stateMachineArn}'`);
    throw new StepFunctionsError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
  }

  private executionByArn(executionArn: string | undefined): ExecutionRecord {
    const record = executionArn ? this.executions.get(executionArn) : undefined;
    if (record) return record;
    if (!executionArn?.startsWith('arn:')) throw new StepFunctionsError('InvalidArn', `Invalid Arn: '${executionArn}'`);
    throw new StepFunctionsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
  }

  private recordPath(executionArn: string): string {
    const file = `${createHash('sha256').update(executionArn).digest('hex').slice(0, 40)}.json`;
    return path.join(this.storeDir ?? '', 'executions', file);
  }

  /**
   * Persists the record soon, off the event loop: the changes of RECORD_WRITE_DELAY_MS are written together, one write per
   * execution at a time (temporary file, then rename), so a burst of executions does not hold the gateway's
   * thread on synchronous disk writes. A crash loses at most the last moment's events, as if it came that much earlier.
   */
  private save(record: ExecutionRecord): void {
    if (!this.storeDir || this.closed) return;
    const state = this.writes.get(record.executionArn) ?? { dirty: false, changed: 0, written: 0, waiters: [] };
    this.writes.set(record.executionArn, state);
    state.dirty = true;
    state.changed += 1;
    state.writing ??= this.writeWhileDirty(record, state);
  }

  private async writeWhileDirty(record: ExecutionRecord, state: RecordWrites): Promise<void> {
    try {
      while (state.dirty && !this.closed) {
        await new Promise((resolve) => setTimeout(resolve, RECORD_WRITE_DELAY_MS));
        if (this.closed) break;
        state.dirty = false;
        const version = state.changed;
        await this.writeRecord(record.executionArn, JSON.stringify(record));
        this.markWritten(state, version);
      }
    } catch (error) {
      console.error('[local-stepfunctions] could not persist', record.executionArn, error);
      this.markWritten(state, state.changed);
    } finally {
      state.writing = undefined;
      if (!state.dirty) this.writes.delete(record.executionArn);
    }
  }

  private markWritten(state: RecordWrites, version: number): void {
    state.written = Math.max(state.written, version);
    const done = state.waiters.filter((waiter) => waiter.version <= state.written);
    state.waiters = state.waiters.filter((waiter) => waiter.version > state.written);
    for (const waiter of done) waiter.resolve();
  }

  private async writeRecord(executionArn: string, json: string): Promise<void> {
    const target = this.recordPath(executionArn);
    const temporary = `${target}.${process.pid}.${++this.writeCounter}.tmp`;
    await writeFile(temporary, json);
    await rename(temporary, target);
  }

  /**
   * Resolves once what the record says now is on disk, so what the API shows (history, status, a task token)
   * survives a crash, as on AWS. Later changes are not waited for.
   */
  private persisted(executionArn: string): Promise<void> {
    const state = this.writes.get(executionArn);
    if (!state || state.written >= state.changed) return Promise.resolve();
    return new Promise((resolve) => state.waiters.push({ version: state.changed, resolve }));
  }

  private loadStore(): void {
    if (!this.storeDir) return;
    const directory = path.join(this.storeDir, 'executions');
    mkdirSync(directory, { recursive: true });
    for (const file of readdirSync(directory).filter((name) => name.endsWith('.json'))) {
      const record = JSON.parse(readFileSync(path.join(directory, file), 'utf8')) as ExecutionRecord;
      this.executions.set(record.executionArn, record);
      if (record.status !== 'RUNNING') continue;
      if (this.machines.has(record.stateMachineName)) {
        this.interrupted.push(record);
      } else {
        Object.assign(record, { status: 'FAILED', error: 'States.Runtime', cause: INTERRUPTED_CAUSE, stopDate: Date.now() });
        this.appendEvent(record, {
          type: 'ExecutionFailed',
          executionFailedEventDetails: { error: 'States.Runtime', cause: INTERRUPTED_CAUSE },
        });
      }
    }
  }
}

/** The parts of ASL states the service adjusts or reads; everything else passes through untouched. */
interface StatesContainer {
  States: Record<string, AslState>;
}
interface AslState {
  Type: string;
  Resource?: string;
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  HeartbeatSeconds?: number;
  Parameters?: Record<string, unknown>;
  Retry?: { IntervalSeconds?: number; MaxDelaySeconds?: number }[];
  Branches?: StatesContainer[];
  Iterator?: StatesContainer;
  ItemProcessor?: StatesContainer;
}

const prepareTask = (stateName: string, state: AslState, timeoutScale: number): TaskSpec => {
  const resource = state.Resource ?? '';
  const kind: TaskKind | undefined = /^arn:aws[\w-]*:lambda:/.test(resource)
    ? 'lambda'
    : resource === 'arn:aws:states:::lambda:invoke'
      ? 'lambda:invoke'
      : resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken'
        ? 'lambda:invoke.waitForTaskToken'
        : undefined;
  if (!kind)
    throw new Error(
      `Task "${stateName}": resource ${resource} is not supported locally (Lambda ARNs and lambda:invoke[.waitForTaskToken] are)`,
    );
  const scaledMs = (seconds: number | undefined) => (seconds === undefined ? undefined : seconds * timeoutScale * 1000);
  if (kind === 'lambda:invoke.waitForTaskToken') {
    // The service times token waits itself, so a timed-out token is released and answers TaskTimedOut.
    const spec: TaskSpec = {
      stateName,
      kind,
      resource,
      timeoutMs: scaledMs(state.TimeoutSeconds),
      heartbeatMs: scaledMs(state.HeartbeatSeconds),
    };
    if (state.TimeoutSecondsPath !== undefined) {
      state.Parameters = { ...state.Parameters, [`${TIMEOUT_PARAMETER}.$`]: state.TimeoutSecondsPath };
      delete state.TimeoutSecondsPath;
      spec.timeoutFromInput = { scale: timeoutScale };
    }
    state.TimeoutSeconds = NO_TIMEOUT_SECONDS;
    return spec;
  }
  if (state.TimeoutSeconds !== undefined) state.TimeoutSeconds *= timeoutScale;
  else if (state.TimeoutSecondsPath === undefined) state.TimeoutSeconds = NO_TIMEOUT_SECONDS;
  return { stateName, kind, resource };
};

/** The task with its TimeoutSecondsPath's value (carried in its Parameters) as its timeout. */
const withTimeoutFromInput = (task: TaskSpec, input: unknown): TaskSpec => {
  if (!task.timeoutFromInput) return task;
  const seconds = (input as Record<string, unknown> | null)?.[TIMEOUT_PARAMETER];
  if (typeof seconds !== 'number' || !(seconds > 0)) {
    throw namedError('States.Runtime', `Task "${task.stateName}": TimeoutSecondsPath does not point to a positive number`);
  }
  return { ...task, timeoutMs: seconds * task.timeoutFromInput.scale * 1000 };
};

const lambdaInvokeParameters = (task: TaskSpec, input: unknown): { functionKey: string; payload: unknown } => {
  const parameters = (typeof input === 'object' && input !== null ? input : {}) as { FunctionName?: unknown; Payload?: unknown };
  if (typeof parameters.FunctionName !== 'string') {
    throw namedError('States.Runtime', `Task "${task.stateName}": Parameters.FunctionName is required for ${task.resource}`);
  }
  return { functionKey: functionKeyOf(parameters.FunctionName), payload: parameters.Payload ?? null };
};

/** The fields of aws-local-stepfunctions event logs the service reads (the library does not export the type). */
interface LibraryEvent {
  type: string;
  timestamp: number;
  state?: { name: string; type: string; input: unknown; output?: unknown };
  Error?: string;
  Cause?: unknown;
}

/** Maps aws-local-stepfunctions event logs to Step Functions history events (states entered/exited, task failures). */
const fromLibraryEvent = (
  event: LibraryEvent,
  machine: LoadedStateMachine,
): Omit<StoredHistoryEvent, 'id' | 'previousEventId' | 'timestamp'> | undefined => {
  const { state, Error: error, Cause: cause } = event;
  if (!state) return undefined;
  switch (event.type) {
    case 'StateEntered':
      return {
        type: `${state.type}StateEntered` as HistoryEvent['type'],
        stateEnteredEventDetails: { name: state.name, input: JSON.stringify(state.input ?? null), inputDetails: { truncated: false } },
      };
    case 'StateExited':
      return {
        type: `${state.type}StateExited` as HistoryEvent['type'],
        stateExitedEventDetails: { name: state.name, output: JSON.stringify(state.output ?? null), outputDetails: { truncated: false } },
      };
    case 'StateFailed': {
      const details = { error, cause: cause instanceof Error ? cause.message : typeof cause === 'string' ? cause : JSON.stringify(cause) };
      if (state.type !== 'Task') return { type: `${state.type}StateFailed` as HistoryEvent['type'] };
      const task = machine.tasks.get(state.name);
      const resourceDetails = { resourceType: 'lambda', resource: task?.resource ?? '' };
      return error === 'States.Timeout' || error === 'States.HeartbeatTimeout'
        ? { type: 'TaskTimedOut', taskTimedOutEventDetails: { ...resourceDetails, ...details } }
        : { type: 'TaskFailed', taskFailedEventDetails: { ...resourceDetails, ...details } };
    }
    default:
      return undefined;
  }
};

/** Why a state's input or output breaks the 256 KB quota, if it does. */
const dataOverLimit = (event: LibraryEvent): string | undefined => {
  const { state } = event;
  if (!state || (event.type !== 'StateEntered' && event.type !== 'StateExited')) return undefined;
  const which = event.type === 'StateEntered' ? 'input' : 'output';
  const size = Buffer.byteLength(JSON.stringify((which === 'input' ? state.input : state.output) ?? null));
  return size > PAYLOAD_LIMIT_BYTES
    ? `The state '${state.name}' has an ${which} with a size exceeding the maximum number of bytes service limit (${size} > ${PAYLOAD_LIMIT_BYTES}).`
    : undefined;
};

const toHistoryEvent = (event: StoredHistoryEvent, withData: boolean): HistoryEvent => {
  const copy = structuredClone(event) as unknown as Record<string, Record<string, unknown> | unknown>;
  if (!withData) {
    for (const value of Object.values(copy)) {
      if (typeof value === 'object' && value !== null) {
        delete (value as Record<string, unknown>).input;
        delete (value as Record<string, unknown>).output;
      }
    }
  }
  return { ...(copy as unknown as HistoryEvent), timestamp: new Date(event.timestamp) };
};

const paginate = <T>(items: T[], maxResults: number | undefined, nextToken: string | undefined): { items: T[]; nextToken?: string } => {
  const start = nextToken ? Number.parseInt(Buffer.from(nextToken, 'base64url').toString(), 10) : 0;
  if (!Number.isInteger(start) || start < 0) throw new StepFunctionsError('InvalidToken', 'Invalid Token: the nextToken is not valid');
  const size = maxResults && maxResults > 0 ? Math.min(maxResults, 1000) : 100;
  const end = start + size;
  return { items: items.slice(start, end), ...(end < items.length && { nextToken: Buffer.from(String(end)).toString('base64url') }) };
};

const encodeTaskToken = (executionArn: string, stateName: string): string =>
  Buffer.from(JSON.stringify({ executionArn, stateName, nonce: randomUUID() })).toString('base64url');

const decodeTaskToken = (taskToken: string): string | undefined => {
  try {
    const decoded = JSON.parse(Buffer.from(taskToken, 'base64url').toString()) as { executionArn?: unknown };
    return typeof decoded.executionArn === 'string' ? decoded.executionArn : undefined;
  } catch {
    return undefined;
  }
};

const replaceInJson = (value: unknown, search: string, replacement: string): unknown => {
  if (typeof value === 'string') return value.replaceAll(search, replacement);
  if (Array.isArray(value)) return value.map((item) => replaceInJson(item, search, replacement));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, replaceInJson(item, search, replacement)]));
  }
  return value;
};

/** Lambda reports a thrown error as errorType = its name and errorMessage = its message; so do we. */
const toError = (error: unknown): Error => {
  if (error instanceof Error) return namedError(error.name, error.message);
  return namedError('Error', typeof error === 'string' ? error : JSON.stringify(error));
};
