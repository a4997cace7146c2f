import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
  type ExecutionListItem,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { stack } from './client';

/**
 * The local stack's execution histories, read through its Step Functions endpoint with the SDK: what a
 * test polls instead of sleeping when it needs "the workflow got there" or "the workflow ended".
 */
export const stepFunctions = (): SFNClient =>
  new SFNClient({
    region: 'us-east-1',
    endpoint: stack().sfnEndpoint,
    // The local Step Functions endpoint answers only the local credentials' SigV4 signature, as AWS answers only IAM's.
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });

export async function historyOf(executionArn: string): Promise<HistoryEvent[]> {
  const sfn = stepFunctions();
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, ...(nextToken ? { nextToken } : {}) }));
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

const TERMINAL = new Set(['ExecutionSucceeded', 'ExecutionFailed', 'ExecutionTimedOut', 'ExecutionAborted']);

/** The names of the states the execution has entered, in order (a state entered twice is named twice). */
export const statesEntered = async (executionArn: string): Promise<string[]> =>
  (await historyOf(executionArn)).flatMap((event) => (event.stateEnteredEventDetails?.name ? [event.stateEnteredEventDetails.name] : []));

/** Polls the history until `reached` holds for it; the history then. */
export async function untilHistory(executionArn: string, reached: (events: HistoryEvent[]) => boolean, timeoutMs = 120_000): Promise<HistoryEvent[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = await historyOf(executionArn);
    if (reached(events)) return events;
    if (Date.now() > deadline) throw new Error(`${executionArn}: not reached after ${timeoutMs} ms; last events ${events.slice(-3).map((e) => e.type).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Once the execution has entered the named state. */
export const untilStateEntered = (executionArn: string, stateName: string) =>
  untilHistory(executionArn, (events) => events.some((event) => event.type?.endsWith('StateEntered') && event.stateEnteredEventDetails?.name === stateName));

/** Once the execution has ended, whichever way; the terminal event's type. */
export async function untilEnded(executionArn: string): Promise<string> {
  const events = await untilHistory(executionArn, (history) => history.some((event) => TERMINAL.has(event.type ?? '')));
  return events.find((event) => TERMINAL.has(event.type ?? ''))?.type ?? '';
}

/** Every execution of the same state machine whose name starts with `prefix` (the import id, the batch id): what a repeat would have added. */
export async function executionsNamedLike(executionArn: string, prefix: string): Promise<ExecutionListItem[]> {
  const sfn = stepFunctions();
  const { stateMachineArn } = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  const found: ExecutionListItem[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 1000, ...(nextToken ? { nextToken } : {}) }));
    found.push(...(page.executions ?? []).filter((execution) => execution.name?.startsWith(prefix)));
    nextToken = page.nextToken;
  } while (nextToken);
  return found;
}

/** How many times the execution entered the named state. */
export const timesEntered = (events: HistoryEvent[], stateName: string): number =>
  events.filter((event) => event.type?.endsWith('StateEntered') && event.stateEnteredEventDetails?.name === stateName).length;

/** Starts the same work again under another name: what a redrive, a replayed event or an operator's rerun does. */
export async function startAgain(executionArn: string, name: string): Promise<string> {
  const sfn = stepFunctions();
  const original = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  const { executionArn: again } = await sfn.send(
    new StartExecutionCommand({ stateMachineArn: original.stateMachineArn, name, input: original.input }),
  );
  if (!again) throw new Error('StartExecution returned no executionArn');
  return again;
}

/** From the execution history: how many files were between "Check the uploaded file" and their last state (`lastState`) at once. */
export async function peakFilesInFlight(executionArn: string, lastState: string): Promise<number> {
  const events = await historyOf(executionArn);
  let inFlight = 0;
  let peak = 0;
  for (const event of events) {
    if (event.type === 'ParallelStateEntered' && event.stateEnteredEventDetails?.name === 'Check the uploaded file') inFlight++;
    if (event.type === 'TaskStateExited' && event.stateExitedEventDetails?.name === lastState) inFlight--;
    peak = Math.max(peak, inFlight);
  }
  return peak;
}
