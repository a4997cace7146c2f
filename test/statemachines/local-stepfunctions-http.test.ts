import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  RedriveExecutionCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStepFunctionsServer } from '../../infra/local/stepfunctions/http';
import { REGION, localStepFunctions } from './fixtures/harness';

describe('the local Step Functions HTTP endpoint, through an unmodified SFNClient', () => {
  const harness = localStepFunctions();
  const tokensArn = harness.service.stateMachineArn('tokens');
  let server: Awaited<ReturnType<typeof startStepFunctionsServer>>;
  let sfn: SFNClient;

  beforeAll(async () => {
    server = await startStepFunctionsServer(harness.service, { port: 0, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    sfn = new SFNClient({
      endpoint: server.url,
      region: REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    sfn.destroy();
    await server.close();
    await harness.service.close();
  });

  const waitForStatus = async (executionArn: string, statuses: string[]) => {
    for (let poll = 0; poll < 500; poll += 1) {
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (statuses.includes(described.status ?? '')) return described;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`${executionArn} never reached ${statuses.join('/')}`);
  };

  it('starts an execution, resumes it with SendTaskSuccess and describes the outcome', async () => {
    const started = await sfn.send(new StartExecutionCommand({ stateMachineArn: tokensArn, name: 'http-1', input: '{"n":1}' }));
    expect(started.executionArn).toBe(`${tokensArn.replace(':stateMachine:', ':execution:')}:http-1`);
    expect(started.startDate).toBeInstanceOf(Date);

    await sfn.send(new SendTaskHeartbeatCommand({ taskToken: await harness.tokenOf('left') }));
    await sfn.send(new SendTaskSuccessCommand({ taskToken: await harness.tokenOf('left'), output: '{"side":"L"}' }));
    await sfn.send(new SendTaskSuccessCommand({ taskToken: await harness.tokenOf('right'), output: '{"side":"R"}' }));
    const described = await waitForStatus(started.executionArn ?? '', ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);

    expect(described).toMatchObject({
      status: 'SUCCEEDED',
      name: 'http-1',
      stateMachineArn: tokensArn,
      input: '{"n":1}',
      output: '[{"side":"L"},{"side":"R"}]',
      startDate: expect.any(Date),
      stopDate: expect.any(Date),
    });
    const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn: started.executionArn }));
    expect(history.events?.map((event) => event.type)).toEqual([
      'ExecutionStarted',
      'ParallelStateEntered',
      'TaskStateEntered',
      'TaskStateEntered',
      'TaskStateExited',
      'TaskStateExited',
      'ParallelStateExited',
      'ExecutionSucceeded',
    ]);
    expect(history.events?.[0]?.timestamp).toBeInstanceOf(Date);
  });

  it('fails a task with SendTaskFailure, offers no RedriveExecution (Ferry retries as a new execution), and stops an execution', async () => {
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: tokensArn, name: 'http-2' }));
    await sfn.send(new SendTaskFailureCommand({ taskToken: await harness.tokenOf('left', 2), error: 'Nope', cause: 'because' }));
    expect(await waitForStatus(executionArn ?? '', ['FAILED'])).toMatchObject({ error: 'Nope', cause: 'because' });
    await expect(sfn.send(new RedriveExecutionCommand({ executionArn }))).rejects.toMatchObject({ name: 'UnknownOperationException' });

    const retry = await sfn.send(new StartExecutionCommand({ stateMachineArn: tokensArn, name: 'http-2-r1' }));
    await waitForStatus(retry.executionArn ?? '', ['RUNNING']);
    const { stopDate } = await sfn.send(new StopExecutionCommand({ executionArn: retry.executionArn, cause: 'enough' }));
    expect(stopDate).toBeInstanceOf(Date);

    const aborted = await sfn.send(new ListExecutionsCommand({ stateMachineArn: tokensArn, statusFilter: 'ABORTED' }));
    expect(aborted.executions?.map((execution) => [execution.name, execution.status])).toEqual([['http-2-r1', 'ABORTED']]);
  });

  it('reports AWS errors as the SDK exception classes', async () => {
    const missing = `${tokensArn.replace(':stateMachine:', ':execution:')}:missing`;
    await expect(sfn.send(new DescribeExecutionCommand({ executionArn: missing }))).rejects.toBeInstanceOf(ExecutionDoesNotExist);
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn: tokensArn, name: 'http-1', input: '{"n":2}' })),
    ).rejects.toBeInstanceOf(ExecutionAlreadyExists);
    await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: 'unknown', output: '{}' }))).rejects.toBeInstanceOf(
      TaskDoesNotExist,
    );
    const spent = await harness.tokenOf('right');
    await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: spent, output: '{}' }))).rejects.toBeInstanceOf(TaskTimedOut);
    await expect(sfn.send(new DescribeExecutionCommand({ executionArn: missing }))).rejects.toMatchObject({
      name: 'ExecutionDoesNotExist',
      message: expect.stringContaining(missing),
      $metadata: { httpStatusCode: 400 },
    });
  });
});
