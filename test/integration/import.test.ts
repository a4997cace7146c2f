import { createHash, randomBytes } from 'node:crypto';
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  connectForImport,
  createImport,
  downloadCsv,
  importFile,
  mailMatching,
  pollUntil,
  pollUntilDone,
  signIn,
  stack,
  uploadWithForm,
  useStack,
  type UploadForm,
} from './client';
import { executionsNamedLike, historyOf, peakFilesInFlight, timesEntered } from './history';
import { startStackProcess, type StackProcess } from './stack-process';
import { clamdMissing, titled } from '../requirements';
import type { AuditEntry, BatchStatusView, ImportStatusView } from '../../core/contract';

/**
 * Imports through the public protocols only: the HTTP API, the browser's upload to the local S3 with the
 * presigned POST form (fetch + FormData, as a browser sends it), and, to see how many files of a batch
 * ran at once, the execution history from the local Step Functions endpoint.
 *
 * These tests boot a local stack of their own (`npm start`'s entry point, no seeded posts): imports add
 * posts, mail and quarantined files, and the export tests count every post of the shared stack.
 */

let own: StackProcess | undefined;

/** The bodies as the server's own contract types them, so a renamed field fails to compile here too. */
type ImportStatusBody = ImportStatusView;
type BatchStatusBody = BatchStatusView;

/** The EICAR test string, assembled so this file itself is not flagged by a scanner. */
const EICAR = ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'].join('');

/** A word no seeded post contains, so a search for it finds exactly what an import added. */
const marker = () => `zq${randomBytes(6).toString('hex')}`;

/** Rows without a userId column: the uploader is their author (a member may import only their own posts). */
const csvOf = (word: string, rows: number, isBad: (row: number) => boolean = () => false) =>
  [
    'dateCreated,content,tags',
    ...Array.from({ length: rows }, (_, i) => {
      const row = i + 1;
      const date = isBad(row) ? 'not-a-date' : new Date(Date.UTC(2023, 0, 1) + row * 60_000).toISOString();
      return `${date},Imported post ${row} about ${word},imported;${word}`;
    }),
  ].join('\n') + '\n';

/** The signed-in user's id, as the API reads it from the ID token. */
const userIdOf = (token: string): string => (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub: string }).sub;

async function importStatus(token: string, id: string) {
  const { status, body } = await api<ImportStatusBody>(token, 'GET', `/imports/${id}`);
  if (status !== 200) throw new Error(`status ${status}: ${JSON.stringify(body)}`);
  return body;
}

const finished = (token: string, importId: string) =>
  pollUntil(
    () => importStatus(token, importId),
    (body) => body.status !== 'RUNNING' && body.status !== 'AWAITING_UPLOAD',
  );

async function searchTotal(token: string, q: string): Promise<{ total: number; ids: string[] }> {
  const { status, body } = await api<{ total: number; hits: { id: string }[] }>(token, 'GET', `/search?q=${q}&pageSize=100`);
  expect(status).toBe(200);
  return { total: body.total, ids: body.hits.map((hit) => hit.id) };
}

/** One clean row, its content padded so the file is exactly `bytes` long (a presigned form pins the size). */
function sameSizeCleanCsv(word: string, bytes: number): string {
  const row = (pad: number) => `userId,dateCreated,content,tags\nimporter-1,2023-01-01T00:01:00.000Z,Imported post about ${word}${' '.repeat(pad)},imported\n`;
  const text = row(bytes - Buffer.byteLength(row(0)));
  if (Buffer.byteLength(text) !== bytes) throw new Error(`cannot make a clean CSV of ${bytes} bytes`);
  return text;
}

const UPLOADS_BUCKET = (form: UploadForm) => new URL(form.url).pathname.split('/')[1] ?? '';

/** The keys under `prefix` in a bucket of the local S3, listed as an operator would. */
async function objectsUnder(bucket: string, prefix: string): Promise<string[]> {
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: stack().s3Endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  try {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    return (listed.Contents ?? []).map((object) => object.Key ?? '');
  } finally {
    s3.destroy();
  }
}

let alice: string;
let bob: string;
let admin: string;

beforeAll(async () => {
  own = await startStackProcess('it-import', { SEED_ROWS: '0' });
  useStack(own.info);
  [alice, bob, admin] = await Promise.all([signIn('alice'), signIn('bob'), signIn('admin')]);
});

afterAll(async () => {
  await own?.stop();
});

describe('POST /api/imports', () => {
  it.each([
    [{ fileName: 'a.csv', size: 0, contentType: 'text/csv', type: 'direct' }, 'size'],
    [{ fileName: 'a.csv', size: 10, contentType: 'text/csv', type: 'fax' }, 'type'],
    [{ size: 10, contentType: 'text/csv', type: 'direct' }, 'fileName'],
    [{ fileName: 'a.csv', size: 100 * 1024 ** 3, contentType: 'text/csv', type: 'direct' }, 'size'],
    [
      {
        files: [
          { fileName: 'a.csv', size: 1, contentType: 'text/csv' },
          { fileName: 'b.csv', size: 1, contentType: 'not a type' },
        ],
        type: 'direct',
      },
      'files[1].contentType',
    ],
  ])('answers 400 naming the field for %j', async (body, field) => {
    const { status, body: answer } = await api<{ field: string; message: string }>(alice, 'POST', '/imports', body);
    expect(status).toBe(400);
    expect(answer.field).toBe(field);
  });
});

