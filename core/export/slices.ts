import { MAX_EXPORT_SLICES } from '../capacity';
import { InvalidInput } from '../errors';
import type { Post } from '../model';
import type { Clock, ExportProgress, ExportRecords, ObjectStore, ScanRange, SearchSource, SliceCheckpoint, SortKey, WarningLog } from '../ports';
import { sortKeyOf } from '../search-criteria';
import { exportColumns } from './csv';
import { contentTypeOf, exportFileStream, exportTextChunks, fileOptionsOf } from './file-format';
import { downloadNameOf, reportKey, type ExportJob, type ExportReport } from './job';
import { ProgressReporter, reportingProgress } from './progress';

/**
 * A sliced export (statemachines/export.asl.yaml, "Plan the export's slices" → "Write each slice" →
 * "Assemble the export file"): the search cut into ranges of its newest-first order, each range written by
 * its own task into its own part numbers of ONE multipart upload, completed in order. Only ids, keys and
 * counts travel in the state (256 KB): the rows never do.
 */

const MiB = 1024 * 1024;
/** S3: every part but the last of an upload is at least 5 MiB. */
export const MIN_PART_BYTES = 5 * MiB;
/** A slice cuts a part once this much is buffered (at a chunk boundary, so a plain part ends with a whole row). */
export const SLICE_PART_BYTES = 8 * MiB;
/** S3's most parts in one upload, shared out among the slices. */
export const MAX_UPLOAD_PARTS = 10_000;
/** Most slices of one export: 100 parts (≥ 800 MiB) each. */
export const MAX_SLICES = MAX_EXPORT_SLICES;
/** Planning sizes the slices from this many rows written the way the file writes them. */
const SAMPLE_ROWS = 200;
/** A slice planned smaller than this could end below MIN_PART_BYTES (rows differ in size): fewer, larger slices instead. */
const MIN_SLICE_BYTES = 2 * MIN_PART_BYTES;

/** What "Generate CSV report" answers instead of a report when the export is larger than one task should write. */
export interface SliceRequest {
  sliced: true;
  totalRows: number;
}

export const isSliceRequest = (report: ExportReport | SliceRequest): report is SliceRequest => 'sliced' in report;

export interface SliceDescriptor {
  slice: number;
  range: ScanRange;
}

/** "Plan the export's slices": the upload every slice writes into, and the slices (the Map's items). */
export interface ExportSlicing {
  bucket: string;
  key: string;
  uploadId: string;
  totalRows: number;
  partsPerSlice: number;
  /** The Map's MaxConcurrency (EXPORT_SLICE_CONCURRENCY). */
  maxConcurrency: number;
  slices: SliceDescriptor[];
}

/** What one slice wrote (the Map's result per item, in slice order). */
export interface SliceWritten {
  slice: number;
  rows: number;
  bytes: number;
  parts: number;
}

export type PlanSlicesInput = ExportJob & { report: SliceRequest };
export interface WriteSliceInput {
  job: ExportJob & { slicing: ExportSlicing };
  slice: SliceDescriptor;
}
export type AssembleInput = ExportJob & { slicing: ExportSlicing & { written: SliceWritten[] } };

export interface SliceConfig {
  exportsBucket: string;
  /** Above this many rows (the search total) an export is sliced, into slices of about this many rows. */
  exportSliceRows: number;
  exportSliceConcurrency: number;
}

/** Slices wanted for `total` rows: about `sliceRows` each, at most MAX_SLICES. */
export const slicesFor = (total: number, sliceRows: number): number => Math.max(1, Math.min(MAX_SLICES, Math.ceil(total / sliceRows)));

/** The first part number of a slice (1-based; slice i owns [i·P + 1, (i + 1)·P]). */
export const firstPartOf = (slice: number, partsPerSlice: number): number => slice * partsPerSlice + 1;

/** The bytes the file would take for `rows`, written with the job's options (gzip included), without the header. */
async function bytesPerRow(job: ExportJob, rows: Post[]): Promise<number> {
  const columns = exportColumns(job.columns);
  async function* once(): AsyncGenerator<Post[]> {
    yield rows;
  }
  let bytes = 0;
  for await (const chunk of exportFileStream(once(), columns, fileOptionsOf(job), { rows: 0 }, { start: false }) as AsyncIterable<Buffer | string>) {
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
  }
  return bytes / rows.length;
}

/**
 * Cuts the search into slices of about EXPORT_SLICE_ROWS rows (fewer when the rows are too small for every
 * slice to fill a 5 MiB part), starts the one multipart upload and records the total for the progress bar.
 */
