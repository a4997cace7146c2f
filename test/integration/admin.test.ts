import { beforeAll, describe, expect, it } from 'vitest';
import { api, pollUntilDone, signIn } from './client';

interface AuditEntry {
  executionArn?: string;
  username: string;
  delivery: string;
  outcome: string;
  rowCount?: number;
  recordedAt: string;
}

let alice: string;
let admin: string;

beforeAll(async () => {
  [alice, admin] = await Promise.all([signIn('alice'), signIn('admin')]);
});

describe('the admin API', () => {
  it('is refused (403) to members outside the admin group', async () => {
    expect((await api(alice, 'GET', '/admin/audit')).status).toBe(403);
    expect((await api(alice, 'GET', '/admin/executions?status=FAILED')).status).toBe(403);
  });

  it('shows every export in the audit log, newest first, with who, delivery, outcome and row count', async () => {
    const { body } = await api<{ executionArn: string }>(alice, 'POST', '/download-request', {
      type: 'direct',
      searchCriteria: { userId: 'alice', q: 'coffee' },
    });
    const done = await pollUntilDone(alice, body.executionArn);

    const { status, body: audit } = await api<{ entries: AuditEntry[]; nextCursor?: string }>(admin, 'GET', '/admin/audit?limit=10');
    expect(status).toBe(200);
    const times = audit.entries.map((e) => e.recordedAt);
    expect([...times].sort().reverse()).toEqual(times);
    const mine = audit.entries.filter((e) => e.executionArn === body.executionArn);
    expect(mine.map((e) => e.outcome).sort()).toEqual(['REQUESTED', 'SUCCEEDED']);
    expect(mine.find((e) => e.outcome === 'SUCCEEDED')).toMatchObject({ username: 'alice', delivery: 'direct', rowCount: done.rowCount });
  });

  it('pages through the audit log with a cursor', async () => {
    const first = await api<{ entries: AuditEntry[]; nextCursor?: string }>(admin, 'GET', '/admin/audit?limit=1');
    expect(first.body.entries).toHaveLength(1);
    expect(first.body.nextCursor).toBeDefined();
    const second = await api<{ entries: AuditEntry[] }>(
      admin,
      'GET',
      `/admin/audit?limit=1&cursor=${encodeURIComponent(first.body.nextCursor!)}`,
    );
    expect(second.body.entries).toHaveLength(1);
    expect(second.body.entries[0]).not.toEqual(first.body.entries[0]);
  });

  it('lists failed executions, answers 404 for a Retry of one that does not exist and 409 for one that succeeded', async () => {
    const { status, body } = await api<{ executions: unknown[] }>(admin, 'GET', '/admin/executions?status=FAILED');
    expect(status).toBe(200);
    expect(Array.isArray(body.executions)).toBe(true);
    const arn = 'arn:aws:states:us-east-1:000000000000:execution:ferry-export-local:no-such-run';
    expect((await api(admin, 'POST', `/admin/executions/${encodeURIComponent(arn)}/retry`)).status).toBe(404);
    expect((await api(admin, 'POST', `/admin/executions/${encodeURIComponent(arn)}/redrive`)).status).toBe(404);

    const { body: started } = await api<{ executionArn: string }>(alice, 'POST', '/download-request', {
      type: 'direct',
      searchCriteria: { userId: 'alice', q: 'tea' },
    });
    await pollUntilDone(alice, started.executionArn);
    const retry = await api<{ message: string }>(admin, 'POST', `/admin/executions/${encodeURIComponent(started.executionArn)}/retry`);
    expect(retry.status).toBe(409);
    expect(retry.body.message).toMatch(/SUCCEEDED/);
  });

  it('answers 400 naming the field for an unknown status', async () => {
    const { status, body } = await api<{ field: string }>(admin, 'GET', '/admin/executions?status=BROKEN');
    expect(status).toBe(400);
    expect(body.field).toBe('status');
  });
});
