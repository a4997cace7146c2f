import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRecord } from '../../infra/local/infra-yaml';
import { readServerlessYml } from '../../infra/local/serverless-config';
import type { AuditEntry } from '../../core/contract';
import { FINAL_IMPORT_STATUSES, type ImportStatus } from '../../core/import/records';
import { api, importFile, pollUntil, pollUntilDone, signIn, useStack } from './client';
import { startStackProcess, type StackProcess } from './stack-process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/**
 * Less than the tasks need: their modules alone take ~20 MB of heap (they stream, so 48 MB is enough for 20,000
 * rows). Lambda's floor is 128 MB; the local stack takes any size, which is what lets this test run it out.
 */
const TOO_LITTLE_MB = 24;

/** A copy of serverless.yml (its includes inlined) where the named functions get `memorySize` MB. */
function serverlessYmlWithMemory(memorySizeMb: number, functionKeys: string[]): { path: string; remove: () => void } {
  const document = readServerlessYml(join(root, 'serverless.yml'));
  const functions = isRecord(document.functions) ? document.functions : {};
  for (const key of functionKeys) {
    const definition = functions[key];
    if (!isRecord(definition)) throw new Error(`serverless.yml has no function ${key}`);
    definition.memorySize = memorySizeMb;
  }
  const dir = mkdtempSync(join(tmpdir(), 'ferry-serverless-'));
  symlinkSync(join(root, 'functions'), join(dir, 'functions'));
  const path = join(dir, 'serverless.yml');
  writeFileSync(path, stringify(document, { aliasDuplicateObjects: false }));
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('file-heavy tasks given less memory than they need (FERRY_SERVERLESS_YML)', () => {
  let stack: StackProcess | undefined;
  let copy: { path: string; remove: () => void } | undefined;

  beforeAll(async () => {
    copy = serverlessYmlWithMemory(TOO_LITTLE_MB, ['generateCsvReport', 'processImport']);
    stack = await startStackProcess('limits', { SEED_ROWS: '20000', FERRY_SERVERLESS_YML: copy.path });
    useStack(stack.info);
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
    copy?.remove();
  });

  it('an export whose report task goes over its memorySize ends FAILED in plain words; the audit names Runtime.OutOfMemory', async () => {
    const alice = await signIn('alice');
    const { status, body } = await api<{ executionArn: string }>(alice, 'POST', '/download-request', { type: 'direct', searchCriteria: {} });
    expect(status).toBe(202);
    const done = await pollUntilDone(alice, body.executionArn, 180_000);
    expect(done.status).toBe('FAILED');
    expect(done.error).toMatch(/^The export needed more memory than Ferry gives one export/);

    const admin = await signIn('admin');
    const audit = await api<{ entries: AuditEntry[] }>(admin, 'GET', '/admin/audit?limit=20');
    const entry = audit.body.entries.find((e) => e.executionArn === body.executionArn && e.outcome === 'FAILED');
    expect(entry?.error).toMatch(/^Runtime\.OutOfMemory: RequestId: local Error: Runtime exited with error: generateCsvReport went over its memorySize/);
    expect(stack?.alive()).toBe(true);
  }, 240_000);

  it('an import whose processing task goes over its memorySize ends FAILED in plain words, and the stack keeps running', async () => {
    const alice = await signIn('alice');
    const rows = Array.from({ length: 20_000 }, (_, i) => `2024-01-01T00:00:00Z,memory row ${i} ${'w'.repeat(200)},limits`);
    const importId = await importFile(alice, ['dateCreated,content,tags', ...rows].join('\n') + '\n');
    const record = await pollUntil(
      async () => (await api<{ status: ImportStatus; reason?: string }>(alice, 'GET', `/imports/${importId}`)).body,
      (value) => FINAL_IMPORT_STATUSES.has(value.status),
      180_000,
    );
    expect(record.status).toBe('FAILED');
    expect(record.reason).toMatch(/^The import needed more memory than Ferry gives one file/);
    expect(stack?.alive()).toBe(true);
  }, 240_000);
});
