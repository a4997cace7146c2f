import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImportStatusView as ImportStatusBody, Post } from '../../core/contract';
import { clamdMissing, titled } from '../requirements';
import { api, importFile, pollUntil, signIn, useStack } from './client';
import { historyOf, timesEntered } from './history';
import { startStackProcess, type StackInfo, type StackProcess } from './stack-process';

/**
 * A large file imported in chunks (IMPORT_CHUNK_BYTES set small on a stack of its own) ends exactly as the same file
 * imported in one piece on another stack (64 MiB chunks: one): counts, error report, posts.
 */
const CHUNK_BYTES = 2 * 1024 * 1024;
/** The plan too runs in steps on that stack: "Plan more of the file's chunks" goes on from each step's progress. */
const PLAN_STEP_BYTES = 3 * 1024 * 1024;
/** And the antivirus scans it in ranges ("Scan each range"), as a file over clamd's 2 GiB stream is in AWS. */
const SCAN_RANGE_BYTES = 1024 * 1024;
const SCAN_RANGE_OVERLAP_BYTES = 64 * 1024;
/** The EICAR test string, assembled so this file itself is not flagged by a scanner. */
const EICAR = ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'].join('');
/** `IMPORT_CHUNKS_ROWS=1000000 npx vitest run test/integration/import-chunks.test.ts` runs the 1M rows (~55 MB). */
const ROWS = Number(process.env.IMPORT_CHUNKS_ROWS ?? 150_000);
/** Every 1,009th row is bad, and one id is repeated within a batch. */
const REJECTED = Math.floor(ROWS / 1009) + 1;
/** Timeouts grow with the rows: the defaults hold 150,000 rows on the shared 2-core machine with room. */
const SCALE = Math.max(1, ROWS / 150_000);

let own: StackProcess | undefined;
/** The same file in one piece (64 MiB chunks: one) on a stack of its own too: 150,000 rows on the shared stack would change what the other suites' searches count. */
let onePiece: StackProcess | undefined;

beforeAll(async () => {
  [own, onePiece] = await Promise.all([
    startStackProcess('chunks', {
      SEED_ROWS: '100',
      IMPORT_CHUNK_BYTES: String(CHUNK_BYTES),
      IMPORT_PLAN_STEP_BYTES: String(PLAN_STEP_BYTES),
      SCAN_RANGE_BYTES: String(SCAN_RANGE_BYTES),
      SCAN_RANGE_OVERLAP_BYTES: String(SCAN_RANGE_OVERLAP_BYTES),
    }),
    startStackProcess('chunks-one-piece', { SEED_ROWS: '100' }),
  ]);
}, 300_000);

afterAll(async () => {
  await Promise.all([own?.stop(), onePiece?.stop()]);
});

const word = `zq${randomBytes(6).toString('hex')}`;
const at = (n: number) => new Date(Date.UTC(2022, 0, 1) + n * 60_000).toISOString();

/** Posts some of the big file's rows will find stored: left as they are (unchanged) or edited (updated). */
const earlier = () =>
  ['id,dateCreated,content,tags', ...Array.from({ length: 3000 }, (_, i) => `${word}-${i * 37 + 1},${at(i * 37 + 1)},Row ${i * 37 + 1} about ${word},${word}`)].join('\r\n') + '\r\n';

/** CRLF, quoted fields with line breaks, bad rows, an id repeated within a batch, rows without an id (generated). */
const big = () =>
  [
    'id,dateCreated,content,tags',
    ...Array.from({ length: ROWS }, (_, i) => {
      const n = i + 1;
      if (n % 1009 === 0) return `${word}-${n},not-a-date,Bad row ${n} about ${word},${word}`;
      if (n === 4002) return `${word}-4001,${at(n)},Row 4001 again about ${word},${word}`;
      if (n % 5003 === 0) return `,${at(n)},Row ${n} without an id about ${word},${word}`;
      if (n % 101 === 0) return `${word}-${n},${at(n)},"Row ${n} about ${word}\r\nover two lines, with ""quotes""",${word};quoted`;
      return `${word}-${n},${at(n)},Row ${n} about ${word}${n % 74 === 1 ? ' (edited)' : ''},${word}`;
    }),
  ].join('\r\n') + '\r\n';

async function importedOn(stack: StackInfo, token: string, content: string) {
  useStack(stack);
  const importId = await importFile(token, content, { type: 'direct' });
  const status = await pollUntil(
    async () => (await api<ImportStatusBody>(token, 'GET', `/imports/${importId}`)).body,
    (body) => body.status !== 'RUNNING' && body.status !== 'AWAITING_UPLOAD',
    240_000 * SCALE,
  );
  return { importId, status };
}

/** Every post of the file, newest first, page by page (the ids a file gives are the same on both stacks). */
async function postsOf(stack: StackInfo, token: string): Promise<{ total: number; newest: Post[] }> {
  useStack(stack);
  const newest: Post[] = [];
  for (let page = 1; ; page++) {
    const { body } = await api<{ total: number; hits: Post[] }>(token, 'GET', `/search?q=${word}&pageSize=100&page=${page}`);
    newest.push(...body.hits);
    if (body.hits.length === 0 || page === 50) return { total: body.total, newest };
  }
}