export async function planExportSlices(
  deps: { search: SearchSource; objects: ObjectStore; exportProgress: ExportProgress; clock: Clock; config: SliceConfig },
  job: PlanSlicesInput,
): Promise<ExportSlicing> {
  const { config } = deps;
  const sample = await deps.search.search(job.searchCriteria, { page: 1, pageSize: SAMPLE_ROWS });
  const estimatedBytes = sample.hits.length > 0 ? (await bytesPerRow(job, sample.hits)) * sample.total : 0;
  const wanted = Math.min(slicesFor(sample.total, config.exportSliceRows), Math.max(1, Math.floor(estimatedBytes / MIN_SLICE_BYTES)));
  const plan = await deps.search.planSlices(job.searchCriteria, wanted);
  // Nothing matches any more: one slice writes the header alone.
  const ranges = plan.ranges.length > 0 ? plan.ranges : [{}];
  const fileOptions = fileOptionsOf(job);
  const bucket = config.exportsBucket;
  const key = reportKey(job);
  const { uploadId } = await deps.objects.createMultipartUpload(bucket, key, contentTypeOf(fileOptions), {
    contentDisposition: `attachment; filename="${downloadNameOf(job)}"`,
    metadata: { 'export-id': job.exportId },
  });
  await deps.exportProgress.record(job.exportId, { rowsWritten: 0, totalRows: plan.total, updatedAt: deps.clock.now().toISOString() });
  return {
    bucket,
    key,
    uploadId,
    totalRows: plan.total,
    partsPerSlice: Math.floor(MAX_UPLOAD_PARTS / ranges.length),
    maxConcurrency: config.exportSliceConcurrency,
    slices: ranges.map((range, slice) => ({ slice, range })),
  };
}

/**
 * Passes batches through, remembering the key of every post handed on, so a part cut after `rows` rows knows
 * the key of its last row (the file's writers finish a batch before they ask for the next one).
 */
class KeyTracker {
  private batch: Post[] = [];
  private start = 0;

  constructor(private readonly counted: number) {}

  async *track(batches: AsyncIterable<Post[]>): AsyncGenerator<Post[]> {
    let start = this.counted;
    for await (const batch of batches) {
      this.batch = batch;
      this.start = start;
      start += batch.length;
      yield batch;
    }
  }

  /** The key of the `rows`-th row of the slice (1-based, counting rows a resumed slice had already written). */
  keyAt(rows: number): SortKey {
    const post = this.batch[rows - this.start - 1];
    if (!post) throw new Error(`row ${rows} is not in the batch being written (rows ${this.start + 1}–${this.start + this.batch.length})`);
    return sortKeyOf(post);
  }
}

/**
 * "Write one slice": streams the slice's rows, newest first, into its part numbers, parts of at least
 * SLICE_PART_BYTES (the slice's last part holds the rest with its last full part when the rest is under
 * 5 MiB, so only a slice smaller than 5 MiB in all has a smaller part). A plain (uncompressed) part ends
 * with a whole row, and after each part the slice records a checkpoint: a retried slice checks its parts
 * are still in the upload (ListParts) and carries on after the last one, never from zero. A compressed
 * slice is one gzip stream cut anywhere, so a retry writes it again from its start.
 */
