import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { Conflict, InvalidInput } from '../../core/errors';
import { identifyFormat } from '../../core/import/format';
import { mappingProblem, previewOf, suggestMapping, PREVIEW_CELL_CHARS } from '../../core/import/mapping';
import { readImportRows } from '../../core/import/rows';
import { awaitImportMapping, expireImport, identifyImportFormat, processImport } from '../../core/import/tasks';
import { createImport, importStatus, submitImportMapping } from '../../core/import/use-cases';
import { alice, bob } from './fakes';
import { makeImportDeps, type ImportDeps } from './import-fakes';
import type { ImportStatusView } from '../../core/contract';

const EXECUTION = 'arn:aws:states:us-east-1:1:execution:ferry-import:x';
const AT = '2024-05-01T10:00:00Z';
/** A sheet as a user exports it from another tool: none of its headers is a post field's name. */
const FOREIGN = `Author;Posted at;Text;Labels;Likes\r\nzoë;${AT};Hello, world;a;3\r\nbob;${AT};Second;;0\r\nbad;never;Third;;1\r\n`;

async function uploaded(deps: ImportDeps, body: string, extra: Record<string, unknown> = {}) {
  const created = await createImport(deps, alice, {
    fileName: 'posts.csv',
    size: Buffer.byteLength(body),
    contentType: 'text/csv',
    type: 'direct',
    ...extra,
  });
  if (!('importId' in created)) throw new Error('expected one import');
  const record = await deps.imports.get(created.importId);
  deps.objects.put(record?.upload.bucket ?? '', record?.upload.key ?? '', body, 'text/csv');
  await deps.imports.markUploaded(created.importId, deps.clock.now());
  return { importId: created.importId, input: { importId: created.importId, executionArn: EXECUTION } };
}

describe('suggesting and checking a column mapping', () => {
  it('suggests fields from common header names, whatever their case or separators, and leaves the rest out', () => {
    expect(suggestMapping(['Author', 'Posted at', 'TEXT', 'labels', 'Likes', 'created_at'])).toEqual({
      Author: 'userId',
      'Posted at': 'dateCreated',
      TEXT: 'content',
      labels: 'tags',
      Likes: null,
      created_at: null,
    });
  });

  it('accepts a mapping that fills every required field once, and says in words what is wrong with any other', () => {
    const columns = ['Author', 'Posted at', 'Text', 'Likes'];
    expect(mappingProblem(columns, { Author: 'userId', 'Posted at': 'dateCreated', Text: 'content', Likes: null })).toBeUndefined();
    expect(mappingProblem(columns, { Author: 'userId', 'Posted at': 'dateCreated' })).toBe('no column is mapped to content');
    expect(mappingProblem(columns, { Author: 'userId', 'Posted at': 'dateCreated', Text: 'content', Likes: 'content' })).toBe(
      'more than one column is mapped to content',
    );
    expect(mappingProblem(columns, { Nope: 'content' })).toMatch(/^the file has no column "Nope"/);
  });

  it('a wide file’s preview keeps its cells shorter, then fewer rows, so it stays small enough for the import record', () => {
    const columns = Array.from({ length: 500 }, (_, i) => `c${i}`);
    const rows = Array.from({ length: 30 }, () => columns.map(() => 'y'.repeat(1000)));
    const preview = previewOf({ columns, rows, delimiter: ',', encoding: 'utf-8' });
    expect(preview.rows.length).toBeGreaterThanOrEqual(1);
    expect(preview.rows.length).toBeLessThan(20);
    expect(JSON.stringify(preview.rows).length).toBeLessThan(150_000);
  });

  it('a preview holds the first 20 rows, long cells cut short, with the suggestion', () => {
    const rows = Array.from({ length: 30 }, (_, i) => [`u${i}`, 'x'.repeat(PREVIEW_CELL_CHARS + 50)]);
    const preview = previewOf({ columns: ['Author', 'Text'], rows, delimiter: ';', encoding: 'utf-8' });
    expect(preview.rows).toHaveLength(20);
    expect(preview.rows[0]?.[1]).toBe(`${'x'.repeat(PREVIEW_CELL_CHARS)}…`);
    expect(preview).toMatchObject({
      columns: ['Author', 'Text'],
      delimiter: ';',
      encoding: 'utf-8',
      suggestedMapping: { Author: 'userId', Text: 'content' },
    });
  });
});

