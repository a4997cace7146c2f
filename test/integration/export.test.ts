import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { simpleParser } from 'mailparser';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  allSearchHits,
  allSearchHitsByWindow,
  api,
  connectForExport,
  downloadCsv,
  outboxMessages,
  type ExportStatusBody,
  pollUntilDone,
  signIn,
  stack,
  statusPath,
  type Post,
  type Row,
} from './client';
import { SEEDED_ROWS } from './global-setup';
import { untilEnded, untilStateEntered } from './history';

/** What the CSV should say for a post: the export's cell rules (dates in UTC, tags joined by ';', formula prefixes quoted). */
const asCsvRow = (post: Post): Row => {
  const cell = (value: string) => (/^[=+\-@\t\r]/.test(value) ? `'${value}` : value);
  return { id: cell(post.id), userId: cell(post.userId), dateCreated: new Date(post.dateCreated).toISOString(), content: cell(post.content), tags: cell(post.tags.join(';')) };
};

async function startExport(token: string, type: 'direct' | 'email' | 'push', searchCriteria: Record<string, unknown>) {
  const { status, body } = await api<{ executionArn: string }>(token, 'POST', '/download-request', { type, searchCriteria });
  expect(status).toBe(202);
  expect(body.executionArn).toMatch(/^arn:aws:states:/);
  return body.executionArn;
}

/** Polls quickly until the export finishes, keeping the progress of every RUNNING answer that had one. */
async function pollRecordingProgress(token: string, executionArn: string, timeoutMs: number) {
  const progress: NonNullable<ExportStatusBody['progress']>[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status, body } = await api<ExportStatusBody>(token, 'GET', statusPath(executionArn));
    if (status !== 200) throw new Error(`status ${status}: ${JSON.stringify(body)}`);
    if (body.status !== 'RUNNING') return { done: body, progress };
    if (body.progress) progress.push(body.progress);
    if (Date.now() > deadline) throw new Error(`export still running after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let alice: string;
let bob: string;

beforeAll(async () => {
  [alice, bob] = await Promise.all([signIn('alice'), signIn('bob')]);
});

describe('the local stack', () => {
  it('reports healthy once everything is ready', async () => {
    const res = await fetch(`${stack().url}/api/health`);
    expect(res.status).toBe(200);
  });

  it('serves the web app a config naming the host it was reached by, so sign-in works at 127.0.0.1 too', async () => {
    const port = new URL(stack().url).port;
    for (const host of ['localhost', '127.0.0.1']) {
      const res = await fetch(`http://${host}:${port}/config.json`);
      const config = (await res.json()) as { apiUrl: string; wsUrl: string };
      expect(config).toMatchObject({ apiUrl: `http://${host}:${port}/api`, wsUrl: `ws://${host}:${port}/ws` });
    }
    const token = await fetch(`http://127.0.0.1:${port}/api/local/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: `http://127.0.0.1:${port}` },
      body: JSON.stringify({ username: 'alice', password: 'ferry' }),
    });
    expect(token.status).toBe(200);
  });

  it('refuses a wrong password and requests without a token', async () => {
    await expect(signIn('alice', 'wrong')).rejects.toThrow(/401/);
    expect((await api(undefined, 'GET', '/search?q=data')).status).toBe(401);
    expect((await api('not-a-token', 'GET', '/search?q=data')).status).toBe(401);
  });

  it('searches the seeded posts newest first with a total', async () => {
    const { status, body } = await api<{ total: number; page: number; pageSize: number; hits: Post[] }>(alice, 'GET', '/search?page=1&pageSize=5');
    expect(status).toBe(200);
    expect(body.total).toBe(SEEDED_ROWS);
    expect(body.hits).toHaveLength(5);
    const dates = body.hits.map((h) => h.dateCreated);
    expect([...dates].sort().reverse()).toEqual(dates);
  });
});