export async function writeExportSlice(
  deps: {
    search: SearchSource;
    objects: ObjectStore;
    exportProgress: ExportProgress;
    exportJobs: ExportRecords;
    clock: Clock;
    log?: WarningLog;
    untilCancelled: (batches: AsyncIterable<Post[]>) => AsyncIterable<Post[]>;
  },
  input: WriteSliceInput,
): Promise<SliceWritten> {
  const { job, slice } = input;
  const { bucket, key, uploadId, partsPerSlice } = job.slicing;
  const fileOptions = fileOptionsOf(job);
  const firstPart = firstPartOf(slice.slice, partsPerSlice);
  const checkpoint = fileOptions.gzip ? undefined : await usableCheckpoint(deps, job.exportId, slice.slice, job.slicing, firstPart);
  const done = { parts: checkpoint?.parts ?? 0, rows: checkpoint?.rows ?? 0, bytes: checkpoint?.bytes ?? 0 };
  const range: ScanRange = checkpoint ? { ...slice.range, after: checkpoint.lastKey } : slice.range;

  const counter = { rows: done.rows };
  const reporter = new ProgressReporter(deps, job.exportId, slice.slice);
  const keys = new KeyTracker(done.rows);
  const batches = keys.track(deps.untilCancelled(reportingProgress(deps.search.scan(job.searchCriteria, { range }), counter, reporter)));
  const columns = exportColumns(job.columns);
  const start = { start: slice.slice === 0 && !checkpoint };
  // Plain text straight from its generator, so a part's last row is known exactly; gzip through its stream.
  const body: AsyncIterable<Buffer | string> = fileOptions.gzip
    ? exportFileStream(batches, columns, fileOptions, counter, start)
    : exportTextChunks(batches, columns, fileOptions, counter, start);

  interface Part {
    body: Buffer;
    rows: number;
    lastKey?: SortKey;
  }
  const cut = (chunks: Buffer[]): Part => ({
    body: Buffer.concat(chunks),
    rows: counter.rows,
    ...(!fileOptions.gzip && counter.rows > done.rows ? { lastKey: keys.keyAt(counter.rows) } : {}),
  });
  /** The last part cut, held back until the next one is cut (or merged with the rest at the end). */
  let held: Part | undefined;
  const send = async (part: Part): Promise<void> => {
    if (done.parts >= partsPerSlice) {
      throw new InvalidInput(`Slice ${slice.slice} needs more than its ${partsPerSlice} parts; plan more slices (EXPORT_SLICE_ROWS).`, 'slices');
    }
    await deps.objects.putPart(bucket, key, uploadId, firstPart + done.parts, part.body);
    done.parts += 1;
    done.bytes += part.body.byteLength;
    done.rows = part.rows;
    if (part.lastKey) await deps.exportProgress.recordSliceCheckpoint(job.exportId, slice.slice, { uploadId, ...done, lastKey: part.lastKey });
  };

  let chunks: Buffer[] = [];
  let buffered = 0;
  for await (const chunk of body) {
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    chunks.push(data);
    buffered += data.byteLength;
    if (buffered < SLICE_PART_BYTES) continue;
    const part = cut(chunks);
    if (held) await send(held);
    held = part;
    chunks = [];
    buffered = 0;
  }
  const rest = cut(chunks);
  if (held && rest.body.byteLength < MIN_PART_BYTES) {
    await send({ ...rest, body: Buffer.concat([held.body, rest.body]) });
  } else {
    if (held) await send(held);
    if (rest.body.byteLength > 0 || done.parts === 0) await send(rest);
  }
  await reporter.finish(counter.rows);
  return { slice: slice.slice, ...done };
}

/** The slice's checkpoint when it belongs to this upload and every part it counts is still there. */
async function usableCheckpoint(
  deps: { objects: ObjectStore; exportProgress: ExportProgress; log?: WarningLog },
  exportId: string,
  slice: number,
  upload: Pick<ExportSlicing, 'bucket' | 'key' | 'uploadId'>,
  firstPart: number,
): Promise<SliceCheckpoint | undefined> {
  const checkpoint = await deps.exportProgress.sliceCheckpoint(exportId, slice);
  if (!checkpoint || checkpoint.uploadId !== upload.uploadId || checkpoint.parts === 0) return undefined;
  const listed = new Set((await deps.objects.listParts(upload.bucket, upload.key, upload.uploadId)).map((part) => part.partNumber));
  for (let part = firstPart; part < firstPart + checkpoint.parts; part++) {
    if (!listed.has(part)) {
      deps.log?.warn({ exportId, slice, part }, 'A checkpointed part is not in the upload; the slice starts again');
      return undefined;
    }
  }
  return checkpoint;
}

/**
 * "Assemble the export file": completes the upload with every slice's parts in order (their ETags from
 * ListParts: the state carries counts only). Every part but the very last must be ≥ 5 MiB, as S3 checks.
 */
export async function assembleParts(deps: { objects: ObjectStore }, slicing: AssembleInput['slicing']): Promise<{ rows: number; bytes: number }> {
  const listed = new Map((await deps.objects.listParts(slicing.bucket, slicing.key, slicing.uploadId)).map((part) => [part.partNumber, part]));
  const written = [...slicing.written].sort((a, b) => a.slice - b.slice);
  const parts = written.flatMap((slice) =>
    Array.from({ length: slice.parts }, (_, i) => {
      const partNumber = firstPartOf(slice.slice, slicing.partsPerSlice) + i;
      const part = listed.get(partNumber);
      if (!part) throw new Error(`Part ${partNumber} of slice ${slice.slice} is not in upload ${slicing.uploadId}`);
      return part;
    }),
  );
  const small = parts.slice(0, -1).find((part) => part.bytes < MIN_PART_BYTES);
  if (small) {
    throw new InvalidInput(`Part ${small.partNumber} has ${small.bytes} bytes, under S3's 5 MiB for a part that is not the last; plan fewer slices.`, 'slices');
  }
  await deps.objects.completeMultipartUpload(
    slicing.bucket,
    slicing.key,
    slicing.uploadId,
    parts.map(({ partNumber, etag }) => ({ partNumber, etag })),
  );
  return { rows: written.reduce((sum, slice) => sum + slice.rows, 0), bytes: written.reduce((sum, slice) => sum + slice.bytes, 0) };
}
