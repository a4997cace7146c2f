import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Transient } from '../../core/errors';
import type { ExportJob, ExportReport } from '../../core/export/job';
import {
  MIN_PART_BYTES,
  SLICE_PART_BYTES,
  assembleParts,
  firstPartOf,
  type ExportSlicing,
  type SliceRequest,
  type SliceWritten,
} from '../../core/export/slices';
import {
  assembleExportFile,
  generateCsvReport,
  generateReportOrSlice,
  handleExportFailure,
  planExportSlices,
  writeExportSlice,
} from '../../core/export/tasks';
import type { Post } from '../../core/model';
import { inRange, sortKeyOf } from '../../core/search-criteria';
import type { ScanRange } from '../../core/ports';
import { alice, makeFakeDeps, makePosts } from './fakes';

/**
 * A sliced export against the in-memory ports: planned, each slice written as the Map would run it,
 * assembled, and compared byte for byte with the single task's file of the same search.
 */

/** Posts of ~10 KB each of text gzip cannot shrink much, so that slices span several 8 MiB parts. */
const widePosts = (count: number): Post[] =>
  makePosts(count).map((post, i) => {
    let noise = '';
    for (let block = 0; noise.length < 10_000; block++) noise += createHash('sha512').update(`${i}/${block}`).digest('base64');
    return { ...post, content: `${post.content} ${noise}` };
  });

const job = (options: Partial<ExportJob> = {}): ExportJob => ({
  exportId: 'exp-sliced',
  requestedBy: alice,
  delivery: 'direct',
  searchCriteria: {},
  requestedAt: '2024-06-01T12:00:00.000Z',
  ...options,
});

const sliceDeps = (posts: Post[], sliceRows: number) => {
  const deps = makeFakeDeps(posts);
  return { ...deps, config: { ...deps.config, exportSliceRows: sliceRows, exportSliceConcurrency: 2 } };
};
type Deps = ReturnType<typeof sliceDeps>;

/** "Generate CSV report", then the slice path as the state machine runs it (slices in order; the Map's order does not matter). */
async function runSliced(deps: Deps, exportJob: ExportJob): Promise<{ slicing: ExportSlicing; written: SliceWritten[]; report: ExportReport }> {
  const request = (await generateReportOrSlice(deps, exportJob)) as SliceRequest;
  expect(request).toEqual({ sliced: true, totalRows: deps.search.posts.length });
  const slicing = await planExportSlices(deps, { ...exportJob, report: request });
  const written: SliceWritten[] = [];
  for (const slice of [...slicing.slices].reverse()) written.unshift(await writeExportSlice(deps, { job: { ...exportJob, slicing }, slice }));
  const report = await assembleExportFile(deps, { ...exportJob, slicing: { ...slicing, written } });
  return { slicing, written, report };
}

/** The same search written by the single task, in a store of its own. */
async function singleTaskFile(posts: Post[], exportJob: ExportJob): Promise<Buffer> {
  const deps = makeFakeDeps(posts);
  const report = await generateCsvReport(deps, exportJob);
  return deps.objects.objects.get(`${report.bucket}/${report.key}`)!.body;
}

const fileOf = (deps: Deps, report: ExportReport): Buffer => deps.objects.objects.get(`${report.bucket}/${report.key}`)!.body;