describe.skipIf(clamdMissing())(titled('importing through the local stack', clamdMissing()), () => {
  it('a clean CSV is checked, imported, and its rows then appear in search', async () => {
    const word = marker();
    const content = csvOf(word, 25);
    const importId = await importFile(alice, content, { sha256: createHash('sha256').update(content).digest('hex') });

    const status = await finished(alice, importId);
    expect(status).toMatchObject({
      status: 'SUCCEEDED',
      checks: { antivirus: 'clean', checksum: 'verified', format: 'csv' },
      rowsImported: 25,
      rowsRejected: 0,
    });
    expect(status.errorReportUrl).toBeUndefined();
    const found = await searchTotal(alice, word);
    expect(found.total).toBe(25);
    expect(found.ids.sort()).toEqual(Array.from({ length: 25 }, (_, i) => `${importId}-${i + 1}`).sort());
  });

  it('the EICAR file is quarantined, nothing from it is indexed, and admins (only) see it in the quarantine', async () => {
    const word = marker();
    const content = `dateCreated,content,tags\n2024-01-01T00:00:00Z,${word} ${EICAR},x\n`;
    const importId = await importFile(alice, content);

    const status = await finished(alice, importId);
    expect(status).toMatchObject({ status: 'QUARANTINED', checks: { antivirus: 'infected' } });
    expect(status.reason).toMatch(/Eicar/);
    expect(status.signature).toMatch(/Eicar/);
    expect((await searchTotal(alice, word)).total).toBe(0);

    const listed = await api<{ items: Array<{ importId: string; username: string; signature: string; fileName: string }> }>(
      admin,
      'GET',
      '/admin/quarantine',
    );
    expect(listed.status).toBe(200);
    expect(listed.body.items).toContainEqual(
      expect.objectContaining({
        importId,
        username: 'alice',
        fileName: 'posts.csv',
        signature: expect.stringMatching(/^Eicar-Test-Signature/),
      }),
    );
    expect((await api(alice, 'GET', '/admin/quarantine')).status).toBe(403);
    expect(await mailMatching((mail) => mail.includes(importId) && /quarantined/i.test(mail))).toContain(importId);
  });

  it('a file with 10% bad rows imports the rest and gives an error report of exactly the bad rows', async () => {
    const word = marker();
    const isBad = (row: number) => row % 10 === 0;
    const importId = await importFile(alice, csvOf(word, 100, isBad), { type: 'email' });

    const status = await finished(alice, importId);
    expect(status).toMatchObject({ status: 'SUCCEEDED', rowsImported: 90, rowsRejected: 10 });
    expect((await searchTotal(alice, word)).total).toBe(90);

    const res = await fetch(status.errorReportUrl ?? '');
    expect(res.status).toBe(200);
    // The file's own columns, then the spreadsheet line (header = line 1) and the reason in plain words.
    const report = parse(await res.text(), { columns: true }) as Array<Record<string, string>>;
    expect(report.map((row) => Number(row.line))).toEqual([11, 21, 31, 41, 51, 61, 71, 81, 91, 101]);
    expect(
      report.every((row) => row.error === 'dateCreated is not a date: not-a-date (expected ISO 8601, such as 2024-05-01T10:00:00Z)'),
    ).toBe(true);
    expect(report[0]).toEqual({
      dateCreated: 'not-a-date',
      content: `Imported post 10 about ${word}`,
      tags: `imported;${word}`,
      line: '11',
      error: expect.stringMatching(/^dateCreated is not a date/),
    });
    expect(await mailMatching((mail) => mail.includes('90 rows imported'))).toContain('90 rows imported, 10 rejected');
  });

  describe('real-world files', () => {
    // These files name other authors (zoë, józef, …): an admin imports them, as members may import only their own posts.
    const rowsOf = (word: string, delimiter: string) =>
      [
        ['userId', 'dateCreated', 'content', 'tags'],
        ['zoë', '2024-05-01T10:00:00Z', `"Café, naïve; 10 € ${word}"`, `"imported;${word}"`],
        ['józef', '2024-05-02T10:00:00+02:00', `plain ${word}`, word],
      ]
        .map((cells) => cells.join(delimiter))
        .join('\r\n') + '\r\n';

    async function contents(q: string): Promise<string[]> {
      const { body } = await api<{ hits: Array<{ content: string }> }>(admin, 'GET', `/search?q=${q}&pageSize=100`);
      return body.hits.map((hit) => hit.content).sort();
    }

    it.each([
      ['semicolon-delimited UTF-8', ';', (text: string) => Buffer.from(text), 'utf-8'],
      [
        'tab-delimited UTF-8 with BOM',
        '\t',
        (text: string) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]),
        'utf-8-bom',
      ],
      ['semicolon-delimited Windows-1252 (European Excel)', ';', (text: string) => iconv.encode(text, 'windows-1252'), 'windows-1252'],
      [
        'tab-delimited UTF-16 LE (Excel "Unicode text")',
        '\t',
        (text: string) => iconv.encode(text, 'utf-16le', { addBOM: true }),
        'utf-16le',
      ],
      ['pipe-delimited UTF-16 BE', '|', (text: string) => iconv.encode(text, 'utf-16be', { addBOM: true }), 'utf-16be'],
    ] as const)(
      'a %s file imports, its characters intact, and the status names its encoding and delimiter',
      async (_name, delimiter, encode, encoding) => {
        const word = marker();
        const importId = await importFile(admin, encode(rowsOf(word, delimiter)));

        expect(await finished(admin, importId)).toMatchObject({
          status: 'SUCCEEDED',
          checks: { format: 'csv' },
          encoding,
          delimiter,
          rowsImported: 2,
          rowsRejected: 0,
        });
        expect(await contents(word)).toEqual([`Café, naïve; 10 € ${word}`, `plain ${word}`]);
      },
    );

    it('a stray quote inside a field imports as written; a quote never closed rejects its row alone, by line number', async () => {
      const word = marker();
      const content = [
        'userId,dateCreated,content',
        `admin,2024-05-01T10:00:00Z,the 5" floppy ${word}`,
        `admin,2024-05-01T10:00:00Z,"broken ${word}`,
        `admin,2024-05-01T10:00:00Z,after it ${word}`,
      ].join('\n');
      const importId = await importFile(admin, content + '\n');

      const status = await finished(admin, importId);
      expect(status).toMatchObject({ status: 'SUCCEEDED', rowsImported: 2, rowsRejected: 1 });
      expect(await contents(word)).toEqual([`after it ${word}`, `the 5" floppy ${word}`]);
      const report = parse(await (await fetch(status.errorReportUrl ?? '')).text(), { columns: true }) as Array<Record<string, string>>;
      expect(report).toEqual([
        {
          userId: `admin,2024-05-01T10:00:00Z,"broken ${word}`,
          dateCreated: '',
          content: '',
          line: '3',
          error: expect.stringContaining('never closed'),
        },
      ]);
    });

    it('the error report opens like the file did: its delimiter, its encoding, its columns, plus line and error', async () => {
      const word = marker();
      const text = [
        'userId;dateCreated;content',
        `zoë;31/02/2024;Café ${word}`,
        `józef;2024-05-01T10:00:00Z;`,
        `ok;2024-05-01T10:00:00Z;fine ${word}`,
      ].join('\r\n');
      const importId = await importFile(admin, iconv.encode(text + '\r\n', 'windows-1252'));

      const status = await finished(admin, importId);
      expect(status).toMatchObject({ status: 'SUCCEEDED', encoding: 'windows-1252', delimiter: ';', rowsImported: 1, rowsRejected: 2 });
      const res = await fetch(status.errorReportUrl ?? '');
      expect(res.headers.get('content-type')).toBe('text/csv; charset=windows-1252');
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(bytes.includes(Buffer.from('Café'))).toBe(false); // not UTF-8
      expect(parse(iconv.decode(bytes, 'windows-1252'), { delimiter: ';' })).toEqual([
        ['userId', 'dateCreated', 'content', 'line', 'error'],
        ['zoë', '31/02/2024', `Café ${word}`, '2', expect.stringMatching(/^dateCreated is not a date: 31\/02\/2024/)],
        ['józef', '2024-05-01T10:00:00Z', '', '3', 'content is empty'],
      ]);

      const utf16 = await importFile(
        admin,
        iconv.encode(`userId\tdateCreated\tcontent\r\nzoë\tnever\tx ${word}\r\n`, 'utf-16le', { addBOM: true }),
      );
      const utf16Status = await finished(admin, utf16);
      const utf16Report = Buffer.from(await (await fetch(utf16Status.errorReportUrl ?? '')).arrayBuffer());
      expect([...utf16Report.subarray(0, 2)]).toEqual([0xff, 0xfe]);
      expect(parse(iconv.decode(utf16Report, 'utf-16le'), { delimiter: '\t' })[1]).toEqual([
        'zoë',
        'never',
        `x ${word}`,
        '2',
        expect.stringMatching(/^dateCreated/),
      ]);
    });
  });

  describe('preview, mapping and dry run', () => {
    it('a file whose header is not post fields waits in NEEDS_MAPPING with a preview; the mapping sent resumes it and its rows import', async () => {
      const word = marker();
      const content = `Author;Posted at;Text;Likes\r\nzoë;2024-05-01T10:00:00Z;first ${word};3\r\nbob;never;second ${word};0\r\njo;2024-05-02T10:00:00Z;third ${word};1\r\n`;
      const importId = await importFile(admin, content);

      const waiting = await pollUntil(
        () => importStatus(admin, importId),
        (body) => body.status !== 'RUNNING' && body.status !== 'AWAITING_UPLOAD',
      );
      expect(waiting).toMatchObject({
        status: 'NEEDS_MAPPING',
        delimiter: ';',
        encoding: 'utf-8',
        preview: {
          columns: ['Author', 'Posted at', 'Text', 'Likes'],
          rows: [
            ['zoë', '2024-05-01T10:00:00Z', `first ${word}`, '3'],
            ['bob', 'never', `second ${word}`, '0'],
            ['jo', '2024-05-02T10:00:00Z', `third ${word}`, '1'],
          ],
          delimiter: ';',
          encoding: 'utf-8',
          suggestedMapping: { Author: 'userId', 'Posted at': 'dateCreated', Text: 'content', Likes: null },
        },
      });
      expect((await searchTotal(admin, word)).total).toBe(0);

      const bad = await api<{ field: string; message: string }>(admin, 'POST', `/imports/${importId}/mapping`, {
        mapping: { Author: 'userId' },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.message).toMatch(/no column is mapped to dateCreated, content/);
      expect((await api(bob, 'POST', `/imports/${importId}/mapping`, { mapping: {} })).status).toBe(404);

      const mapping = { Author: 'userId', 'Posted at': 'dateCreated', Text: 'content', Likes: null };
      const resumed = await api(admin, 'POST', `/imports/${importId}/mapping`, { mapping });
      expect(resumed).toMatchObject({ status: 202, body: { importId, status: 'RUNNING' } });
      expect((await api(admin, 'POST', `/imports/${importId}/mapping`, { mapping })).status).toBe(409);

      const done = await finished(admin, importId);
      expect(done).toMatchObject({ status: 'SUCCEEDED', rowsImported: 2, rowsRejected: 1, mapping });
      expect(done.preview).toBeUndefined();
      expect((await searchTotal(admin, word)).total).toBe(2);
      const report = parse(await (await fetch(done.errorReportUrl ?? '')).text(), { columns: true, delimiter: ';' }) as Array<
        Record<string, string>
      >;
      expect(report).toEqual([
        {
          Author: 'bob',
          'Posted at': 'never',
          Text: `second ${word}`,
          Likes: '0',
          line: '3',
          error: expect.stringMatching(/^dateCreated is not a date/),
        },
      ]);
    });

    it('an import cancelled while it waits for its mapping ends CANCELLED with nothing imported, and a late mapping is refused', async () => {
      const word = marker();
      const content = `Author;Posted at;Text\r\nzoë;2024-05-01T10:00:00Z;cancelled ${word}\r\n`;
      const importId = await importFile(admin, content);
      await pollUntil(
        () => importStatus(admin, importId),
        (body) => body.status === 'NEEDS_MAPPING',
      );

      expect(await api(admin, 'DELETE', `/imports/${importId}`)).toEqual({ status: 200, body: { importId, status: 'CANCELLED' } });
      const mapping = { Author: 'userId', 'Posted at': 'dateCreated', Text: 'content' };
      expect((await api(admin, 'POST', `/imports/${importId}/mapping`, { mapping })).status).toBe(409);
      expect(await importStatus(admin, importId)).toMatchObject({ status: 'CANCELLED', reason: 'The import was cancelled.', rowsImported: 0 });
      expect((await searchTotal(admin, word)).total).toBe(0);
    });

    it('a mapping given with POST /api/imports imports at once, without waiting', async () => {
      const word = marker();
      const content = `Writer,When,Body\nzoë,2024-05-01T10:00:00Z,up front ${word}\n`;
      const created = await createImport(admin, {
        fileName: 'mapped.csv',
        size: Buffer.byteLength(content),
        contentType: 'text/csv',
        type: 'direct',
        mapping: { Writer: 'userId', When: 'dateCreated', Body: 'content' },
      });
      await uploadWithForm(created.upload, content, 'text/csv');

      expect(await finished(admin, created.importId)).toMatchObject({ status: 'SUCCEEDED', rowsImported: 1 });
      expect((await searchTotal(admin, word)).total).toBe(1);
    });

    it('a dry run runs every check and validation, reports the counts and the rejected rows, and leaves the index untouched', async () => {
      const word = marker();
      const content = csvOf(word, 20, (row) => row % 5 === 0);
      const created = await createImport(admin, {
        fileName: 'dry.csv',
        size: Buffer.byteLength(content),
        contentType: 'text/csv',
        type: 'direct',
        dryRun: true,
      });
      await uploadWithForm(created.upload, content, 'text/csv');

      const status = await finished(admin, created.importId);
      expect(status).toMatchObject({
        status: 'SUCCEEDED',
        dryRun: true,
        checks: { antivirus: 'clean', format: 'csv' },
        rowsImported: 16,
        rowsRejected: 4,
      });
      const report = parse(await (await fetch(status.errorReportUrl ?? '')).text(), { columns: true }) as Array<Record<string, string>>;
      expect(report.map((row) => row.line)).toEqual(['6', '11', '16', '21']);
      expect((await searchTotal(admin, word)).total).toBe(0);
    });
  });

  it('pushes import.finished to a browser connected for the import (push delivery)', async () => {
    const word = marker();
    const content = csvOf(word, 5);
    const created = await createImport(alice, {
      fileName: 'push.csv',
      size: Buffer.byteLength(content),
      contentType: 'text/csv',
      type: 'push',
    });
    const { socket, message } = connectForImport(alice, created.importId);
    await new Promise<void>((resolve) => socket.once('open', () => resolve()));
    await uploadWithForm(created.upload, content, 'text/csv');

    const finishedMessage = await message;
    socket.close();
    expect(finishedMessage).toMatchObject({
      type: 'import.finished',
      id: created.importId,
      files: [{ importId: created.importId, status: 'SUCCEEDED', rowsImported: 5 }],
    });
    expect((await finished(alice, created.importId)).rowsImported).toBe(5);
  });

  it("refuses a socket for another user's import", async () => {
    const created = await createImport(alice, { fileName: 'mine.csv', size: 10, contentType: 'text/csv', type: 'push' });
    await expect(connectForImport(bob, created.importId).message).rejects.toThrow(/404/);
  });

  it('the same upload arriving twice, completed twice and uploaded again imports its rows once', async () => {
    const word = marker();
    const content = csvOf(word, 12);
    const created = await createImport(alice, {
      fileName: 'twice.csv',
      size: Buffer.byteLength(content),
      contentType: 'text/csv',
      type: 'direct',
    });
    await uploadWithForm(created.upload, content, 'text/csv');
    const completions = await Promise.all([1, 2].map(() => api(alice, 'POST', `/imports/${created.importId}/complete`, {})));
    expect(completions.map((c) => c.status)).toEqual([202, 202]);

    expect(await finished(alice, created.importId)).toMatchObject({ status: 'SUCCEEDED', rowsImported: 12 });
    await uploadWithForm(created.upload, content, 'text/csv');
    expect((await api(alice, 'POST', `/imports/${created.importId}/complete`, {})).status).toBe(202);
    // The late upload's event has been handled once its object is deleted (an ended import never checks it).
    await pollUntil(
      () => objectsUnder(UPLOADS_BUCKET(created.upload), created.upload.fields.key ?? ''),
      (keys) => keys.length === 0,
      30_000,
    );

    const status = await importStatus(alice, created.importId);
    expect(status).toMatchObject({ status: 'SUCCEEDED', rowsImported: 12 });
    // Nothing else happened: one execution under the import's name, which ran "Import valid rows" once and ended.
    const executionArn = status.executionArn ?? '';
    expect((await executionsNamedLike(executionArn, created.importId)).map((execution) => execution.status)).toEqual(['SUCCEEDED']);
    expect(timesEntered(await historyOf(executionArn), 'Import valid rows')).toBe(1);
    expect((await searchTotal(alice, word)).total).toBe(12);
  });

  it('a file whose SHA-256 is not the one the browser computed is rejected, and one that is not CSV too', async () => {
    const content = csvOf(marker(), 3);
    const mismatch = await importFile(alice, content, { sha256: 'f'.repeat(64) });
    const pdf = await importFile(alice, '%PDF-1.7\n1 0 obj\n<<>>\nendobj\n', { contentType: 'text/csv' });

    expect(await finished(alice, mismatch)).toMatchObject({
      status: 'REJECTED',
      checks: { checksum: 'mismatch' },
      reason: expect.stringMatching(/SHA-256/),
    });
    expect(await finished(alice, pdf)).toMatchObject({
      status: 'REJECTED',
      checks: { format: 'unknown' },
      reason: expect.stringMatching(/PDF/),
    });
  });

  it('an upload swapped for EICAR through its still-valid form while the import waits is rejected as changed: nothing of it imported or kept', async () => {
    const cleanWord = marker();
    const swappedWord = marker();
    const swapped = `userId,dateCreated,content,tags\nmallory,2024-01-01T00:00:00Z,${swappedWord} ${EICAR},x\n`;
    const clean = sameSizeCleanCsv(cleanWord, Buffer.byteLength(swapped));
    const other = csvOf(marker(), 2);
    const { body } = await api<{ batchId: string; imports: Array<{ importId: string; upload: UploadForm }> }>(alice, 'POST', '/imports', {
      type: 'direct',
      files: [
        { fileName: 'pinned.csv', size: Buffer.byteLength(clean), contentType: 'text/csv' },
        { fileName: 'other.csv', size: Buffer.byteLength(other), contentType: 'text/csv' },
      ],
    });
    const [pinned, second] = body.imports;
    if (!pinned || !second) throw new Error('expected two imports');

    // The clean file arrives (and is pinned); the batch waits for its second file while the form is used again.
    await uploadWithForm(pinned.upload, clean, 'text/csv');
    await pollUntil(
      () => importStatus(alice, pinned.importId),
      (file) => file.status === 'RUNNING',
    );
    await uploadWithForm(pinned.upload, swapped, 'text/csv');
    await uploadWithForm(second.upload, other, 'text/csv');

    const batchDone = await pollUntil(
      async () => (await api<BatchStatusBody>(alice, 'GET', `/imports/${body.batchId}`)).body,
      (b) => b.status === 'COMPLETED',
    );
    expect(batchDone.files.map((file) => file.status)).toEqual(['REJECTED', 'SUCCEEDED']);
    expect(batchDone.files[0]?.reason).toMatch(/^The file changed after it was uploaded/);
    expect(batchDone.files[0]?.rowsImported).toBe(0);
    expect((await searchTotal(alice, swappedWord)).total).toBe(0);
    expect((await searchTotal(alice, cleanWord)).total).toBe(0);
    expect(await objectsUnder(UPLOADS_BUCKET(pinned.upload), pinned.upload.fields.key ?? '')).toEqual([]);
  });

  it('an upload swapped for EICAR right after it arrived is never imported with the swapped bytes, and nothing of it is left in the uploads bucket', async () => {
    const cleanWord = marker();
    const swappedWord = marker();
    const swapped = `userId,dateCreated,content,tags\nmallory,2024-01-01T00:00:00Z,${swappedWord} ${EICAR},x\n`;
    const clean = sameSizeCleanCsv(cleanWord, Buffer.byteLength(swapped));
    const created = await createImport(alice, { fileName: 'raced.csv', size: Buffer.byteLength(clean), contentType: 'text/csv', type: 'direct' });

    await uploadWithForm(created.upload, clean, 'text/csv');
    await uploadWithForm(created.upload, swapped, 'text/csv');

    const status = await finished(alice, created.importId);
    // Whichever moment the swap landed: before the pin (the EICAR bytes are what is checked, and quarantined),
    // during the checks (rejected as changed) or after the import (the clean rows only, the late upload deleted).
    expect(['QUARANTINED', 'REJECTED', 'SUCCEEDED']).toContain(status.status);
    if (status.status === 'SUCCEEDED') expect(status.rowsImported).toBe(1);
    if (status.status === 'REJECTED') expect(status.reason).toMatch(/^The file changed after it was uploaded/);
    expect((await searchTotal(alice, swappedWord)).total).toBe(0);
    await pollUntil(
      () => objectsUnder(UPLOADS_BUCKET(created.upload), created.upload.fields.key ?? ''),
      (keys) => keys.length === 0,
      30_000,
    );
  });

  it("another user's import is not found", async () => {
    const importId = await importFile(alice, csvOf(marker(), 1));
    expect((await api(bob, 'GET', `/imports/${importId}`)).status).toBe(404);
    expect((await api(bob, 'POST', `/imports/${importId}/complete`, {})).status).toBe(404);
    expect((await api(alice, 'GET', `/imports/${importId}`)).status).toBe(200);
  });

  it('a batch of 200 small files runs as one execution, at most IMPORT_MAP_CONCURRENCY files at a time, and says how each ended', async () => {
    const word = marker();
    const files = Array.from({ length: 200 }, (_, i) => {
      const content = csvOf(word, 1).replace('Imported post 1', `Imported file ${i + 1}`);
      return { fileName: `file-${i + 1}.csv`, content };
    });
    const { status, body } = await api<{ batchId: string; imports: Array<{ importId: string; fileName: string; upload: UploadForm }> }>(
      alice,
      'POST',
      '/imports',
      {
        type: 'direct',
        files: files.map((file) => ({ fileName: file.fileName, size: Buffer.byteLength(file.content), contentType: 'text/csv' })),
      },
    );
    expect(status).toBe(201);
    expect(body.imports).toHaveLength(200);

    const readBatch = async () => (await api<BatchStatusBody>(alice, 'GET', `/imports/${body.batchId}`)).body;
    expect(await readBatch()).toMatchObject({ status: 'AWAITING_UPLOAD', checksComplete: false });
    for (let i = 0; i < body.imports.length; i += 20) {
      await Promise.all(
        body.imports.slice(i, i + 20).map((file, j) => uploadWithForm(file.upload, files[i + j]?.content ?? '', 'text/csv')),
      );
    }

    const batch = await pollUntil(readBatch, (b) => b.status === 'COMPLETED', 180_000);
    expect(batch.checksComplete).toBe(true);
    expect(batch.counts).toMatchObject({ SUCCEEDED: 200, FAILED: 0, RUNNING: 0 });
    expect(batch.files.map((file) => file.importId)).toEqual(body.imports.map((file) => file.importId));
    expect((await searchTotal(alice, word)).total).toBe(200);

    const executionArns = new Set(batch.files.map((file) => file.executionArn));
    expect(executionArns.size).toBe(1);
    const [executionArn] = [...executionArns];
    expect(executionArn).toMatch(new RegExp(`:${body.batchId}$`));
    const peak = await peakFilesInFlight(executionArn ?? '', 'Import valid rows');
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(10);
  });
});

