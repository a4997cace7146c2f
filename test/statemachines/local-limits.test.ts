import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { handlerModuleInvoker, loadServerlessFunctions } from '../../infra/local/serverless-config';
import { LocalStepFunctions } from '../../infra/local/stepfunctions/service';
import { ACCOUNT, REGION, fixture } from './fixtures/harness';

const functions = loadServerlessFunctions(fileURLToPath(new URL('./fixtures/serverless.yml', import.meta.url)));
const invoke = handlerModuleInvoker(functions);
const services: LocalStepFunctions[] = [];
afterEach(async () => {
  for (const service of services.splice(0)) await service.close();
});

const run = async (input: unknown) => {
  const service = new LocalStepFunctions({ region: REGION, accountId: ACCOUNT, stateMachines: { limits: fixture('limits') }, invoke });
  services.push(service);
  const { executionArn } = await service.startExecution({ stateMachineArn: service.stateMachineArn('limits'), input: JSON.stringify(input) });
  const result = await service.executionSettled(executionArn);
  const { events = [] } = await service.getExecutionHistory({ executionArn, maxResults: 1000 });
  return { result, states: events.filter((event) => event.type?.endsWith('StateEntered')).map((event) => event.stateEnteredEventDetails?.name) };
};

const KB = 1024;
const MB = 1024 * KB;

describe('Lambda limits of the local runtime', () => {
  it('reads each function timeout from serverless.yml, 6 s when it names none', () => {
    expect(functions.slow?.timeoutSeconds).toBe(1);
    expect(functions.sized?.timeoutSeconds).toBe(6);
  });

  it("gives a function that names no timeout or memorySize the provider's, as Serverless deploys it", () => {
    const ferry = loadServerlessFunctions(fileURLToPath(new URL('../../serverless.yml', import.meta.url)));
    // provider: timeout 29, memorySize 512; generateCsvReport names 900 s and 1024 MB.
    expect({ timeout: ferry.search?.timeoutSeconds, memory: ferry.search?.memorySizeMb }).toEqual({ timeout: 29, memory: 512 });
    expect({ timeout: ferry.generateCsvReport?.timeoutSeconds, memory: ferry.generateCsvReport?.memorySizeMb }).toEqual({ timeout: 900, memory: 1024 });
    expect(functions.sized?.memorySizeMb).toBe(1024);
  });

  it('fails a task past its function timeout with Sandbox.Timedout, which a Catch can match', async () => {
    const { result, states } = await run({ function: 'slow', payload: { ms: 1500 } });

    expect(states).toEqual(['Call the function', 'Report the Lambda failure']);
    expect(result.status).toBe('SUCCEEDED');
    expect(JSON.parse(result.output ?? 'null')).toEqual({
      Error: 'Sandbox.Timedout',
      Cause: expect.stringMatching(/^RequestId: [\w-]+ Error: Task timed out after 1\.00 seconds$/),
    });
  });

  it('lets a task finish within its function timeout', async () => {
    const { result } = await run({ function: 'slow', payload: { ms: 10 } });

    expect(result.status).toBe('SUCCEEDED');
    expect(JSON.parse(result.output ?? 'null')).toMatchObject({ called: { result: { slept: 10 } } });
  });

  it('fails a function response over 6 MB with Function.ResponseSizeTooLarge', async () => {
    const { result } = await run({ function: 'sized', payload: { bytes: 6 * MB + 1 } });

    expect(result.status).toBe('SUCCEEDED');
    expect(JSON.parse(result.output ?? 'null')).toEqual({
      Error: 'Function.ResponseSizeTooLarge',
      Cause: expect.stringContaining('Response payload size exceeded maximum allowed payload size (6291456 bytes)'),
    });
  });

  it('refuses a request over 6 MB with Lambda.RequestTooLargeException before the handler runs', async () => {
    await expect(invoke('sized', { bytes: 1, padding: 'x'.repeat(6 * MB) })).rejects.toMatchObject({
      name: 'Lambda.RequestTooLargeException',
      message: expect.stringContaining('Request must be smaller than 6291456 bytes'),
    });
  });
});

describe('Step Functions data limits of the local runtime', () => {
  it('fails the execution with States.DataLimitExceeded when a task result is over 256 KB, past any Catch', async () => {
    const { result, states } = await run({ function: 'sized', payload: { bytes: 256 * KB } });

    expect(states).toEqual(['Call the function']);
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded', cause: expect.stringContaining("'Call the function'") });
  });

  it('fails the execution with States.DataLimitExceeded when a state output is over 256 KB', async () => {
    const { result } = await run({ function: 'sized', payload: { bytes: 200 * KB }, padding: 'y'.repeat(100 * KB) });

    expect(result).toMatchObject({
      status: 'FAILED',
      error: 'States.DataLimitExceeded',
      cause: expect.stringContaining("The state 'Call the function' has an output with a size exceeding"),
    });
  });

  it('keeps a state output just under 256 KB', async () => {
    const { result } = await run({ function: 'sized', payload: { bytes: 200 * KB }, padding: 'y'.repeat(40 * KB) });

    expect(result.status).toBe('SUCCEEDED');
  });

  it('refuses an execution input over 256 KB at StartExecution with InvalidExecutionInput', async () => {
    const service = new LocalStepFunctions({ region: REGION, accountId: ACCOUNT, stateMachines: { limits: fixture('limits') }, invoke });
    services.push(service);

    await expect(
      service.startExecution({ stateMachineArn: service.stateMachineArn('limits'), input: JSON.stringify({ padding: 'z'.repeat(256 * KB) }) }),
    ).rejects.toMatchObject({ name: 'InvalidExecutionInput', message: expect.stringContaining('larger than 262144 bytes') });
    expect((await service.listExecutions({ stateMachineArn: service.stateMachineArn('limits') })).executions).toEqual([]);
  });
});
