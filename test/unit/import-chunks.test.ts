import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { chunkStream, planChunks, planChunksStep, type ChunkPlan, type ChunkPlanOptions, type PlanProgress } from '../../core/import/chunks';
import { readImportRows, type ImportBatch, type ReadImportRowsOptions } from '../../core/import/rows';
import type { ByteRange } from '../../core/ports';
import { commitImportChunks, importChunk, planImportChunks } from '../../core/import/chunk-tasks';
import { processImport } from '../../core/import/tasks';
import { createImport } from '../../core/import/use-cases';
import { alice, etagOf, InMemorySearchSource } from './fakes';
import { makeImportDeps } from './import-fakes';

const AT = '2024-05-01T10:00:00Z';

/** Ranged reads of `file`, recorded, delivered in pieces of `piece` bytes (to cut records anywhere). */
function rangedReads(file: Buffer, piece = 7) {
  const reads: ByteRange[] = [];
  const read = async (range: ByteRange): Promise<Readable> => {
    reads.push(range);
    const bytes = file.subarray(range.start, range.end);
    return Readable.from(
      (function* () {
        for (let at = 0; at < bytes.length; at += piece) yield bytes.subarray(at, at + piece);
      })(),
    );
  };
  return { read, reads };
}

/** The planner's options in these tests: 64-byte chunks, batches of 2 rows, 50-byte reads. */
const optionsFor = (file: Buffer, options: Partial<ChunkPlanOptions>): ChunkPlanOptions => ({
  format: 'csv',
  encoding: 'utf-8',
  delimiter: ',',
  size: file.length,
  chunkBytes: 64,
  batchRows: 2,
  maxRecordBytes: 1024 * 1024,
  maxChunks: 1000,
  readBytes: 50,
  ...options,
});

const planOf = (file: Buffer, options: Partial<ChunkPlanOptions> = {}): Promise<ChunkPlan> => planChunks(rangedReads(file).read, optionsFor(file, options));

/**
 * The same plan as planOf, in steps of at most `stepBytes` (as "Plan the file's chunks" loops), the progress through
 * JSON between steps as the execution state carries it; with where each step began.
 */
async function planInSteps(file: Buffer, stepBytes: number | number[], options: Partial<ChunkPlanOptions> = {}) {
  const sizes = Array.isArray(stepBytes) ? stepBytes : [stepBytes];
  const starts: number[] = [];
  let progress: PlanProgress | undefined;
  for (;;) {
    starts.push(progress?.offset ?? 0);
    const step = await planChunksStep(
      rangedReads(file).read,
      optionsFor(file, options),
      progress,
      sizes[Math.min(starts.length - 1, sizes.length - 1)] as number,
    );
    if ('plan' in step) return { plan: step.plan, starts };
    progress = JSON.parse(JSON.stringify(step.progress)) as PlanProgress;
  }
}

const readOptions = (format: 'csv' | 'ndjson', extra: Partial<ReadImportRowsOptions> = {}): ReadImportRowsOptions => ({
  importId: 'imp-1',
  format,
  defaultUserId: 'uploader',
  batchSize: 2,
  ...extra,
});

async function batchesOf(stream: Readable, options: ReadImportRowsOptions): Promise<ImportBatch[]> {
  const batches: ImportBatch[] = [];
  for await (const batch of readImportRows(stream, options)) batches.push(batch);
  return batches;
}

/** The file read whole, and read chunk by chunk as "Import each chunk" reads it: the same batches, in order. */
async function readWholeAndChunked(file: Buffer, plan: ChunkPlan, options: ReadImportRowsOptions) {
  const whole = await batchesOf(Readable.from([file]), options);
  const chunked: ImportBatch[] = [];
  for (const chunk of plan.chunks) {
    const stream = chunkStream(rangedReads(file, 5).read, chunk, plan.headerBytes);
    chunked.push(...(await batchesOf(stream, { ...options, ...(chunk.index > 0 ? { continueFrom: chunk } : {}) })));
  }
  return { whole, chunked };
}

