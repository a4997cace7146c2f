import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { localIam } from '../../infra/local/iam/local-iam';
import { authorizeStateMachineInvoke, installLocalIam, recordedDecisions } from '../../infra/local/iam/wiring';
import { localLambdaArn } from '../../infra/local/stepfunctions/definitions';
import { ACCOUNT, REGION, localStepFunctions } from './fixtures/harness';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ferry = localIam({
  serverlessYmlPath: join(root, 'serverless.yml'),
  buckets: { ExportsBucket: 'ferry-exports', UploadsBucket: 'ferry-uploads', PermanentBucket: 'ferry-imports', QuarantineBucket: 'ferry-quarantine' },
  region: REGION,
  account: ACCOUNT,
});

/** The fixture machines' roles: `context` may invoke `echo`; `tokens` may invoke `echo` but not `park`, which it calls. */
const echoOnly = {
  name: 'FixtureMachineRole',
  account: ACCOUNT,
  policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow' as const, Action: 'lambda:InvokeFunction', Resource: localLambdaArn(REGION, ACCOUNT, 'echo') }] }],
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  installLocalIam(ferry, 'off');
});

const harness = () => {
  const built = localStepFunctions({ authorizeInvoke: authorizeStateMachineInvoke });
  cleanups.push(() => built.service.close());
  return built;
};

describe("the local Step Functions authorises each Task's invoke as its state machine's role", () => {
  it('runs the Tasks whose functions the role may invoke', async () => {
    installLocalIam({ ...ferry, stateMachineRoles: { context: echoOnly, tokens: echoOnly } }, 'enforce');
    const { service, start, invocations } = harness();
    const { executionArn } = await start('context', { value: 2 });
    expect((await service.executionSettled(executionArn)).status).toBe('SUCCEEDED');
    expect(invocations.map((i) => i.functionKey)).toEqual(['echo', 'echo']);
    expect(recordedDecisions()).toContainEqual(
      expect.objectContaining({ role: 'FixtureMachineRole', service: 'Lambda', action: 'lambda:InvokeFunction', resource: localLambdaArn(REGION, ACCOUNT, 'echo'), decision: 'Allow' }),
    );
  });

  it("fails a Task whose function the role may not invoke with Lambda's AccessDenied, and never runs the function", async () => {
    installLocalIam({ ...ferry, stateMachineRoles: { context: echoOnly, tokens: echoOnly } }, 'enforce');
    const { service, start, invocations } = harness();
    const { executionArn } = await start('tokens', {});
    const result = await service.executionSettled(executionArn);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('Lambda.AWSLambdaException');
    expect(result.cause).toContain(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/FixtureMachineRole/FixtureMachineRole is not authorized to perform: lambda:InvokeFunction on resource: ${localLambdaArn(REGION, ACCOUNT, 'park')}`,
    );
    expect(result.cause).toContain('Error Code: AccessDeniedException');
    expect(invocations).toEqual([]);
  });

  it('in record mode the refused invoke is kept as a decision and the Task runs', async () => {
    installLocalIam({ ...ferry, stateMachineRoles: { tokens: echoOnly } }, 'record');
    const { start, invocations, tokenOf } = harness();
    await start('tokens', {});
    await tokenOf('left');
    expect(invocations.map((i) => i.functionKey)).toContain('park');
    expect(recordedDecisions()).toContainEqual(expect.objectContaining({ resource: localLambdaArn(REGION, ACCOUNT, 'park'), decision: 'ImplicitDeny' }));
  });

  it("serverless.yml's roles let each machine invoke exactly the functions its ASL calls", async () => {
    installLocalIam(ferry, 'enforce');
    const allowed = (machine: string, key: string) => {
      try {
        authorizeStateMachineInvoke(machine, localLambdaArn(REGION, ACCOUNT, key));
        return true;
      } catch {
        return false;
      }
    };
    for (const key of ['recordExportRequest', 'generateCsvReport', 'waitForBrowserConnection', 'pushLinkToBrowser', 'handleExportFailure']) {
      expect(allowed('ferry-export-local', key), key).toBe(true);
    }
    for (const key of ['scanForViruses', 'processImport', 'handleImportFailure']) {
      expect(allowed('ferry-import-local', key), key).toBe(true);
      expect(allowed('ferry-export-local', key), key).toBe(false);
    }
    expect(allowed('ferry-import-local', 'generateCsvReport')).toBe(false);
  });
});