describe.skipIf(clamdMissing())(titled('a mapping that never comes', clamdMissing()), () => {
  // A stack of its own whose imports wait one second for their mapping (IMPORT_MAPPING_TIMEOUT_SECONDS).
  let expiring: StackProcess | undefined;
  beforeAll(async () => {
    expiring = await startStackProcess('it-import-expiry', { SEED_ROWS: '0', IMPORT_MAPPING_TIMEOUT_SECONDS: '1' });
    useStack(expiring.info);
  }, 120_000);
  afterAll(async () => {
    await expiring?.stop();
    if (own) useStack(own.info);
  });

  it('ends the import EXPIRED once the configured wait is over, with nothing imported; a late mapping is refused', async () => {
    const token = await signIn('admin');
    const word = marker();
    const importId = await importFile(token, `Author;Posted at;Text\r\nzoë;2024-05-01T10:00:00Z;never mapped ${word}\r\n`);

    const ended = await pollUntil(
      () => importStatus(token, importId),
      (body) => body.status !== 'RUNNING' && body.status !== 'AWAITING_UPLOAD' && body.status !== 'NEEDS_MAPPING',
    );
    expect(ended).toMatchObject({ status: 'EXPIRED', rowsImported: 0 });
    expect(ended.reason).toMatch(/nothing from the file was imported/);
    const mapping = { Author: 'userId', 'Posted at': 'dateCreated', Text: 'content' };
    expect((await api(token, 'POST', `/imports/${importId}/mapping`, { mapping })).status).toBe(409);
    expect((await searchTotal(token, word)).total).toBe(0);
  });
});