const csvRow = (n: number, content = `post ${n}`) => `p${n},alice,${AT},${content},t${n}`;

describe('planning the chunks of an import file', () => {
  it('a file no larger than IMPORT_CHUNK_BYTES is one chunk, planned without reading it', async () => {
    const file = Buffer.from(`id,userId,dateCreated,content,tags\n${csvRow(1)}\n`);
    const { read, reads } = rangedReads(file);
    expect(
      await planChunks(read, {
        format: 'csv',
        encoding: 'utf-8',
        delimiter: ',',
        size: file.length,
        chunkBytes: file.length,
        batchRows: 2,
        maxRecordBytes: 1 << 20,
        maxChunks: 10,
      }),
    ).toEqual({
      chunks: [{ index: 0, start: 0, end: file.length, rowsBefore: 0, linesBefore: 0 }],
      headerBytes: 0,
    });
    expect(reads).toEqual([]);
  });

  it('cuts a CSV file after whole batches of rows, reading it in ranges; each chunk after the first reads the header first', async () => {
    const header = 'id,userId,dateCreated,content,tags\n';
    const rows = Array.from({ length: 8 }, (_, i) => `${csvRow(i + 1)}\n`);
    const file = Buffer.from(header + rows.join(''));
    const { read, reads } = rangedReads(file);
    const plan = await planChunks(read, {
      format: 'csv',
      encoding: 'utf-8',
      delimiter: ',',
      size: file.length,
      chunkBytes: 100,
      batchRows: 2,
      maxRecordBytes: 1 << 20,
      maxChunks: 1000,
      readBytes: 200,
    });
    const at = (row: number) => header.length + rows.slice(0, row).join('').length;
    // Each row is 42 bytes: a chunk of at least 100 bytes ends after the 4th, then the 8th row (multiples of 2).
    expect(plan).toEqual({
      chunks: [
        { index: 0, start: 0, end: at(4), rowsBefore: 0, linesBefore: 0 },
        { index: 1, start: at(4), end: file.length, rowsBefore: 4, linesBefore: 0 },
      ],
      headerBytes: header.length,
    });
    expect(reads).toEqual([
      { start: 0, end: 200 },
      { start: 200, end: file.length },
    ]);
    const { whole, chunked } = await readWholeAndChunked(file, plan, readOptions('csv'));
    expect(chunked).toEqual(whole);
  });

  it('never cuts inside quotes: a quoted field holding newlines (and "" quotes) near a boundary stays in one chunk', async () => {
    const header = 'id,userId,dateCreated,content,tags\n';
    const rows = Array.from({ length: 12 }, (_, i) =>
      i % 3 === 1 ? `p${i + 1},alice,${AT},"line one\nline ""two""\n\nline four, with a comma",t\n` : `${csvRow(i + 1)}\n`,
    );
    const file = Buffer.from(header + rows.join(''));
    const plan = await planOf(file, { chunkBytes: 30 });
    expect(plan.chunks.map((chunk) => chunk.rowsBefore)).toEqual([0, 2, 4, 6, 8, 10]);
    for (const chunk of plan.chunks.slice(1)) expect(file.subarray(chunk.start, chunk.start + 2).toString()).toMatch(/^p\d/);
    const { whole, chunked } = await readWholeAndChunked(file, plan, readOptions('csv'));
    expect(chunked).toEqual(whole);
    expect(whole.flatMap((batch) => batch.posts).map((post) => post.content)).toContain('line one\nline "two"\n\nline four, with a comma');
  });

  it('CRLF line endings, blank lines and a UTF-8 byte order mark: rows, spreadsheet lines and rejected rows as in the whole file', async () => {
    const rows = [
      csvRow(1),
      '',
      csvRow(2),
      'p3,alice,not a date,bad,',
      '',
      '',
      csvRow(4),
      'too,few',
      csvRow(6, '"quoted, with\r\na CRLF inside"'),
      '',
      csvRow(7),
      ',alice,2024-05-01T10:00:00Z,no id: generated from the row number,',
    ];
    const file = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(`id,userId,dateCreated,content,tags\r\n${rows.join('\r\n')}\r\n`),
    ]);
    const plan = await planOf(file, { encoding: 'utf-8-bom', chunkBytes: 20 });
    expect(plan.chunks.map(({ rowsBefore, linesBefore }) => ({ rowsBefore, linesBefore }))).toEqual([
      { rowsBefore: 0, linesBefore: 0 },
      { rowsBefore: 2, linesBefore: 1 },
      { rowsBefore: 4, linesBefore: 3 },
      { rowsBefore: 6, linesBefore: 3 },
    ]);
    const { whole, chunked } = await readWholeAndChunked(file, plan, readOptions('csv', { encoding: 'utf-8-bom' }));
    expect(chunked).toEqual(whole);
    expect(whole.flatMap((batch) => batch.rejected).map(({ rowNumber, line }) => ({ rowNumber, line }))).toEqual([
      { rowNumber: 3, line: 5 },
      { rowNumber: 5, line: 9 },
    ]);
    expect(whole.flatMap((batch) => batch.posts).map((post) => post.id)).toContain('imp-1-8');
  });

  it('NDJSON: one object per line, blank lines kept out of the row count but in the line count', async () => {
    const lines = Array.from({ length: 9 }, (_, i) =>
      i === 3 ? '   ' : i === 6 ? '{"broken": ' : JSON.stringify({ id: `n${i + 1}`, dateCreated: AT, content: `line ${i + 1}` }),
    );
    const file = Buffer.from(`${lines.join('\n')}\n`);
    const plan = await planOf(file, { format: 'ndjson', chunkBytes: 60 });
    expect(plan.headerBytes).toBe(0);
    expect(plan.chunks.map(({ rowsBefore, linesBefore }) => ({ rowsBefore, linesBefore }))).toEqual([
      { rowsBefore: 0, linesBefore: 0 },
      { rowsBefore: 2, linesBefore: 2 },
      { rowsBefore: 4, linesBefore: 5 },
      { rowsBefore: 6, linesBefore: 7 },
    ]);
    const { whole, chunked } = await readWholeAndChunked(file, plan, readOptions('ndjson'));
    expect(chunked).toEqual(whole);
    expect(whole.flatMap((batch) => batch.rejected).map(({ rowNumber, line }) => ({ rowNumber, line }))).toEqual([
      { rowNumber: 6, line: 7 },
    ]);
  });

  it('a tiny chunk size cuts after every batch; at most maxChunks chunks (larger ones instead)', async () => {
    const file = Buffer.from(`id,userId,dateCreated,content,tags\n${Array.from({ length: 10 }, (_, i) => `${csvRow(i + 1)}\n`).join('')}`);
    expect((await planOf(file, { chunkBytes: 1 })).chunks.map((chunk) => chunk.rowsBefore)).toEqual([0, 2, 4, 6, 8]);
    expect((await planOf(file, { chunkBytes: 1, maxChunks: 2 })).chunks.map((chunk) => chunk.rowsBefore)).toEqual([0, 6]);
    const plan = await planOf(file, { chunkBytes: 1 });
    const { whole, chunked } = await readWholeAndChunked(file, plan, readOptions('csv'));
    expect(chunked).toEqual(whole);
  });

  it('planned in steps (IMPORT_PLAN_STEP_BYTES), the plan is byte for byte the one-pass plan, wherever the steps end', async () => {
    const rows = Array.from({ length: 14 }, (_, i) =>
      i % 3 === 1 ? `p${i + 1},alice,${AT},"caf\u00e9 \u2014 one\r\nline ""two""\r\n\r\nfour, with a comma",t` : csvRow(i + 1),
    );
    const file = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(`id,userId,dateCreated,content,tags\r\n${rows.join('\r\n')}\r\n`),
    ]);
    const options = { encoding: 'utf-8-bom' as const, chunkBytes: 40 };
    const onePass = await planOf(file, options);
    expect(onePass.chunks.length).toBeGreaterThan(3);
    const quoted = file.indexOf('"caf');
    const insideQuotes = quoted + 10;
    const betweenCrAndLf = file.indexOf('\r\n', quoted) + 1;
    const insideEAcute = file.indexOf(Buffer.from('\u00e9')) + 1;
    // Steps of every length from 1 byte to a third of the file: steps ending inside a quoted cell, inside a CRLF pair
    // and inside a multi-byte character among them.
    const ends = new Set<number>();
    for (let stepBytes = 1; stepBytes <= file.length / 3; stepBytes++) {
      const { plan, starts } = await planInSteps(file, stepBytes, options);
      expect(starts.length, `steps of ${stepBytes} B`).toBeGreaterThanOrEqual(3);
      expect(plan, `steps of ${stepBytes} B`).toEqual(onePass);
      for (const start of starts) ends.add(start);
    }
    expect([insideQuotes, betweenCrAndLf, insideEAcute].filter((at) => ends.has(at))).toEqual([insideQuotes, betweenCrAndLf, insideEAcute]);
    // Three steps exactly: the first ends inside the quoted cell, the second between its CR and LF, the third reads the rest.
    const three = await planInSteps(file, [insideQuotes, betweenCrAndLf - insideQuotes, file.length], options);
    expect(three).toEqual({ plan: onePass, starts: [0, insideQuotes, betweenCrAndLf] });
    await expect(planInSteps(file, 0, options)).rejects.toThrow(RangeError);
    const ndjson = Buffer.from(
      `${Array.from({ length: 9 }, (_, i) => (i === 3 ? '  ' : JSON.stringify({ id: `n${i + 1}`, content: `\u00e9 ${i}` }))).join('\n')}\n`,
    );
    const ndjsonOnePass = await planOf(ndjson, { format: 'ndjson', chunkBytes: 30 });
    expect(ndjsonOnePass.chunks.length).toBeGreaterThan(2);
    for (const stepBytes of [1, 7, 33, 100])
      expect((await planInSteps(ndjson, stepBytes, { format: 'ndjson', chunkBytes: 30 })).plan).toEqual(ndjsonOnePass);
  });

  it('what the byte-level rules cannot be sure of is one chunk, read as today', async () => {
    const header = 'id,userId,dateCreated,content,tags\n';
    const many = Array.from({ length: 6 }, (_, i) => `${csvRow(i + 1)}\n`).join('');
    const cases: Array<[string, Buffer, Partial<ChunkPlanOptions>]> = [
      ['a quote that is never closed', Buffer.from(`${header}${many}p9,alice,${AT},"never closed,\n${many}`), {}],
      ['lines that end in two ways', Buffer.from(`${header}${many.replace(/\n/g, '\r\n')}${many}`), {}],
      ['a carriage return that does not end a line', Buffer.from(`${header}${many}p9,alice,${AT},a\rb,\n${many}`), {}],
      ['bytes that are not UTF-8', Buffer.concat([Buffer.from(header + many), Buffer.from([0xc3, 0x28, 0x0a]), Buffer.from(many)]), {}],
      ['blank lines before the header', Buffer.from(`\n${header}${many}`), {}],
      [
        'a record longer than the reader accepts',
        Buffer.from(`${header}${many}p9,alice,${AT},${'x'.repeat(300)},\n${many}`),
        { maxRecordBytes: 200 },
      ],
      ['a UTF-16 file is read in one piece', Buffer.from(`\ufeff${header}${many}`, 'utf16le'), { encoding: 'utf-16le' }],
    ];
    for (const [because, file, options] of cases) {
      expect(await planOf(file, options), because).toEqual({
        chunks: [{ index: 0, start: 0, end: file.length, rowsBefore: 0, linesBefore: 0 }],
        headerBytes: 0,
        oneChunkBecause: because,
      });
      // In steps, the same one chunk, whichever step meets it (an unclosed quote only at the end).
      for (const stepBytes of [1, 13, 64])
        expect((await planInSteps(file, stepBytes, options)).plan, `${because}, steps of ${stepBytes} B`).toEqual(await planOf(file, options));
    }
  });
});

