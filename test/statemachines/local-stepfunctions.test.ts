import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parseInfraYaml } from '../../infra/local/infra-yaml';
import { handlerModuleInvoker, loadServerlessFunctions } from '../../infra/local/serverless-config';
import type { LocalStepFunctions } from '../../infra/local/stepfunctions/service';
import { ACCOUNT, REGION, localStepFunctions, until } from './fixtures/harness';

const fixturePath = (file: string) => fileURLToPath(new URL(`./fixtures/${file}`, import.meta.url));

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const tracked = (harness: ReturnType<typeof localStepFunctions>) => {
  cleanups.push(() => harness.service.close());
  return harness;
};

const temporaryDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'local-sfn-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

const rejection = async (promise: Promise<unknown>): Promise<Error> => {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
};

const settle = (service: LocalStepFunctions, executionArn: string) => service.executionSettled(executionArn);

describe('LocalStepFunctions', () => {
  it('names executions and state machines with AWS-shaped ARNs and fills the Context Object', async () => {
    const { service, start } = tracked(localStepFunctions());
    const { executionArn, startDate } = await start('context', { value: 21 }, 'ctx-1');

    expect(executionArn).toBe(`arn:aws:states:${REGION}:${ACCOUNT}:execution:context:ctx-1`);
    const result = await settle(service, executionArn);
    expect(result.status).toBe('SUCCEEDED');
    const output = JSON.parse(result.output ?? 'null') as { context: Record<string, unknown>; invoked: unknown };
    expect(output.context).toEqual({
      executionId: executionArn,
      executionName: 'ctx-1',
      startTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      stateMachineId: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:context`,
      value: 21,
    });
    // aws-local-stepfunctions stamps StartTime itself as the run begins, in the same tick as startDate.
    expect(Math.abs(Date.parse(String(output.context.startTime)) - startDate.getTime())).toBeLessThan(50);
  });

  it('returns lambda:invoke results wrapped as AWS does, with Payload and StatusCode', async () => {
    const { service, start, invocations } = tracked(localStepFunctions());
    const { executionArn } = await start('context', { value: 21 });
    const output = JSON.parse((await settle(service, executionArn)).output ?? 'null') as { invoked: unknown };

    expect(output.invoked).toEqual({ ExecutedVersion: '$LATEST', Payload: { doubled: 42 }, StatusCode: 200 });
    expect(invocations.map((call) => call.functionKey)).toEqual(['echo', 'echo']);
  });

  it('gives each waitForTaskToken task its own token and resumes with the SendTaskSuccess output', async () => {
    const { service, start, tokenOf, statesEntered } = tracked(localStepFunctions());
    const { executionArn } = await start('tokens', {});
    const left = await tokenOf('left');
    const right = await tokenOf('right');

    expect(left).not.toBe(right);
    await service.sendTaskSuccess({ taskToken: right, output: JSON.stringify({ answer: 'R' }) });
    await service.sendTaskSuccess({ taskToken: left, output: JSON.stringify({ answer: 'L' }) });

    const result = await settle(service, executionArn);
    expect(result.status).toBe('SUCCEEDED');
    expect(JSON.parse(result.output ?? 'null')).toEqual([{ answer: 'L' }, { answer: 'R' }]);
    expect(await statesEntered(executionArn)).toEqual([
      'Wait for both answers',
      'Wait for the left answer',
      'Wait for the right answer',
    ]);
  });

  it('keeps a task alive while heartbeats arrive and fails it with States.HeartbeatTimeout when they stop', async () => {
    // HeartbeatSeconds 10 × 0.02 = 200 ms; TimeoutSeconds 60 × 0.02 = 1.2 s.
    const { service, start, tokenOf, statesEntered } = tracked(localStepFunctions({ timeoutScale: 0.02 }));
    const { executionArn } = await start('tokens', {});
    const left = await tokenOf('left');
    const right = await tokenOf('right');
    await service.sendTaskSuccess({ taskToken: right, output: '{}' });
    for (let beat = 0; beat < 4; beat += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      await service.sendTaskHeartbeat({ taskToken: left });
    }
    expect((await service.describeExecution({ executionArn })).status).toBe('RUNNING');

    const result = await settle(service, executionArn);
    expect(result.status).toBe('SUCCEEDED');
    expect(JSON.parse(result.output ?? 'null')).toMatchObject({ failure: { Error: 'States.HeartbeatTimeout' } });
    expect(await statesEntered(executionArn)).toEqual([
      'Wait for both answers',
      'Wait for the left answer',
      'Wait for the right answer',
      'Heartbeat missed',
    ]);
    expect((await rejection(service.sendTaskHeartbeat({ taskToken: left }))).name).toBe('TaskTimedOut');
  });

  it('fails a task with the error and cause given to SendTaskFailure', async () => {
    const { service, start, tokenOf } = tracked(localStepFunctions());
    const { executionArn } = await start('tokens', {});
    await service.sendTaskFailure({ taskToken: await tokenOf('left'), error: 'BrowserGone', cause: 'socket closed' });

    expect(await settle(service, executionArn)).toMatchObject({ status: 'FAILED', error: 'BrowserGone', cause: 'socket closed' });
  });

  it('fails a callback task whose function throws, with the thrown error name and message', async () => {
    const harness = tracked(localStepFunctions());
    harness.failParkingWith(Object.assign(new Error('no route to the gateway'), { name: 'Transient' }));
    const { executionArn } = await harness.start('tokens', {});

    expect(await settle(harness.service, executionArn)).toMatchObject({
      status: 'FAILED',
      error: 'Transient',
      cause: 'no route to the gateway',
    });
  });

  it('answers TaskDoesNotExist for a token it never issued and TaskTimedOut for one already answered', async () => {
    const { service, start, tokenOf } = tracked(localStepFunctions());
    await start('tokens', {});
    const left = await tokenOf('left');
    await service.sendTaskSuccess({ taskToken: left, output: '{}' });

    expect((await rejection(service.sendTaskSuccess({ taskToken: 'not-a-token', output: '{}' }))).name).toBe('TaskDoesNotExist');
    expect((await rejection(service.sendTaskSuccess({ taskToken: left, output: '{}' }))).name).toBe('TaskTimedOut');
    const right = await tokenOf('right');
    expect((await rejection(service.sendTaskSuccess({ taskToken: right, output: 'not json' }))).name).toBe('InvalidOutput');
  });

  it('treats a repeated name with the same input as the same running execution and anything else as ExecutionAlreadyExists', async () => {
    const { service, start, tokenOf } = tracked(localStepFunctions());
    const first = await start('tokens', { n: 1 }, 'once');

    expect((await start('tokens', { n: 1 }, 'once')).executionArn).toBe(first.executionArn);
    expect((await rejection(start('tokens', { n: 2 }, 'once'))).name).toBe('ExecutionAlreadyExists');

    await service.stopExecution({ executionArn: first.executionArn });
    expect((await rejection(start('tokens', { n: 1 }, 'once'))).name).toBe('ExecutionAlreadyExists');
    expect(await tokenOf('left')).toEqual(expect.any(String));
  });

  it('rejects unknown executions, unknown state machines and invalid names with AWS error codes', async () => {
    const { service, start } = tracked(localStepFunctions());
    const unknownArn = `arn:aws:states:${REGION}:${ACCOUNT}:execution:tokens:nope`;

    expect((await rejection(service.describeExecution({ executionArn: unknownArn }))).name).toBe('ExecutionDoesNotExist');
    expect((await rejection(service.getExecutionHistory({ executionArn: unknownArn }))).name).toBe('ExecutionDoesNotExist');
    expect(
      (await rejection(service.startExecution({ stateMachineArn: service.stateMachineArn('missing'), input: '{}' }))).name,
    ).toBe('StateMachineDoesNotExist');
    expect((await rejection(start('tokens', {}, 'has space'))).name).toBe('InvalidName');
    expect(
      (await rejection(service.startExecution({ stateMachineArn: service.stateMachineArn('tokens'), input: '{' }))).name,
    ).toBe('InvalidExecutionInput');
  });

  it('stops an execution: ABORTED, its waiting task released, and listed by status', async () => {
    const { service, start, tokenOf } = tracked(localStepFunctions());
    const stopped = await start('tokens', {}, 'to-stop');
    const left = await tokenOf('left');
    const running = await start('tokens', {}, 'keeps-running');

    await service.stopExecution({ executionArn: stopped.executionArn, error: 'UserCancelled', cause: 'changed my mind' });

    expect(await service.describeExecution({ executionArn: stopped.executionArn })).toMatchObject({
      status: 'ABORTED',
      error: 'UserCancelled',
      cause: 'changed my mind',
      stopDate: expect.any(Date),
    });
    expect((await rejection(service.sendTaskSuccess({ taskToken: left, output: '{}' }))).name).toBe('TaskTimedOut');
    const list = async (statusFilter?: 'RUNNING' | 'ABORTED') =>
      (await service.listExecutions({ stateMachineArn: service.stateMachineArn('tokens'), ...(statusFilter && { statusFilter }) })).executions?.map(
        (execution) => execution.name,
      );
    expect(await list('ABORTED')).toEqual(['to-stop']);
    expect(await list('RUNNING')).toEqual(['keeps-running']);
    expect(await list()).toEqual(['keeps-running', 'to-stop']);
    expect(running.executionArn).toContain(':keeps-running');
  });

  it('keeps execution records across a restart and resumes the ones that were still running', async () => {
    const storeDir = temporaryDir();
    const before = localStepFunctions({ storeDir });
    const finished = await before.start('context', { value: 1 }, 'finished');
    await settle(before.service, finished.executionArn);
    const interrupted = await before.start('tokens', { attempt: 'original' }, 'interrupted');
    const leftTokenBeforeCrash = await before.tokenOf('left');
    await before.tokenOf('right');
    await before.service.close();

    const after = tracked(localStepFunctions({ storeDir }));
    expect(await after.service.describeExecution({ executionArn: finished.executionArn })).toMatchObject({
      status: 'SUCCEEDED',
      output: expect.stringContaining('"doubled":2'),
    });
    expect(await after.statesEntered(finished.executionArn)).toEqual(['Read the context', 'Invoke through the integration']);
    expect(await after.service.describeExecution({ executionArn: interrupted.executionArn })).toMatchObject({ status: 'RUNNING' });
    expect(after.service.resumeInterrupted()).toEqual([interrupted.executionArn]);

    // The interrupted Parallel runs again; a token handed out before the crash still answers its state.
    expect(await after.tokenOf('left')).toBe(leftTokenBeforeCrash);
    await after.service.sendTaskSuccess({ taskToken: leftTokenBeforeCrash, output: '"L"' });
    await after.service.sendTaskSuccess({ taskToken: await after.tokenOf('right'), output: '"R"' });
    expect(await settle(after.service, interrupted.executionArn)).toMatchObject({
      status: 'SUCCEEDED',
      output: '["L","R"]',
      input: JSON.stringify({ attempt: 'original' }),
    });
    // The history kept before the crash ends where the store last wrote it; the resumed run appends to it.
    const entered = await after.statesEntered(interrupted.executionArn);
    expect(entered.filter((name) => name === 'Wait for both answers')).toHaveLength(2);
    expect(entered.slice(-3)).toEqual(['Wait for both answers', 'Wait for the left answer', 'Wait for the right answer']);
  });

  it('resumes an interrupted execution at the state it was in, with that state\'s input, keeping earlier results', async () => {
    const storeDir = temporaryDir();
    const calls: string[] = [];
    // A stand-in for a crash: the service stops while the second task runs, and never hears its answer.
    const crashing = localStepFunctions({
      storeDir,
      invoke: async (functionKey, payload) => {
        calls.push(functionKey);
        if ((payload as { doubled?: number }).doubled !== undefined) await new Promise(() => undefined);
        return payload;
      },
    });
    const { executionArn } = await crashing.start('context', { value: 4 }, 'resume-mid-way');
    await until(() => calls.length === 2);
    await crashing.service.close();

    const after = tracked(localStepFunctions({ storeDir }));
    after.service.resumeInterrupted();
    const result = await settle(after.service, executionArn);
    expect(result.status).toBe('SUCCEEDED');
    expect(JSON.parse(result.output ?? 'null')).toMatchObject({ value: 4, context: { value: 4 }, invoked: { Payload: { doubled: 8 } } });
    // Only the interrupted task ran again: the first one's result came from the persisted state input.
    expect(after.invocations.map((invocation) => invocation.functionKey)).toEqual(['echo']);
    expect(await after.statesEntered(executionArn)).toEqual(['Read the context', 'Invoke through the integration', 'Invoke through the integration']);
  });
});

describe('definition loading', () => {
  it('maps every serverless.yml function key to its handler module and export', () => {
    const functions = loadServerlessFunctions(path.resolve('serverless.yml'));

    expect(functions.generateCsvReport).toMatchObject({
      handler: 'functions/export/generate-csv-report.handler',
      modulePath: path.resolve('functions/export/generate-csv-report.ts'),
      exportName: 'handler',
      timeoutSeconds: 900,
      httpRoutes: [],
    });
    expect(functions.getDownloadRequest?.httpRoutes).toEqual([
      { method: 'GET', path: '/api/download-request/{executionArn}', authorized: true },
    ]);
    expect(functions.wsConnect?.websocketRoutes).toEqual(['$connect']);
  });

  it('runs a function through the module and export serverless.yml names', async () => {
    const invoke = handlerModuleInvoker(loadServerlessFunctions(fixturePath('serverless.yml')));

    expect(await invoke('echo', { hello: 'world' })).toEqual({ event: { hello: 'world' }, functionName: 'ferry-local-echo' });
    await expect(invoke('missingExport', {})).rejects.toThrow('does not export "nothingHere"');
    await expect(invoke('unknown', {})).rejects.toThrow('No function "unknown"');
  });

  it('reads CloudFormation short tags, merge keys and ${} variables without failing', () => {
    const yaml = [
      'base: &base { a: 1 }',
      'merged: { <<: *base, b: 2 }',
      'arn: !GetAtt exportBucket.Arn',
      'joined: !Join ["", [a, !Ref B]]',
      "region: ${opt:region, 'us-east-1'}",
    ].join('\n');

    expect(parseInfraYaml(yaml)).toEqual({
      base: { a: 1 },
      merged: { a: 1, b: 2 },
      arn: { 'Fn::GetAtt': ['exportBucket', 'Arn'] },
      joined: { 'Fn::Join': ['', ['a', { Ref: 'B' }]] },
      region: "${opt:region, 'us-east-1'}",
    });
  });
});