describe('POST /api/download-request', () => {
  it('answers 400 naming the field for an unknown delivery type', async () => {
    const { status, body } = await api<{ message: string; field: string }>(alice, 'POST', '/download-request', { type: 'fax', searchCriteria: {} });
    expect(status).toBe(400);
    expect(body.field).toBe('type');
  });

  it('answers 400 naming the field for a malformed date', async () => {
    const { status, body } = await api<{ field: string }>(alice, 'POST', '/download-request', { type: 'direct', searchCriteria: { from: 'yesterday' } });
    expect(status).toBe(400);
    expect(body.field).toBe('searchCriteria.from');
  });

  it('answers 400 naming the field for a search whose from is after its to, and starts nothing', async () => {
    const searchCriteria = { from: '2024-06-02', to: '2024-06-01' };
    const { status, body } = await api<{ field: string; message: string }>(alice, 'POST', '/download-request', { type: 'direct', searchCriteria });
    expect(status).toBe(400);
    expect(body.field).toBe('searchCriteria.from');
    expect(body.message).toMatch(/must not be after to/);
  });

  it('answers 400 naming the field for an unknown format and for excel with ndjson', async () => {
    const unknown = await api<{ field: string }>(alice, 'POST', '/download-request', { type: 'direct', format: 'xlsx' });
    expect([unknown.status, unknown.body.field]).toEqual([400, 'format']);
    const excelJson = await api<{ field: string }>(alice, 'POST', '/download-request', { type: 'direct', format: 'ndjson', excel: true });
    expect([excelJson.status, excelJson.body.field]).toEqual([400, 'excel']);
  });

  it('answers 202 with the rows the search matched', async () => {
    const searchCriteria = { userId: 'alice' };
    const expected = await allSearchHits(alice, searchCriteria);
    const { status, body } = await api<{ executionArn: string; estimatedRows: number }>(alice, 'POST', '/download-request', { type: 'direct', searchCriteria });
    expect(status).toBe(202);
    expect(body.estimatedRows).toBe(expected.length);
    expect((await pollUntilDone(alice, body.executionArn)).status).toBe('SUCCEEDED');
  });
});