describe('a chunked import ends exactly as the same file imported in one piece', () => {
  const EXECUTION = 'arn:aws:states:us-east-1:1:execution:ferry-import:x';
  const HEADER = 'id,userId,dateCreated,content,tags';
  /** 3,500 rows: ids from the file (some already stored, some edited), generated ids, bad rows, a repeat inside one chunk. */
  const rowsOf = (repeatAcrossChunks: boolean) =>
    Array.from({ length: 3500 }, (_, i) => {
      const n = i + 1;
      if (n % 97 === 0) return `p${n},${alice.userId},yesterday,bad row ${n},`;
      if (n === 20) return `p10,${alice.userId},${AT},repeats row 10 in the same chunk,`;
      if (n === 2500 && repeatAcrossChunks) return `p30,${alice.userId},${AT},repeats row 30 two chunks later,`;
      if (n % 11 === 0) return `,${alice.userId},${AT},"generated id, row ${n}\r\nwith a quoted line break",x`;
      return `p${n},${alice.userId},${AT},post ${n}${n % 5 === 0 ? ' edited' : ''},sea;ferry`;
    });
  const stored = Array.from({ length: 200 }, (_, i) => ({
    id: `p${i * 7 + 1}`,
    userId: alice.userId,
    dateCreated: AT,
    content: `post ${i * 7 + 1}`,
    tags: ['sea', 'ferry'],
  }));

  async function importedWith(body: string, how: 'one piece' | 'chunks' | 'chunks, last first' | 'chunks, one retried' | 'chunks, planned 16 KiB a step') {
    const deps = makeImportDeps();
    const stepped = how === 'chunks, planned 16 KiB a step';
    const config = { ...deps.config, importChunkBytes: 1, importChunkConcurrency: 3, ...(stepped ? { importPlanStepBytes: 16 * 1024 } : {}) };
    const all = { ...deps, config, search: new InMemorySearchSource(structuredClone(stored)) };
    const created = await createImport(all, alice, {
      fileName: 'posts.csv',
      size: Buffer.byteLength(body),
      contentType: 'text/csv',
      type: 'email',
    });
    if (!('importId' in created)) throw new Error('expected one import');
    const record = await all.imports.get(created.importId);
    all.objects.put(record?.upload.bucket ?? '', record?.upload.key ?? '', body, 'text/csv');
    await all.imports.markUploaded(created.importId, all.clock.now(), { etag: etagOf(body), bytes: Buffer.byteLength(body) });
    const input = { importId: created.importId, executionArn: EXECUTION, format: 'csv' as const };
    let outcome;
    let plan;
    /** The JSON size of each step's progress, when the plan took more than one step. */
    let planSteps: number[] | undefined;
    /** Whether a chunk met an id a later chunk had staged first (the last step then reads the file in one piece). */
    let readAgainInOnePiece = false;
    if (how === 'one piece') outcome = await processImport(all, input);
    else {
      planSteps = [];
      let step = await planImportChunks(all, input);
      while ('progress' in step) {
        planSteps.push(JSON.stringify(step).length);
        step = await planImportChunks(all, { ...input, progress: step.progress });
      }
      plan = step;
      const order = how === 'chunks, last first' ? [...plan.chunks].reverse() : plan.chunks;
      for (const chunk of order) await importChunk(all, { ...input, chunk, headerBytes: plan.headerBytes });
      if (how === 'chunks, one retried') await importChunk(all, { ...input, chunk: plan.chunks[1]!, headerBytes: plan.headerBytes });
      readAgainInOnePiece = all.objects
        .keys()
        .some(
          (key) =>
            key.endsWith('.json') &&
            all.objects.text(key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)).includes('laterChunkHolds'),
        );
      outcome = await commitImportChunks(all, { ...input, chunkCount: plan.count });
    }
    const after = await all.imports.get(created.importId);
    const ids = (text: string) => text.replaceAll(created.importId, '<import>');
    return {
      plan,
      planSteps,
      outcome: { ...outcome, importId: '<import>' },
      counts: pick(after, ['status', 'rowsImported', 'rowsCreated', 'rowsUpdated', 'rowsUnchanged', 'rowsRejected']),
      report: ids(all.objects.text('permanent', after?.errorReportKey ?? '')),
      posts: ids(JSON.stringify([...all.search.posts].sort((a, b) => a.id.localeCompare(b.id)))),
      left: all.objects.keys().filter((key) => key.includes('/chunks/')),
      staged: all.search.staged.size,
      readAgainInOnePiece,
    };
  }
  const pick = (record: object | undefined, keys: string[]) =>
    Object.fromEntries(keys.map((key) => [key, (record as Record<string, unknown>)[key]]));

  it('four chunks, in any order, retried or not: the same counts, posts and error report (one, rows in file order)', async () => {
    const body = `${HEADER}\r\n${rowsOf(false).join('\r\n')}\r\n`;
    const whole = await importedWith(body, 'one piece');
    expect(whole.counts).toEqual({
      status: 'SUCCEEDED',
      rowsImported: 3463,
      rowsCreated: 3283,
      rowsUpdated: 37,
      rowsUnchanged: 143,
      rowsRejected: 37,
    });
    for (const how of ['chunks', 'chunks, last first', 'chunks, one retried'] as const) {
      const chunked = await importedWith(body, how);
      expect(chunked.plan?.chunks.map((chunk) => chunk.rowsBefore)).toEqual([0, 1000, 2000, 3000]);
      expect(chunked.planSteps, how).toEqual([]);
      expect({ ...chunked, plan: undefined, planSteps: undefined }, how).toEqual({ ...whole, plan: undefined, left: [], staged: 0 });
    }
  });

  it('a file larger than IMPORT_PLAN_STEP_BYTES is planned in steps (each returning a small progress) into the same chunks, with the same outcome', async () => {
    const body = `${HEADER}\r\n${rowsOf(false).join('\r\n')}\r\n`;
    const once = await importedWith(body, 'chunks');
    const stepped = await importedWith(body, 'chunks, planned 16 KiB a step');
    // ~229 KB read 16 KiB a step: 14 steps return their progress, the 15th the plan.
    expect(stepped.planSteps).toHaveLength(Math.ceil(Buffer.byteLength(body) / (16 * 1024)) - 1);
    for (const bytes of stepped.planSteps ?? []) expect(bytes).toBeLessThan(6 * 1024);
    expect(stepped.plan).toEqual(once.plan);
    expect({ ...stepped, planSteps: undefined }).toEqual({ ...once, planSteps: undefined });
  });

  it('an id repeated across chunks is refused on its later row, whether or not the later chunk ran first (then the file is read in one piece)', async () => {
    const body = `${HEADER}\r\n${rowsOf(true).join('\r\n')}\r\n`;
    const whole = await importedWith(body, 'one piece');
    expect(whole.report).toContain('repeats row 30 two chunks later');
    // In file order the later chunk refuses the repeat itself; last first, the earlier chunk finds it taken and the
    // file is read again in one piece.
    expect({ ...(await importedWith(body, 'chunks')), plan: undefined, planSteps: undefined }).toEqual({ ...whole, plan: undefined });
    expect({ ...(await importedWith(body, 'chunks, last first')), plan: undefined, planSteps: undefined }).toEqual({
      ...whole,
      plan: undefined,
      readAgainInOnePiece: true,
    });
  });
});