describe.skipIf(clamdMissing())(titled('imports users can trust: all or nothing, upsert by id, exact round trip, authorship', clamdMissing()), () => {
  const expectSucceeded = (status: ImportStatusBody) => expect(status.status, status.reason).toBe('SUCCEEDED');

  it('a file failing part-way leaves nothing searchable, and its fixed re-upload leaves exactly its rows', async () => {
    const word = marker();
    const good = csvOf(word, 1500);
    // Past the first 1,000 rows (one staged batch), a record longer than any post may be: the rest cannot be delimited.
    const broken = `${good}${new Date(Date.UTC(2023, 5, 1)).toISOString()},"${'x'.repeat(1_100_000)}",${word}\n`;
    const failedId = await importFile(alice, broken);
    const failed = await finished(alice, failedId);
    expect(failed).toMatchObject({ status: 'REJECTED', rowsImported: 0, rowsCreated: 0, rowsUpdated: 0, rowsUnchanged: 0 });
    expect(failed.reason).toMatch(/nothing was imported/);
    expect((await searchTotal(alice, word)).total).toBe(0);

    const fixedId = await importFile(alice, good);
    const fixed = await finished(alice, fixedId);
    expectSucceeded(fixed);
    expect(fixed).toMatchObject({ rowsImported: 1500, rowsCreated: 1500, rowsRejected: 0 });
    const found = await searchTotal(alice, word);
    expect(found.total).toBe(1500);
    expect(found.ids.every((id) => id.startsWith(`${fixedId}-`))).toBe(true);
  });

  it('a file with an id column upserts: the same file again is unchanged, an edited row updates, a new id creates', async () => {
    const word = marker();
    const rowsOf = (edited: boolean, extra: boolean) =>
      [
        'id,dateCreated,content,tags',
        ...Array.from({ length: 10 }, (_, i) => `${word}-${i + 1},2024-02-0${(i % 9) + 1}T08:00:00Z,Post ${i + 1} about ${word}${edited && i === 0 ? ' (edited)' : ''},${word}`),
        ...(extra ? [`${word}-new,2024-03-01T08:00:00Z,A new post about ${word},${word}`] : []),
      ].join('\n') + '\n';
    const first = await finished(alice, await importFile(alice, rowsOf(false, false)));
    expectSucceeded(first);
    expect(first).toMatchObject({ rowsImported: 10, rowsCreated: 10, rowsUpdated: 0, rowsUnchanged: 0 });

    const again = await finished(alice, await importFile(alice, rowsOf(false, false)));
    expect(again).toMatchObject({ status: 'SUCCEEDED', rowsImported: 10, rowsCreated: 0, rowsUpdated: 0, rowsUnchanged: 10 });
    expect((await searchTotal(alice, word)).total).toBe(10);

    const edited = await finished(alice, await importFile(alice, rowsOf(true, true)));
    expect(edited).toMatchObject({ status: 'SUCCEEDED', rowsImported: 11, rowsCreated: 1, rowsUpdated: 1, rowsUnchanged: 9 });
    const found = await searchTotal(alice, word);
    expect(found.total).toBe(11);
    expect((await searchTotal(alice, 'edited')).ids).toContain(`${word}-1`);
  });

  it('an id repeated within a file imports its first row; each repeat, near it or a batch away, is in the error report with why', async () => {
    const word = marker();
    const row = (n: number, note = '') => `${word}-${n},2024-02-01T08:00:00Z,Post ${n} about ${word}${note},${word}`;
    const rows = 1100;
    const body =
      [
        'id,dateCreated,content,tags',
        row(1),
        row(2),
        row(1, ' repeated'),
        ...Array.from({ length: rows - 2 }, (_, i) => row(i + 3)),
        row(2, ' repeated far down'),
      ].join('\n') + '\n';
    const status = await finished(alice, await importFile(alice, body));
    expectSucceeded(status);
    expect(status).toMatchObject({ rowsImported: rows, rowsCreated: rows, rowsRejected: 2 });
    expect((await searchTotal(alice, word)).total).toBe(rows);
    expect((await searchTotal(alice, encodeURIComponent(`${word} repeated`))).total).toBe(0);

    const report = parse(await (await fetch(status.errorReportUrl ?? '')).text(), { columns: true }) as Array<Record<string, string>>;
    expect(report.map((r) => [r.line, r.id, r.error])).toEqual([
      ['4', `${word}-1`, `id ${word}-1 is repeated; first seen on line 2`],
      [String(rows + 3), `${word}-2`, `id ${word}-2 is repeated: an earlier line of this file has the same id`],
    ]);
  });

  it('export → import → export gives the same bytes, and the same posts (content, tags, dates, ids)', async () => {
    const word = marker();
    const source =
      [
        'dateCreated,content,tags',
        `2024-04-01T10:00:00+02:00,"=SUM(A1:A9) is my ${word} budget",+1;plain`,
        `2024-04-02T10:00:00Z,"-minus, ""quoted"" and a comma ${word}",@home`,
        `2024-04-03T10:00:00.123Z,"two lines ${word}\r\nsecond",`,
        `2024-04-04T10:00:00-05:00,it's a plain ${word},plain;${word}`,
      ].join('\r\n') + '\r\n';
    expectSucceeded(await finished(alice, await importFile(alice, source)));
    const { body: original } = await api<{ total: number; hits: unknown[] }>(alice, 'GET', `/search?q=${word}&pageSize=100`);
    expect(original.total).toBe(4);

    const exportCsv = async () => {
      const { status, body } = await api<{ executionArn: string }>(alice, 'POST', '/download-request', { type: 'direct', searchCriteria: { q: word } });
      expect(status).toBe(202);
      const done = await pollUntilDone(alice, body.executionArn);
      expect(done.status).toBe('SUCCEEDED');
      return (await downloadCsv(done.url!)).text;
    };
    const exported = await exportCsv();
    expect(exported).toContain("'=SUM(A1:A9)");
    expect(exported).toContain('2024-04-01T08:00:00.000Z');

    const reimported = await finished(alice, await importFile(alice, exported));
    expect(reimported).toMatchObject({ status: 'SUCCEEDED', rowsImported: 4, rowsCreated: 0, rowsUpdated: 0, rowsUnchanged: 4, rowsRejected: 0 });
    const { body: after } = await api<{ hits: unknown[] }>(alice, 'GET', `/search?q=${word}&pageSize=100`);
    expect(after.hits).toEqual(original.hits);
    expect(await exportCsv()).toBe(exported);
  });

  it("a member's rows under another user's userId, or another user's post id, are rejected one by one with the reason", async () => {
    const word = marker();
    const bobsId = `${word}-bobs`;
    const bobs = `id,dateCreated,content,tags\n${bobsId},2024-05-01T00:00:00Z,Bob wrote this ${word},${word}\n`;
    expectSucceeded(await finished(bob, await importFile(bob, bobs)));

    const me = userIdOf(alice);
    const theirs = userIdOf(bob);
    const content =
      [
        'id,userId,dateCreated,content,tags',
        `${word}-1,${me},2024-05-02T00:00:00Z,Mine ${word},${word}`,
        `${word}-2,${theirs},2024-05-03T00:00:00Z,Pretending to be bob ${word},${word}`,
        `${bobsId},${me},2024-05-04T00:00:00Z,Taking over bob's post ${word},${word}`,
        `,,2024-05-05T00:00:00Z,No id and no author: mine ${word},${word}`,
      ].join('\n') + '\n';
    const status = await finished(alice, await importFile(alice, content));
    expect(status).toMatchObject({ status: 'SUCCEEDED', rowsImported: 2, rowsCreated: 2, rowsRejected: 2 });
    const res = await fetch(status.errorReportUrl ?? '');
    // The file's own columns plus the spreadsheet line (header = line 1) and the reason.
    const report = parse(await res.text(), { columns: true }) as Array<{ line: string; error: string }>;
    expect(report.map((row) => [row.line, row.error])).toEqual([
      ['3', `userId is ${theirs}, not yours (${me}): you can import only your own posts`],
      ['4', `id ${bobsId} belongs to another user's post: you can update only your own posts`],
    ]);
    const { body } = await api<{ hits: Array<{ id: string; userId: string; content: string }> }>(alice, 'GET', `/search?q=${word}&pageSize=100`);
    expect(body.hits.map((hit) => [hit.userId, hit.content]).sort()).toEqual(
      [
        [me, `Mine ${word}`],
        [me, `No id and no author: mine ${word}`],
        [theirs, `Bob wrote this ${word}`],
      ].sort(),
    );
  });

  it('an admin imports on behalf of others: each row keeps its author, and the audit entry counts the on-behalf rows', async () => {
    const word = marker();
    const [aliceId, bobId, adminId] = [userIdOf(alice), userIdOf(bob), userIdOf(admin)];
    const content =
      [
        'userId,dateCreated,content,tags',
        `${aliceId},2024-06-01T00:00:00Z,For alice ${word},${word}`,
        `${bobId},2024-06-02T00:00:00Z,For bob ${word},${word}`,
        `,2024-06-03T00:00:00Z,The admin's own ${word},${word}`,
      ].join('\n') + '\n';
    const importId = await importFile(admin, content);
    const status = await finished(admin, importId);
    expect(status).toMatchObject({ status: 'SUCCEEDED', rowsImported: 3, rowsCreated: 3, rowsRejected: 0 });
    const { body } = await api<{ hits: Array<{ userId: string; content: string }> }>(admin, 'GET', `/search?q=${word}&pageSize=10`);
    expect(body.hits.map((hit) => [hit.userId, hit.content]).sort()).toEqual(
      [
        [aliceId, `For alice ${word}`],
        [bobId, `For bob ${word}`],
        [adminId, `The admin's own ${word}`],
      ].sort(),
    );
    const audit = await api<{ entries: AuditEntry[] }>(admin, 'GET', '/admin/audit?limit=100');
    expect(audit.body.entries.find((entry) => entry.id === `import:${importId}:SUCCEEDED`)).toMatchObject({
      outcome: 'SUCCEEDED',
      rowCount: 3,
      onBehalfRows: 2,
    });
  });
});