describe('export options', () => {
  const criteria = { userId: 'alice' };
  let expected: Post[];
  beforeAll(async () => {
    expected = await allSearchHits(alice, criteria);
    expect(expected.length).toBeGreaterThan(0);
  });

  /** Exports with the options and downloads the finished file through its presigned link. */
  async function exportWith(options: Record<string, unknown>) {
    const { status, body } = await api<{ executionArn: string }>(alice, 'POST', '/download-request', { type: 'direct', searchCriteria: criteria, ...options });
    expect(status).toBe(202);
    const done = await pollUntilDone(alice, body.executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.rowCount).toBe(expected.length);
    const res = await fetch(done.url!);
    expect(res.status).toBe(200);
    return { bytes: Buffer.from(await res.arrayBuffer()), headers: res.headers };
  }
  const savedName = (headers: Headers) => headers.get('content-disposition')?.match(/filename="([^"]+)"/)?.[1];

  it('excel: a CSV starting with the UTF-8 byte order mark that csv-parse reads row for row', async () => {
    const { bytes, headers } = await exportWith({ excel: true });
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(headers.get('content-type')).toMatch(/^text\/csv/);
    expect(savedName(headers)).toMatch(/^ferry-export-[\d-]+\.csv$/);
    expect(parse(bytes, { columns: true, bom: true, record_delimiter: '\r\n' })).toEqual(expected.map(asCsvRow));
  });

  it('ndjson: one JSON object per line, in search order, with tags as arrays and dates in UTC', async () => {
    const { bytes, headers } = await exportWith({ format: 'ndjson' });
    expect(headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect(savedName(headers)).toMatch(/\.ndjson$/);
    const lines = bytes.toString('utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as Post);
    expect(lines).toEqual(expected.map((post) => ({ ...post, dateCreated: new Date(post.dateCreated).toISOString() })));
  });

  it('gzip: a .csv.gz that gunzips to the CSV, with the header first', async () => {
    const { bytes, headers } = await exportWith({ gzip: true });
    expect(headers.get('content-type')).toBe('application/gzip');
    expect(headers.get('content-encoding')).toBeNull();
    expect(savedName(headers)).toMatch(/\.csv\.gz$/);
    const csv = gunzipSync(bytes).toString('utf8');
    expect(csv.split('\r\n')[0]).toBe('id,userId,dateCreated,content,tags');
    expect(parse(csv, { columns: true })).toEqual(expected.map(asCsvRow));
  });

  it('gzip with ndjson and chosen columns: a .ndjson.gz of those columns only', async () => {
    const { bytes, headers } = await exportWith({ format: 'ndjson', gzip: true, columns: ['id', 'tags'] });
    expect(savedName(headers)).toMatch(/\.ndjson\.gz$/);
    const lines = gunzipSync(bytes).toString('utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as unknown);
    expect(lines).toEqual(expected.map((post) => ({ id: post.id, tags: post.tags })));
  });
});

describe('direct delivery', () => {
  it('exports exactly the rows the search shows, row for row, behind a presigned link', async () => {
    const criteria = { userId: 'alice' };
    const expected = await allSearchHits(alice, criteria);
    expect(expected.length).toBeGreaterThan(0);

    const executionArn = await startExport(alice, 'direct', criteria);
    const done = await pollUntilDone(alice, executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.rowCount).toBe(expected.length);
    expect(new Date(done.expiresAt!).getTime() - Date.now()).toBeGreaterThan(71 * 3600_000);
    expect(done.url).toMatch(/X-Amz-Signature=/);

    const csv = await downloadCsv(done.url!);
    expect(csv.text.split('\r\n')[0]).toBe('id,userId,dateCreated,content,tags');
    expect(csv.rows).toEqual(expected.map(asCsvRow));
  });

  it('signs the download link for the host the status was asked at (127.0.0.1 or localhost), and both links download', async () => {
    const executionArn = await startExport(alice, 'direct', { userId: 'bob' });
    await pollUntilDone(alice, executionArn);
    const port = new URL(stack().url).port;
    for (const host of ['127.0.0.1', 'localhost']) {
      const res = await fetch(`http://${host}:${port}/api${statusPath(executionArn)}`, { headers: { authorization: `Bearer ${alice}` } });
      const { url } = (await res.json()) as ExportStatusBody;
      expect(new URL(url!).hostname).toBe(host);
      expect((await fetch(url!)).status).toBe(200);
    }
  });

  it('exports 0 rows as a file with only the header', async () => {
    const executionArn = await startExport(alice, 'direct', { q: 'zzqxjv-no-such-word' });
    const done = await pollUntilDone(alice, executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.rowCount).toBe(0);
    const csv = await downloadCsv(done.url!);
    expect(csv.rows).toEqual([]);
    expect(csv.text.trim()).toBe('id,userId,dateCreated,content,tags');
  });

  it(`exports all ${SEEDED_ROWS.toLocaleString('en')} rows in search order`, { timeout: 600_000 }, async () => {
    const executionArn = await startExport(alice, 'direct', {});
    const { done, progress } = await pollRecordingProgress(alice, executionArn, 300_000);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.rowCount).toBe(SEEDED_ROWS);
    expect(done).not.toHaveProperty('progress');
    // While it ran, the status said how far it had got: rows growing from 0, never past the total.
    expect(progress.length).toBeGreaterThan(0);
    const written = progress.map((p) => p.rowsWritten);
    expect(written).toEqual([...written].sort((a, b) => a - b));
    expect(Math.max(...written)).toBeLessThanOrEqual(SEEDED_ROWS);
    expect(Math.max(...written)).toBeGreaterThan(0);
    expect(progress.filter((p) => p.totalRows !== undefined).every((p) => p.totalRows === SEEDED_ROWS)).toBe(true);
    const csv = await downloadCsv(done.url!);
    expect(csv.rows).toHaveLength(SEEDED_ROWS);
    const expected = await allSearchHitsByWindow(alice, {});
    expect(expected).toHaveLength(SEEDED_ROWS);
    expect(csv.rows).toEqual(expected.map(asCsvRow));
  });

  it("hides another user's export: bob gets 404 for alice's executionArn", async () => {
    const executionArn = await startExport(alice, 'direct', { userId: 'bob' });
    const { status } = await api(bob, 'GET', statusPath(executionArn));
    expect(status).toBe(404);
    expect((await pollUntilDone(alice, executionArn)).status).toBe('SUCCEEDED');
  });

  it('answers 404 for an executionArn that does not exist', async () => {
    const { status } = await api(alice, 'GET', statusPath('arn:aws:states:us-east-1:000000000000:execution:ferry-export-local:nope'));
    expect(status).toBe(404);
  });
});

describe('email delivery', () => {
  it('mails the user a link to the CSV, which downloads the search results', async () => {
    const criteria = { tags: 'travel', userId: 'bob' };
    const expected = await allSearchHits(bob, criteria);
    const before = outboxMessages().length;

    const executionArn = await startExport(bob, 'email', { tags: ['travel'], userId: 'bob' });
    const done = await pollUntilDone(bob, executionArn);
    expect(done.status).toBe('SUCCEEDED');
    // The job is SUCCEEDED as soon as its file exists; the mail is the execution's next step.
    expect(await untilEnded(executionArn)).toBe('ExecutionSucceeded');

    const mails = await Promise.all(outboxMessages().slice(before).map((raw) => simpleParser(raw)));
    const mail = mails.find((m) => (m.to && !Array.isArray(m.to) ? m.to.text : '').includes('bob@ferry.local'));
    expect(mail, 'a mail to bob in the outbox').toBeDefined();
    const link = /https?:\/\/\S+X-Amz-Signature=\S+/.exec(mail!.text ?? '')?.[0];
    expect(link).toBeDefined();
    const csv = await downloadCsv(link!);
    expect(csv.rows).toEqual(expected.map(asCsvRow));
  });
});

describe('push delivery', () => {
  it('sends export.ready to a browser that connected right away', async () => {
    const criteria = { q: 'coffee' };
    const expected = await allSearchHits(alice, criteria);
    const executionArn = await startExport(alice, 'push', criteria);
    const { socket, message } = connectForExport(alice, executionArn);
    const ready = await message;
    socket.close();
    expect(ready).toMatchObject({ type: 'export.ready', executionArn, rowCount: expected.length });
    const csv = await downloadCsv(String(ready.url));
    expect(csv.rows).toEqual(expected.map(asCsvRow));
  });

  it('sends export.ready to a browser that connects after the export began waiting', async () => {
    const executionArn = await startExport(alice, 'push', { userId: 'alice', q: 'coffee' });
    await untilStateEntered(executionArn, 'Wait for browser connection');
    const { socket, message } = connectForExport(alice, executionArn);
    const ready = await message;
    socket.close();
    expect(ready).toMatchObject({ type: 'export.ready', executionArn });
    expect((await pollUntilDone(alice, executionArn)).status).toBe('SUCCEEDED');
  });

  it("refuses a socket for another user's export", async () => {
    const executionArn = await startExport(alice, 'push', { q: 'coffee' });
    const { message } = connectForExport(bob, executionArn);
    await expect(message).rejects.toThrow(/404/);
    const { socket, message: mine } = connectForExport(alice, executionArn);
    await mine;
    socket.close();
  });

  it('still succeeds, and stays available by polling, when the socket is gone before the link is pushed', async () => {
    const executionArn = await startExport(alice, 'push', { userId: 'alice' });
    const { socket, message } = connectForExport(alice, executionArn);
    await new Promise<void>((resolve) => socket.once('open', () => resolve()));
    socket.terminate();
    await expect(message).rejects.toThrow(/closed before a message/);
    const done = await pollUntilDone(alice, executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.url).toBeDefined();
  });
});