describe('a file whose header does not map by itself', () => {
  it('is CSV that needs a mapping, with its columns and first rows; one with fewer columns than a post needs is refused', async () => {
    const verdict = await identifyFormat(Readable.from([Buffer.from(FOREIGN)]));
    expect(verdict).toMatchObject({
      format: 'csv',
      delimiter: ';',
      needsMapping: true,
      columns: ['Author', 'Posted at', 'Text', 'Labels', 'Likes'],
      rows: [
        ['zoë', AT, 'Hello, world', 'a', '3'],
        ['bob', AT, 'Second', '', '0'],
        ['bad', 'never', 'Third', '', '1'],
      ],
    });
    expect(verdict.reason).toContain('need mapping');
    // One column cannot hold a post's two required fields (dateCreated, content).
    await expect(identifyFormat(Readable.from([Buffer.from('Text\nhi\n')]))).resolves.toMatchObject({ format: 'unknown' });
  });

  it('is read into posts by the mapping: columns renamed, columns mapped to null left out', async () => {
    const batches = [];
    const mapping = { Author: 'userId', 'Posted at': 'dateCreated', Text: 'content', Labels: 'tags', Likes: null } as const;
    for await (const batch of readImportRows(Readable.from([Buffer.from(FOREIGN)]), {
      importId: 'imp',
      defaultUserId: 'uploader',
      format: 'csv',
      delimiter: ';',
      mapping,
    })) {
      batches.push(batch);
    }
    expect(batches.flatMap((b) => b.posts)).toEqual([
      { id: 'imp-1', userId: 'zoë', dateCreated: AT, content: 'Hello, world', tags: ['a'] },
      { id: 'imp-2', userId: 'bob', dateCreated: AT, content: 'Second', tags: [] },
    ]);
    expect(batches.flatMap((b) => b.rejected).map((row) => [row.line, row.reason])).toEqual([
      [4, expect.stringMatching(/^dateCreated is not a date: never/)],
    ]);
  });

  it('a mapping that does not fit the header stops the read', async () => {
    const reading = readImportRows(Readable.from([Buffer.from(FOREIGN)]), {
      importId: 'imp',
      defaultUserId: 'uploader',
      format: 'csv',
      delimiter: ';',
      mapping: { Author: 'userId' },
    });
    await expect(reading.next()).rejects.toThrow(/no column is mapped to dateCreated, content/);
  });
});

describe('the mapping wait', () => {
  it('the format check stores the preview and says the import needs a mapping, with the configured wait', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, FOREIGN);
    const verdict = await identifyImportFormat(deps, file.input);

    expect(verdict).toMatchObject({ format: 'csv', needsMapping: true, mappingTimeoutSeconds: deps.config.importMappingTimeoutSeconds });
    expect(verdict).not.toHaveProperty('rows');
    expect(await deps.imports.get(file.importId)).toMatchObject({
      encoding: 'utf-8',
      delimiter: ';',
      columns: ['Author', 'Posted at', 'Text', 'Labels', 'Likes'],
      preview: { suggestedMapping: { Author: 'userId', 'Posted at': 'dateCreated', Text: 'content', Labels: 'tags', Likes: null } },
    });
  });

  it('a mapping given up front that fits the header means no wait; one that does not fit still waits', async () => {
    const deps = makeImportDeps();
    const fits = await uploaded(deps, FOREIGN, { mapping: { Author: 'userId', 'Posted at': 'dateCreated', Text: 'content', Likes: null } });
    expect(await identifyImportFormat(deps, fits.input)).toMatchObject({ needsMapping: false });
    const misfit = await uploaded(deps, FOREIGN, { mapping: { Writer: 'userId' } });
    expect(await identifyImportFormat(deps, misfit.input)).toMatchObject({ needsMapping: true });
    const plain = await uploaded(deps, `userId,dateCreated,content\nalice,${AT},hi\n`);
    expect(await identifyImportFormat(deps, plain.input)).toMatchObject({ needsMapping: false });
  });

  it('waits in NEEDS_MAPPING with the preview; the owner’s mapping resumes it and the rows import by it', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, FOREIGN);
    await identifyImportFormat(deps, file.input);
    await awaitImportMapping(deps, { ...file.input, taskToken: 'token-1' });

    const waiting = (await importStatus(deps, alice, file.importId)) as ImportStatusView;
    expect(waiting).toMatchObject({
      status: 'NEEDS_MAPPING',
      preview: { columns: ['Author', 'Posted at', 'Text', 'Labels', 'Likes'], delimiter: ';' },
    });
    expect(JSON.stringify(waiting)).not.toContain('token-1');

    // Author left out: a member's rows are theirs (another user's name there would reject the row).
    const mapping = { Author: null, 'Posted at': 'dateCreated', Text: 'content', Labels: 'tags', Likes: null };
    await expect(submitImportMapping(deps, bob, file.importId, { mapping })).rejects.toThrow(/No import/);
    await expect(submitImportMapping(deps, alice, file.importId, { mapping: { Author: 'userId' } })).rejects.toBeInstanceOf(InvalidInput);
    await expect(submitImportMapping(deps, alice, file.importId, { mapping: { Author: 'author' } })).rejects.toBeInstanceOf(InvalidInput);
    expect(await submitImportMapping(deps, alice, file.importId, { mapping })).toEqual({ importId: file.importId, status: 'RUNNING' });
    expect(deps.executions.taskSuccesses).toEqual([{ taskToken: 'token-1', output: { importId: file.importId } }]);
    await expect(submitImportMapping(deps, alice, file.importId, { mapping })).rejects.toBeInstanceOf(Conflict);

    const outcome = await processImport(deps, { ...file.input, format: 'csv' });
    expect(outcome).toMatchObject({ status: 'SUCCEEDED', rowsImported: 2, rowsRejected: 1 });
    expect(deps.search.posts.map((post) => [post.userId, post.content])).toEqual([
      [alice.userId, 'Hello, world'],
      [alice.userId, 'Second'],
    ]);
    expect(await importStatus(deps, alice, file.importId)).toMatchObject({ status: 'SUCCEEDED', mapping });
  });

  it('a mapping sent before the import waits (or after it ended) is a conflict, not a lost message', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, FOREIGN);
    await expect(submitImportMapping(deps, alice, file.importId, { mapping: {} })).rejects.toBeInstanceOf(Conflict);
  });

  it('a wait that times out ends EXPIRED, with nothing imported and the upload deleted; expiring twice is harmless', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, FOREIGN);
    await identifyImportFormat(deps, file.input);
    await awaitImportMapping(deps, { ...file.input, taskToken: 'token-1' });
    const upload = (await deps.imports.get(file.importId))?.upload;

    expect(await expireImport(deps, file.input)).toEqual({ importId: file.importId, status: 'EXPIRED' });
    expect(await expireImport(deps, file.input)).toEqual({ importId: file.importId, status: 'EXPIRED' });
    expect(await importStatus(deps, alice, file.importId)).toMatchObject({
      status: 'EXPIRED',
      reason: expect.stringContaining('within 24 hours'),
    });
    expect(deps.objects.has(upload?.bucket ?? '', upload?.key ?? '')).toBe(false);
    expect(deps.search.posts).toEqual([]);
    expect(deps.audit.entries.get(`import:${file.importId}:EXPIRED`)).toMatchObject({ outcome: 'EXPIRED' });
  });
});