describe.skipIf(clamdMissing())(titled('retrying a failed import batch', clamdMissing()), () => {
  it('a batch with one failed file is retried by an admin: only that file runs again, under <batch>-r1, and the batch then succeeds', async () => {
    const word = marker();
    const files = [
      { fileName: 'fine.csv', content: csvOf(word, 3) },
      { fileName: 'vanishing.csv', content: csvOf(word, 4) },
    ];
    const { body } = await api<{ batchId: string; imports: Array<{ importId: string; upload: UploadForm }> }>(alice, 'POST', '/imports', {
      type: 'direct',
      files: files.map((file) => ({ fileName: file.fileName, size: Buffer.byteLength(file.content), contentType: 'text/csv' })),
    });
    const [fine, vanishing] = body.imports;
    if (!fine || !vanishing) throw new Error('expected two imports');
    const s3 = new S3Client({
      region: 'us-east-1',
      endpoint: stack().s3Endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    const vanishingObject = { Bucket: new URL(vanishing.upload.url).pathname.split('/')[1], Key: vanishing.upload.fields.key };

    // A real failure: the second file arrives, then its object is gone before the batch's checks read it.
    await uploadWithForm(vanishing.upload, files[1]?.content ?? '', 'text/csv');
    await pollUntil(
      () => importStatus(alice, vanishing.importId),
      (file) => file.status === 'RUNNING',
    );
    await s3.send(new DeleteObjectCommand(vanishingObject));
    await uploadWithForm(fine.upload, files[0]?.content ?? '', 'text/csv');

    const readBatch = async () => (await api<BatchStatusBody>(alice, 'GET', `/imports/${body.batchId}`)).body;
    const failedBatch = await pollUntil(readBatch, (b) => b.status === 'COMPLETED');
    expect(failedBatch.files.map((file) => file.status)).toEqual(['SUCCEEDED', 'FAILED']);
    const original = failedBatch.files[0]?.executionArn ?? '';
    expect(original).toMatch(new RegExp(`:${body.batchId}$`));
    const failedList = await pollUntil(
      async () =>
        (await api<{ executions: Array<{ executionArn: string }> }>(admin, 'GET', '/admin/executions?status=FAILED')).body.executions,
      (executions) => executions.some((execution) => execution.executionArn === original),
    );
    expect(failedList.map((execution) => execution.executionArn)).toContain(original);

    // The upload is back (as a browser would send it again); an admin retries the execution, twice.
    await s3.send(new PutObjectCommand({ ...vanishingObject, Body: files[1]?.content ?? '', ContentType: 'text/csv' }));
    const retryPath = `/admin/executions/${encodeURIComponent(original)}/retry`;
    expect((await api(alice, 'POST', retryPath)).status).toBe(403);
    const first = await api<{ executionArn: string }>(admin, 'POST', retryPath);
    const second = await api<{ executionArn: string }>(admin, 'POST', retryPath);
    expect(first.status).toBe(202);
    expect(first.body.executionArn).toBe(original.replace(/:[^:]+$/, `:${body.batchId}-r1`));
    expect(second).toEqual(first);

    const retried = await pollUntil(readBatch, (b) => b.status === 'COMPLETED' && b.counts.SUCCEEDED === 2);
    expect(retried.files.map((file) => [file.status, file.rowsImported, file.executionArn])).toEqual([
      ['SUCCEEDED', 3, original],
      ['SUCCEEDED', 4, first.body.executionArn],
    ]);
    expect((await searchTotal(alice, word)).total).toBe(7);
    // The retry ran one file only: one "Check the uploaded file" in its history.
    expect(await peakFilesInFlight(first.body.executionArn, 'Import valid rows')).toBe(1);
    expect((await api(admin, 'POST', `/admin/executions/${encodeURIComponent(first.body.executionArn)}/retry`)).status).toBe(409);

    const audit = await api<{ entries: Array<{ id: string; executionArn?: string; outcome: string; retriedBy?: string }> }>(
      admin,
      'GET',
      '/admin/audit?limit=50',
    );
    expect(audit.body.entries).toContainEqual(
      expect.objectContaining({
        id: `import:${body.batchId}:RETRIED`,
        executionArn: original,
        outcome: 'RETRIED',
        retriedBy: first.body.executionArn,
      }),
    );
  });
});
