import { SFNClient, StateMachineDoesNotExist } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { StepFunctionsExecutions } from '../../adapters/aws/sfn-executions';
import { Transient } from '../../core/errors';
import { FakeSend, awsError, testCredentials } from './aws-fakes';

/** What the SFN adapter sends for the admin's list and Retry, and how it maps what comes back. */
const region = 'us-east-1';
const arns = { export: 'arn:aws:states:us-east-1:1:stateMachine:ferry-export', import: 'arn:aws:states:us-east-1:1:stateMachine:ferry-import' };
const executions = (fake: FakeSend, machines: Partial<typeof arns> = arns) =>
  new StepFunctionsExecutions(fake.install(new SFNClient({ region, credentials: testCredentials })), machines as typeof arns);

describe('StepFunctionsExecutions.list', () => {
  it('asks the workflow\'s state machine for that status only, at most `limit`, and maps each execution', async () => {
    const startDate = new Date('2024-06-01T12:00:00.000Z');
    const stopDate = new Date('2024-06-01T12:01:00.000Z');
    const fake = new FakeSend().on('ListExecutionsCommand', () => ({
      executions: [
        { executionArn: 'arn:exec:b-1', stateMachineArn: arns.import, name: 'b-1', status: 'FAILED', startDate, stopDate },
        { executionArn: 'arn:exec:b-2', stateMachineArn: arns.import, name: 'b-2', status: 'FAILED', startDate },
      ],
    }));
    expect(await executions(fake).list('import', 'FAILED', { limit: 7 })).toEqual([
      { executionArn: 'arn:exec:b-1', workflow: 'import', name: 'b-1', status: 'FAILED', startDate, stopDate },
      { executionArn: 'arn:exec:b-2', workflow: 'import', name: 'b-2', status: 'FAILED', startDate },
    ]);
    expect(fake.sent).toEqual([{ name: 'ListExecutionsCommand', input: { stateMachineArn: arns.import, statusFilter: 'FAILED', maxResults: 7 } }]);
  });

  it('fills what an answer leaves out: the status asked for, the epoch for a missing start', async () => {
    const fake = new FakeSend().on('ListExecutionsCommand', () => ({ executions: [{ executionArn: 'arn:exec:x', name: 'x' }] }));
    expect(await executions(fake).list('export', 'TIMED_OUT', { limit: 1 })).toEqual([
      { executionArn: 'arn:exec:x', workflow: 'export', name: 'x', status: 'TIMED_OUT', startDate: new Date(0) },
    ]);
    const empty = new FakeSend().on('ListExecutionsCommand', () => ({}));
    expect(await executions(empty).list('export', 'FAILED', { limit: 1 })).toEqual([]);
  });

  it('lists nothing, and asks nothing, for a workflow without a state machine', async () => {
    const fake = new FakeSend();
    expect(await executions(fake, { export: arns.export }).list('import', 'FAILED', { limit: 5 })).toEqual([]);
    expect(fake.sent).toEqual([]);
  });

  it('turns throttling into Transient and lets any other error through as it is', async () => {
    const throttled = new FakeSend().on('ListExecutionsCommand', () => {
      throw awsError('ThrottlingException', 400);
    });
    await expect(executions(throttled).list('export', 'FAILED', { limit: 5 })).rejects.toSatisfy(
      (error) => error instanceof Transient && /listing export executions/.test(error.message),
    );
    const gone = new StateMachineDoesNotExist({ message: 'no machine', $metadata: { httpStatusCode: 400 } });
    const missing = new FakeSend().on('ListExecutionsCommand', () => {
      throw gone;
    });
    await expect(executions(missing).list('export', 'FAILED', { limit: 5 })).rejects.toBe(gone);
  });
});

describe('StepFunctionsExecutions.start, as Retry uses it', () => {
  it('starts the retry under its own name on the workflow\'s state machine, the job as JSON', async () => {
    const fake = new FakeSend().on('StartExecutionCommand', (command) => ({ executionArn: `arn:exec:${String(command.input.name)}` }));
    const retry = { exportId: 'e-1-r1', retryOf: 'arn:exec:e-1' };
    expect(await executions(fake).start('export', 'e-1-r1', retry)).toEqual({ executionArn: 'arn:exec:e-1-r1' });
    expect(fake.sent).toEqual([
      { name: 'StartExecutionCommand', input: { stateMachineArn: arns.export, name: 'e-1-r1', input: JSON.stringify(retry) } },
    ]);
  });

  it('refuses to start a workflow without a state machine, and an answer without an executionArn is an error', async () => {
    const fake = new FakeSend().on('StartExecutionCommand', () => ({}));
    await expect(executions(fake, { export: arns.export }).start('import', 'b-1-r1', {})).rejects.toThrow(/No state machine is configured for the import workflow/);
    expect(fake.sent).toEqual([]);
    await expect(executions(fake).start('import', 'b-1-r1', {})).rejects.toThrow(/returned no executionArn/);
  });

  it('lets a state machine that does not exist through as it is, not as Transient', async () => {
    const gone = new StateMachineDoesNotExist({ message: 'no machine', $metadata: { httpStatusCode: 400 } });
    const fake = new FakeSend().on('StartExecutionCommand', () => {
      throw gone;
    });
    await expect(executions(fake).start('export', 'n', {})).rejects.toBe(gone);
  });
});

describe('StepFunctionsExecutions.describe, as Retry reads the original', () => {
  it('keeps an input that is not JSON as text, and a missing status as RUNNING', async () => {
    const fake = new FakeSend().on('DescribeExecutionCommand', () => ({ input: 'not json' }));
    expect(await executions(fake).describe('arn:exec:odd')).toEqual({
      executionArn: 'arn:exec:odd',
      status: 'RUNNING',
      input: 'not json',
      startDate: new Date(0),
    });
  });

  it('turns throttling into Transient rather than "no such execution"', async () => {
    const fake = new FakeSend().on('DescribeExecutionCommand', () => {
      throw awsError('ThrottlingException', 400);
    });
    await expect(executions(fake).describe('arn:exec:x')).rejects.toBeInstanceOf(Transient);
  });
});