describe('a dry run', () => {
  it('validates every row and writes the error report and the counts, but nothing to the index', async () => {
    const deps = makeImportDeps();
    const body = `userId,dateCreated,content\n${alice.userId},${AT},one\n${alice.userId},never,two\n${alice.userId},${AT},three\n`;
    const file = await uploaded(deps, body, { dryRun: true });
    await identifyImportFormat(deps, file.input);

    expect(await processImport(deps, { ...file.input, format: 'csv' })).toMatchObject({
      status: 'SUCCEEDED',
      rowsImported: 2,
      rowsRejected: 1,
    });
    expect(deps.search.posts).toEqual([]);
    const record = await deps.imports.get(file.importId);
    expect(await importStatus(deps, alice, file.importId)).toMatchObject({ dryRun: true, rowsImported: 2, rowsRejected: 1 });
    expect(parse(deps.objects.text('permanent', record?.errorReportKey ?? ''))).toEqual([
      ['userId', 'dateCreated', 'content', 'line', 'error'],
      [alice.userId, 'never', 'two', '3', expect.stringMatching(/^dateCreated is not a date: never/)],
    ]);
  });

  it('is asked for in POST /api/imports, for one file or a whole batch, with a mapping or without', async () => {
    const deps = makeImportDeps();
    const file = await uploaded(deps, FOREIGN, { dryRun: true, mapping: { Author: 'userId' } });
    expect(await deps.imports.get(file.importId)).toMatchObject({ dryRun: true, mapping: { Author: 'userId' } });
    const batch = await createImport(deps, alice, {
      files: [{ fileName: 'a.csv', size: 10, contentType: 'text/csv' }],
      type: 'direct',
      dryRun: true,
    });
    if (!('batchId' in batch)) throw new Error('expected a batch');
    expect(await deps.imports.get(batch.imports[0]?.importId ?? '')).toMatchObject({ dryRun: true });
    await expect(
      createImport(deps, alice, { fileName: 'a.csv', size: 10, contentType: 'text/csv', type: 'direct', mapping: { A: 'likes' } }),
    ).rejects.toMatchObject({
      field: 'mapping.A',
    });
  });
});