describe.skipIf(clamdMissing())(titled('a chunked import', clamdMissing()), () => {
  it(`a ${ROWS.toLocaleString('en')}-row file planned ${PLAN_STEP_BYTES / 1024 ** 2} MiB a step, in ${CHUNK_BYTES / 1024 ** 2} MiB chunks: the same counts, error report and posts as in one piece`, async () => {
    const onePieceToken = await (async () => (useStack(onePiece!.info), signIn('alice')))();
    const ownToken = await (async () => (useStack(own!.info), signIn('alice')))();
    const content = big();
    expect(Buffer.byteLength(content)).toBeGreaterThan(4 * CHUNK_BYTES);

    for (const [stack, token] of [[onePiece!.info, onePieceToken], [own!.info, ownToken]] as const) {
      expect((await importedOn(stack, token, earlier())).status.status).toBe('SUCCEEDED');
    }
    const whole = await importedOn(onePiece!.info, onePieceToken, content);
    const chunked = await importedOn(own!.info, ownToken, content);

    const counts = (status: ImportStatusBody) => ({
      status: status.status,
      rowsImported: status.rowsImported,
      rowsCreated: status.rowsCreated,
      rowsUpdated: status.rowsUpdated,
      rowsUnchanged: status.rowsUnchanged,
      rowsRejected: status.rowsRejected,
    });
    expect(counts(chunked.status)).toEqual(counts(whole.status));
    expect(counts(whole.status)).toEqual({
      status: 'SUCCEEDED',
      rowsImported: ROWS - REJECTED,
      rowsCreated: expect.any(Number),
      rowsUpdated: expect.any(Number),
      rowsUnchanged: expect.any(Number),
      rowsRejected: REJECTED,
    });
    expect(whole.status.rowsUpdated).toBeGreaterThan(0);
    expect(whole.status.rowsUnchanged).toBeGreaterThan(0);

    // One error report, its rows in file order, byte for byte the same (the generated ids name each import).
    const report = async (status: ImportStatusBody, importId: string) =>
      (await (await fetch(status.errorReportUrl ?? '')).text()).replaceAll(importId, '<import>');
    const wholeReport = await report(whole.status, whole.importId);
    expect(await report(chunked.status, chunked.importId)).toBe(wholeReport);
    expect(wholeReport.split('\r\n').filter((line) => line !== '')).toHaveLength(1 + REJECTED);

    // The chunked one ran "Import each chunk" over several chunks; the one-piece one, "Import valid rows".
    useStack(own!.info);
    const chunkedHistory = await historyOf(chunked.status.executionArn ?? '');
    expect(timesEntered(chunkedHistory, 'Import one chunk')).toBeGreaterThan(4);
    expect(timesEntered(chunkedHistory, "Plan the file's chunks")).toBe(1);
    // Scanned one range task at a time per MiB (each reaching 64 KiB into the next), then one verdict: clean.
    expect(timesEntered(chunkedHistory, 'Scan a range')).toBe(Math.ceil(Buffer.byteLength(content) / SCAN_RANGE_BYTES));
    expect(timesEntered(chunkedHistory, 'Record the scan verdict')).toBe(1);
    expect(timesEntered(chunkedHistory, "Plan more of the file's chunks")).toBe(Math.ceil(Buffer.byteLength(content) / PLAN_STEP_BYTES) - 1);
    expect(timesEntered(chunkedHistory, 'Assemble the error report and commit')).toBe(1);
    expect(timesEntered(chunkedHistory, 'Import valid rows')).toBe(0);
    useStack(onePiece!.info);
    expect(timesEntered(await historyOf(whole.status.executionArn ?? ''), 'Import valid rows')).toBe(1);

    // The same number of posts, and the newest 5,000 (50 pages) the same, generated ids aside.
    const generated = ({ total, newest }: { total: number; newest: Post[] }, importId: string) => ({
      total,
      newest: newest.map((post) => ({ ...post, id: post.id.replace(importId, '<import>') })),
    });
    const wholePosts = generated(await postsOf(onePiece!.info, onePieceToken), whole.importId);
    expect(wholePosts.newest).toHaveLength(5000);
    // The rows imported, plus 4 earlier posts no row replaced (3 of their ids are on bad rows, 1 on a row without an id).
    expect(wholePosts.total).toBe(ROWS - REJECTED + 4);
    expect(generated(await postsOf(own!.info, ownToken), chunked.importId)).toEqual(wholePosts);
  }, 600_000 * SCALE);

  it('EICAR in the last MiB of a file scanned in ranges is found by the range that holds it: quarantined, nothing indexed', async () => {
    const token = await (async () => (useStack(own!.info), signIn('alice')))();
    const infected = `ransom${randomBytes(4).toString('hex')}`;
    const rows = Array.from({ length: 40_000 }, (_, i) => `${infected}-${i},${at(i)},Row ${i} about ${infected},${infected}`);
    const content = ['id,dateCreated,content,tags', ...rows, `${infected}-last,${at(0)},${EICAR},${infected}`].join('\n') + '\n';
    expect(Buffer.byteLength(content)).toBeGreaterThan(2 * SCAN_RANGE_BYTES);

    const { status } = await importedOn(own!.info, token, content);
    expect(status).toMatchObject({ status: 'QUARANTINED', checks: { antivirus: 'infected' } });
    expect(status.signature).toMatch(/^Eicar-Test-Signature/);
    const history = await historyOf(status.executionArn ?? '');
    expect(timesEntered(history, 'Scan a range')).toBe(Math.ceil(Buffer.byteLength(content) / SCAN_RANGE_BYTES));
    expect(timesEntered(history, 'Record the scan verdict')).toBe(1);
    expect(timesEntered(history, 'Quarantine infected file')).toBe(1);
    expect((await api<{ total: number }>(token, 'GET', `/search?q=${infected}`)).body.total).toBe(0);
  }, 300_000);
});
