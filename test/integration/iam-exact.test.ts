import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImportStatusView } from '../../core/contract';
import type { DecisionRecord } from '../../infra/local/iam/enforce';
import { actionMatches, arnMatches, type PolicyStatement } from '../../infra/local/iam/evaluate';
import { localIam } from '../../infra/local/iam/local-iam';
import { clamdMissing, titled } from '../requirements';
import { api, connectForExport, downloadCsv, importFile, pollUntil, pollUntilDone, signIn, useStack } from './client';
import { untilEnded } from './history';
import { startStackProcess, type StackProcess } from './stack-process';

/**
 * Exactly the commands: one push export and one import run with LOCAL_IAM=record, and every decision the
 * local stack made (each function's SDK calls, each state machine's invokes, each presigned link used) is
 * named by the grant that allowed it. The set equals the checked-in expectation, and every grant of the
 * roles that ran is either used or listed, with why, as unused by this run.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const EXPECTED_FILE = join(root, 'test', 'integration', 'expected', 'iam-decisions.json');
const BUCKETS = { ExportsBucket: 'ferry-exports', UploadsBucket: 'ferry-uploads', PermanentBucket: 'ferry-imports', QuarantineBucket: 'ferry-quarantine' };
const iam = localIam({ serverlessYmlPath: join(root, 'serverless.yml'), buckets: BUCKETS, region: 'us-east-1', account: '000000000000' });

const list = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** `<role> <action pattern> <resource pattern>` of each grant a statement makes. */
const grantsOf = (role: string, statement: PolicyStatement): string[] =>
  statement.Effect === 'Allow' ? list(statement.Action).flatMap((action) => list(statement.Resource).map((resource) => `${role} ${action} ${resource}`)) : [];

/** The grant of the deciding statement that names this request; a refused request is named as it was made. */
function grantUsed(record: DecisionRecord): string {
  if (record.decision !== 'Allow' || !record.statement) return `${record.role} ${record.action} ${record.resource} ${record.decision}`;
  const action = list(record.statement.Action).find((pattern) => actionMatches(pattern, record.action));
  const resource = list(record.statement.Resource).find((pattern) => arnMatches(pattern, record.resource));
  return `${record.role} ${action ?? record.action} ${resource ?? record.resource}`;
}

const allRoles = [...Object.values(iam.functionRoles), ...Object.values(iam.stateMachineRoles)];
const grantsOfRole = (name: string): string[] => {
  const role = allRoles.find((candidate) => candidate.name === name);
  return (role?.policies ?? []).flatMap((policy) => (Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement])).flatMap((s) => grantsOf(name, s));
};

/**
 * Grants no local call can use, left out of the comparison: what the Lambda service does with the
 * function's role (logs, traces, a VPC's network interfaces), OpenSearch's signed calls (the local stack
 * searches its embedded store), and the `<function>:*` versions the generated invoke grants name beside
 * the unqualified ARN each Task calls.
 */
const usedOnlyInAws = (grant: string): boolean => {
  const [, action = '', resource = ''] = grant.split(' ');
  return /^(logs|xray|ec2|es):/.test(action) || (action === 'lambda:InvokeFunction' && resource.endsWith(':*'));
};

interface Expectation {
  decisions: string[];
  /** Grants of the roles that ran that this run did not use, each with why. */
  unusedGrants: Record<string, string>;
}

const why = clamdMissing();
let stack: StackProcess | undefined;

describe.skipIf(why)(titled('each role allows exactly what its function sends (LOCAL_IAM=record)', why), () => {
  beforeAll(async () => {
    stack = await startStackProcess('iam-record', { SEED_ROWS: '2000', LOCAL_IAM: 'record' });
    useStack(stack.info);
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('one push export and one import make exactly the checked-in decisions, and use every grant of their roles but the listed ones', async () => {
    const alice = await signIn('alice');
    const started = await api<{ executionArn: string }>(alice, 'POST', '/download-request', { type: 'push', searchCriteria: { q: 'coffee' } });
    expect(started.status).toBe(202);
    const { socket, message } = connectForExport(alice, started.body.executionArn);
    const ready = await message;
    socket.close();
    expect(ready).toMatchObject({ type: 'export.ready' });
    await downloadCsv(String(ready.url));
    const exported = await pollUntilDone(alice, started.body.executionArn);
    expect(exported.status).toBe('SUCCEEDED');
    await downloadCsv(exported.url!);

    const word = `zq${randomBytes(6).toString('hex')}`;
    const content = `userId,dateCreated,content,tags\nalice,2024-01-01T00:00:00.000Z,Imported post about ${word},${word}\n`;
    const importId = await importFile(alice, content, { sha256: createHash('sha256').update(content).digest('hex') });
    const imported = await pollUntil(
      async () => (await api<ImportStatusView>(alice, 'GET', `/imports/${importId}`)).body,
      (body) => body.status !== 'RUNNING' && body.status !== 'AWAITING_UPLOAD',
    );
    expect(imported.status).toBe('SUCCEEDED');
    // The record says SUCCEEDED before the execution ends: the slot's release and "Notify user" come after it.
    expect(await untilEnded(imported.executionArn!)).toBe('ExecutionSucceeded');

    const records = readFileSync(join(stack!.info.dataDir, 'iam', 'decisions.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as DecisionRecord);
    const decisions = [...new Set(records.map(grantUsed))].sort();
    const used = new Set(decisions);
    const ran = [...new Set(records.map((record) => record.role))];
    const unused = ran.flatMap(grantsOfRole).filter((grant) => !used.has(grant) && !usedOnlyInAws(grant));

    const expected = JSON.parse(readFileSync(EXPECTED_FILE, 'utf8')) as Expectation;
    if (process.env.UPDATE_IAM_EXPECTED === '1') {
      // After a deliberate change of what the functions call: rewrite the expectation, keeping each known reason.
      const unusedGrants = Object.fromEntries([...new Set(unused)].sort().map((grant) => [grant, expected.unusedGrants[grant] ?? 'NEW: say why']));
      writeFileSync(EXPECTED_FILE, `${JSON.stringify({ ...expected, decisions, unusedGrants }, null, 2)}\n`);
      return;
    }
    // The push rendezvous resumes the export from whichever side comes second: the browser's $connect (WsConnectRole)
    // when the wait has begun, the wait's own task (WaitForBrowserConnectionRole) when the browser was first. Which
    // one it is depends on timing, so the run must use one of the two, and the other may go unused.
    const rendezvous = new Set(['WsConnectRole states:SendTaskSuccess *', 'WaitForBrowserConnectionRole states:SendTaskSuccess *']);
    expect(decisions.filter((grant) => rendezvous.has(grant))).toHaveLength(1);
    const apart = (grants: string[]) => grants.filter((grant) => !rendezvous.has(grant)).sort();
    expect(apart(decisions)).toEqual(apart(expected.decisions));
    expect(apart([...new Set(unused)])).toEqual(apart(Object.keys(expected.unusedGrants)));
  });
});
