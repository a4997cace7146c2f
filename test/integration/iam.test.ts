import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRecord } from '../../infra/local/infra-yaml';
import { readServerlessYml } from '../../infra/local/serverless-config';
import type { AuditEntry } from '../../core/contract';
import { api, connectForExport, pollUntilDone, signIn, useStack } from './client';
import { startStackProcess, type StackProcess } from './stack-process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * A copy of serverless.yml (its includes inlined) in a directory of its own, with each `action` taken out
 * of every statement of its `role`; the handlers stay the repository's (a `functions` link beside the copy).
 */
function serverlessYmlWithout(removals: { role: string; action: string }[]): { path: string; remove: () => void } {
  const document = readServerlessYml(join(root, 'serverless.yml'));
  const fragments = Array.isArray(document.resources) ? document.resources : [document.resources];
  for (const { role, action } of removals) {
    const target = fragments.filter(isRecord).map((fragment) => (isRecord(fragment.Resources) ? fragment.Resources[role] : undefined)).find(isRecord);
    if (!target || !isRecord(target.Properties) || !Array.isArray(target.Properties.Policies)) throw new Error(`serverless.yml has no role ${role} with inline policies`);
    let removed = 0;
    for (const policy of target.Properties.Policies.filter(isRecord)) {
      const policyDocument = isRecord(policy.PolicyDocument) ? policy.PolicyDocument : {};
      const statements = Array.isArray(policyDocument.Statement) ? policyDocument.Statement.filter(isRecord) : [];
      policyDocument.Statement = statements.filter((statement) => {
        const actions = ([] as unknown[]).concat(statement.Action);
        if (!actions.includes(action)) return true;
        removed += 1;
        return false;
      });
    }
    if (removed === 0) throw new Error(`${role} grants no ${action}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'ferry-serverless-'));
  symlinkSync(join(root, 'functions'), join(dir, 'functions'));
  const path = join(dir, 'serverless.yml');
  writeFileSync(path, stringify(document, { aliasDuplicateObjects: false }));
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('roles missing one permission each (FERRY_SERVERLESS_YML)', () => {
  let stack: StackProcess | undefined;
  let copy: { path: string; remove: () => void } | undefined;

  beforeAll(async () => {
    copy = serverlessYmlWithout([
      { role: 'PushLinkToBrowserRole', action: 'execute-api:ManageConnections' },
      { role: 'GetDownloadRequestRole', action: 's3:GetObject' },
    ]);
    stack = await startStackProcess('iam-denied', { SEED_ROWS: '2000', FERRY_SERVERLESS_YML: copy.path, LOCAL_IAM: 'enforce' });
    useStack(stack.info);
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
    copy?.remove();
  });

  it('a push refused with AccessDenied is visible: the browser is told, the audit says which permission; the file stays the job\'s', async () => {
    const alice = await signIn('alice');
    const { status, body } = await api<{ executionArn: string }>(alice, 'POST', '/download-request', { type: 'push', searchCriteria: { q: 'coffee' } });
    expect(status).toBe(202);
    const { socket, message } = connectForExport(alice, body.executionArn);
    const pushed = await message;
    socket.close();
    // The failure handler's own role may push: the browser hears of the failure instead of waiting forever.
    expect(pushed).toMatchObject({ type: 'export.failed', executionArn: body.executionArn });

    // A push export is SUCCEEDED as soon as its file exists (issue 11): the push failing does not take the file away.
    const done = await pollUntilDone(alice, body.executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.rowCount).toBeGreaterThan(0);

    const admin = await signIn('admin');
    const audit = await api<{ entries: AuditEntry[] }>(admin, 'GET', '/admin/audit?limit=20');
    const entry = audit.body.entries.find((e) => e.executionArn === body.executionArn && e.outcome === 'FAILED');
    expect(entry?.error).toMatch(/^ForbiddenException: User: arn:aws:sts::000000000000:assumed-role\/PushLinkToBrowserRole\/ferry-local-pushLinkToBrowser is not authorized to perform: execute-api:ManageConnections on resource: arn:aws:execute-api:us-east-1:000000000000:local\/local\/POST\/@connections\//);
  });

  it('refuses a download link signed by a role that may not read the export: 403 AccessDenied from the local S3, naming the signer', async () => {
    const alice = await signIn('alice');
    const { body } = await api<{ executionArn: string }>(alice, 'POST', '/download-request', { type: 'direct', searchCriteria: { q: 'coffee' } });
    const done = await pollUntilDone(alice, body.executionArn);
    expect(done.status).toBe('SUCCEEDED');
    // Signing needs no permission; using the link does, as the signer (GetDownloadRequestRole, here without s3:GetObject).
    const response = await fetch(done.url!);
    expect(response.status).toBe(403);
    const text = await response.text();
    expect(text).toContain('<Code>AccessDenied</Code>');
    expect(text).toContain('assumed-role/GetDownloadRequestRole/ferry-local-getDownloadRequest is not authorized to perform: s3:GetObject');
  });
});