describe('sliced exports (core/export/slices.ts)', () => {
  const posts = widePosts(7000);
  const rowsIn = (range: ScanRange) => posts.filter((post) => inRange(sortKeyOf(post), range)).length;

  it('below EXPORT_SLICE_ROWS the single task writes the file, with the total it counted first', async () => {
    const deps = sliceDeps(posts.slice(0, 10), 10);
    const report = (await generateReportOrSlice(deps, job())) as ExportReport;
    expect(report.rowCount).toBe(10);
    expect(deps.exportProgress.history[0]).toMatchObject({ exportId: 'exp-sliced', rowsWritten: 0, totalRows: 10 });
  });

  it('a sliced CSV export is byte for byte the single task\'s file, with the header once and every row of the search', async () => {
    const deps = sliceDeps(posts, 1750);
    const { slicing, written, report } = await runSliced(deps, job({ excel: true }));

    expect(slicing.slices).toHaveLength(4);
    expect(written.map((slice) => slice.rows)).toEqual([1750, 1750, 1750, 1750]);
    const file = fileOf(deps, report);
    expect(file.equals(await singleTaskFile(posts, job({ excel: true })))).toBe(true);
    expect(report).toMatchObject({ bucket: 'ferry-exports-test', key: 'exports/user-alice/exp-sliced.csv', rowCount: 7000, bytes: file.length });
    // Several parts a slice, each in the slice's own numbers; every part but the last at least 5 MiB.
    const parts = deps.objects.partsPut;
    expect(new Set(written.map((slice) => slice.parts > 1))).toEqual(new Set([true]));
    expect(parts.map((part) => part.partNumber).sort((a, b) => a - b)).toEqual(
      written.flatMap((slice) => Array.from({ length: slice.parts }, (_, i) => firstPartOf(slice.slice, slicing.partsPerSlice) + i)),
    );
    const inOrder = [...parts].sort((a, b) => a.partNumber - b.partNumber);
    expect(inOrder.slice(0, -1).filter((part) => part.bytes < MIN_PART_BYTES)).toEqual([]);
    expect(deps.objects.multipartUploads.size).toBe(0);
    expect(deps.exportJobs.records.get('exp-sliced')).toMatchObject({ status: 'SUCCEEDED', rowCount: 7000, bytes: file.length });
  });

  it('progress adds up every slice: rows written reach the total planned', async () => {
    const deps = sliceDeps(posts, 1750);
    await runSliced(deps, job());
    expect(await deps.exportProgress.get('exp-sliced')).toMatchObject({ rowsWritten: 7000, totalRows: 7000 });
    expect(new Set(deps.exportProgress.sliceHistory.map((entry) => entry.slice))).toEqual(new Set([0, 1, 2, 3]));
  });

  it('NDJSON and gzip exports slice too: NDJSON is identical, a gzip file unpacks to the identical text', async () => {
    const ndjson = sliceDeps(posts, 3500);
    const plain = await runSliced(ndjson, job({ format: 'ndjson' }));
    expect(fileOf(ndjson, plain.report).equals(await singleTaskFile(posts, job({ format: 'ndjson' })))).toBe(true);

    const half = posts.slice(0, 3500);
    const gzip = sliceDeps(half, 1750);
    const packed = await runSliced(gzip, job({ gzip: true }));
    expect(packed.slicing.slices).toHaveLength(2);
    // One gzip member per slice: gunzip reads them as one stream.
    expect(gunzipSync(fileOf(gzip, packed.report)).equals(gunzipSync(await singleTaskFile(half, job({ gzip: true }))))).toBe(true);
  });

  it('a slice that fails after some parts is retried from its checkpoint: its first parts are not written again', async () => {
    const deps = sliceDeps(posts, 1750);
    const exportJob = job();
    const request = (await generateReportOrSlice(deps, exportJob)) as SliceRequest;
    const slicing = await planExportSlices(deps, { ...exportJob, report: request });
    const slice1 = slicing.slices[1]!;
    const second = firstPartOf(1, slicing.partsPerSlice) + 1;
    deps.objects.failPart = { partNumber: second, error: new Transient('S3 503 Slow Down') };
    await expect(writeExportSlice(deps, { job: { ...exportJob, slicing }, slice: slice1 })).rejects.toThrow('S3 503 Slow Down');
    expect(deps.objects.partsPut.map((part) => part.partNumber)).toEqual([second - 1]);

    const written: SliceWritten[] = [];
    for (const slice of slicing.slices) written.push(await writeExportSlice(deps, { job: { ...exportJob, slicing }, slice }));
    // Part `second - 1` was put once only: the retry carried on after it.
    expect(deps.objects.partsPut.filter((part) => part.partNumber === second - 1)).toHaveLength(1);
    const report = await assembleExportFile(deps, { ...exportJob, slicing: { ...slicing, written } });
    expect(fileOf(deps, report).equals(await singleTaskFile(posts, exportJob))).toBe(true);
    expect(written[1]).toMatchObject({ slice: 1, rows: 1750 });
  });

  it('a checkpoint whose parts are no longer in the upload is not trusted: the slice writes itself again whole', async () => {
    const deps = sliceDeps(posts, 1750);
    const exportJob = job();
    const slicing = await planExportSlices(deps, { ...exportJob, report: { sliced: true, totalRows: 7000 } });
    await deps.exportProgress.recordSliceCheckpoint('exp-sliced', 2, {
      uploadId: slicing.uploadId,
      parts: 1,
      rows: 800,
      bytes: SLICE_PART_BYTES,
      lastKey: { createdMs: 0, id: 'post-9999999' },
    });
    const written = await writeExportSlice(deps, { job: { ...exportJob, slicing }, slice: slicing.slices[2]! });
    const rows = rowsIn(slicing.slices[2]!.range);
    expect(written).toMatchObject({ slice: 2, rows });
    expect(deps.exportProgress.sliceHistory.at(-1)).toEqual({ exportId: 'exp-sliced', slice: 2, rowsWritten: rows });
  });

  it('rows too small to fill 5 MiB parts are planned as fewer slices (here one)', async () => {
    const deps = sliceDeps(makePosts(3000), 500);
    const slicing = await planExportSlices(deps, { ...job(), report: { sliced: true, totalRows: 3000 } });
    expect(slicing.slices).toEqual([{ slice: 0, range: { after: { createdMs: Date.parse('2024-06-01T12:00:00.000Z') + 1, id: '' } } }]);
    expect(slicing.partsPerSlice).toBe(10_000);
  });

  it('the assembly refuses a part under 5 MiB that is not the last (S3 would answer EntityTooSmall)', async () => {
    const deps = sliceDeps(posts, 1000);
    const { uploadId } = await deps.objects.createMultipartUpload('ferry-exports-test', 'exports/x.csv', 'text/csv');
    await deps.objects.putPart('ferry-exports-test', 'exports/x.csv', uploadId, 1, Buffer.from('small'));
    await deps.objects.putPart('ferry-exports-test', 'exports/x.csv', uploadId, 2, Buffer.from('last'));
    const slicing = { bucket: 'ferry-exports-test', key: 'exports/x.csv', uploadId, totalRows: 2, partsPerSlice: 1, maxConcurrency: 1, slices: [] };
    const written = [
      { slice: 0, rows: 1, bytes: 5, parts: 1 },
      { slice: 1, rows: 1, bytes: 4, parts: 1 },
    ];
    await expect(assembleParts(deps, { ...slicing, written })).rejects.toThrow(/Part 1 has 5 bytes, under S3's 5 MiB/);
  });

  it("a failed export aborts its sliced upload: no parts are left behind", async () => {
    const deps = sliceDeps(posts, 1750);
    const exportJob = job();
    const slicing = await planExportSlices(deps, { ...exportJob, report: { sliced: true, totalRows: 7000 } });
    await writeExportSlice(deps, { job: { ...exportJob, slicing }, slice: slicing.slices[0]! });
    expect(deps.objects.multipartUploads.size).toBe(1);
    const failure = { Error: 'InvalidInput', Cause: 'a slice kept failing' };
    await handleExportFailure(deps, { executionArn: 'arn:aws:states:us-east-1:1:execution:ferry-export:x', job: exportJob, failure });
    expect(deps.objects.multipartUploads.size).toBe(0);
  });
});
