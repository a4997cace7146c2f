import { Readable } from 'node:stream';
import { mapLimit } from '../concurrency';
import { InvalidInput } from '../errors';
import type { ObjectLocation } from '../ports';
import { chunkStream, planChunksStep, type ImportChunk, type PlanProgress } from './chunks';
import { DEFAULT_IMPORT_CHUNK_BYTES, DEFAULT_IMPORT_CHUNK_CONCURRENCY, DEFAULT_IMPORT_PLAN_STEP_BYTES } from './config';
import { errorReportContentType } from './error-report';
import type { FileTaskInput } from './job';
import { chunkOutcomeKeyOf, chunkReportKeyOf, errorReportKeyOf, permanentKeyOf } from './keys';
import { isFinal, mustGetImport, pinnedUpload, type ImportRecord, type ImportRowCounts } from './records';
import { MAX_RECORD_BYTES, type RowFormat } from './rows';
import {
  COMMITTABLE,
  endedOutcome,
  finishProcessing,
  IMPORT_INDEX_BATCH,
  NO_ROWS,
  processImport,
  stageRows,
  type ProcessDeps,
  type ProcessOutcome,
} from './tasks';

/**
 * The chunked import of a large file (statemachines/import.asl.yaml: "Plan the file's chunks", "Import each chunk",
 * "Assemble the error report and commit"). All or nothing across chunks: each chunk stages its rows under the import
 * (recording its chunk, so a retried chunk discards only its own) and writes its part of the error report; nothing is
 * searchable until the one commit of the last step, and a failing chunk fails the file through the usual Catch (the
 * failure handler discards the whole staging). The counts, the error report (one, rows in file order) and the posts
 * are those of the file read in one piece (processImport): chunks are whole batches of that read (chunks.ts).
 *
 * Ids repeated across chunks: a chunk that meets an id an earlier chunk staged refuses its row, as the one-piece read
 * does. A chunk that meets an id a LATER chunk staged first (they run side by side) cannot tell the later chunk to
 * refuse its row instead, so it says so, and the last step imports the file in one piece (processImport) rather than
 * commit a different outcome. Only files that repeat ids across chunks pay for it.
 */

/** Chunks at most (the Map's items travel in the execution state, 256 KB): larger chunks instead. */
export const MAX_IMPORT_CHUNKS = 500;

/** What "Plan the file's chunks" returns at `$.plan`: one chunk goes to "Import valid rows", more to the Map. */
export interface ChunkPlanOutcome {
  count: number;
  /** Empty for one chunk (the one-piece task needs none). */
  chunks: ImportChunk[];
  headerBytes: number;
  /** The Map's MaxConcurrency (IMPORT_CHUNK_CONCURRENCY). */
  concurrency: number;
}

/** What each chunk records for the last step (chunkOutcomeKeyOf). */
interface ChunkOutcome {
  counts: ImportRowCounts;
  unreadable?: string;
  laterChunkHolds?: boolean;
}

type ChunkTaskInput = FileTaskInput & { format: RowFormat };

/** Where the original is: the upload, or (a retry after the move) the permanent copy. */
async function sourceOf(deps: Pick<ProcessDeps, 'objects' | 'config'>, record: ImportRecord): Promise<ObjectLocation> {
  const permanent = { bucket: deps.config.permanentBucket, key: permanentKeyOf(record) };
  return (await deps.objects.head(record.upload.bucket, record.upload.key, pinnedUpload(record))) ? record.upload : permanent;
}

const rangedReader = (deps: Pick<ProcessDeps, 'objects'>, record: ImportRecord, source: ObjectLocation) => {
  const pin = source === record.upload ? pinnedUpload(record) : {};
  return (range: { start: number; end: number }) => deps.objects.getStream(source.bucket, source.key, { ...pin, range });
};

/** What a step of "Plan the file's chunks" that did not reach the end returns at `$.plan`: "Plan more of the file's chunks" goes on from it. */
export interface ChunkPlanProgress {
  progress: PlanProgress;
}

/**
 * "Plan the file's chunks" (and "Plan more of the file's chunks", with the `progress` the step before returned): a file
 * of IMPORT_CHUNK_BYTES or less is one chunk, found without reading it; a larger one is read at most
 * IMPORT_PLAN_STEP_BYTES per invocation, so every step stays inside a Lambda's 900 s whatever the file's size.
 */
export async function planImportChunks(
  deps: Pick<ProcessDeps, 'imports' | 'objects' | 'config'>,
  input: ChunkTaskInput & { progress?: PlanProgress },
): Promise<ChunkPlanOutcome | ChunkPlanProgress> {
  const record = await mustGetImport(deps.imports, input.importId);
  const concurrency = deps.config.importChunkConcurrency ?? DEFAULT_IMPORT_CHUNK_CONCURRENCY;
  const one = { count: 1, chunks: [], headerBytes: 0, concurrency };
  if (isFinal(record)) return one;
  const source = await sourceOf(deps, record);
  const head = await deps.objects.head(source.bucket, source.key, source === record.upload ? pinnedUpload(record) : {});
  const step = await planChunksStep(
    rangedReader(deps, record, source),
    {
      format: input.format,
      encoding: record.encoding ?? 'utf-8',
      delimiter: record.delimiter ?? ',',
      size: head?.bytes ?? record.size,
      chunkBytes: deps.config.importChunkBytes ?? DEFAULT_IMPORT_CHUNK_BYTES,
      batchRows: IMPORT_INDEX_BATCH,
      maxRecordBytes: MAX_RECORD_BYTES,
      maxChunks: MAX_IMPORT_CHUNKS,
    },
    input.progress,
    deps.config.importPlanStepBytes ?? DEFAULT_IMPORT_PLAN_STEP_BYTES,
  );
  if (!('plan' in step)) return { progress: step.progress };
  const { plan } = step;
  if (plan.chunks.length === 1) return one;
  return { count: plan.chunks.length, chunks: plan.chunks, headerBytes: plan.headerBytes, concurrency };
}

/** Every step of "Plan the file's chunks" in this process, as the state machine's loop runs them (bench, tests). */
export async function planImportChunksToEnd(
  deps: Pick<ProcessDeps, 'imports' | 'objects' | 'config'>,
  input: ChunkTaskInput,
): Promise<ChunkPlanOutcome> {
  let step = await planImportChunks(deps, input);
  while ('progress' in step) step = await planImportChunks(deps, { ...input, progress: step.progress });
  return step;
}

/**
 * "Import each chunk": the chunk's rows read, validated, compared and staged under its chunk, its part of the error
 * report and its counts written. A retry discards what this chunk staged before and does it again.
 */
export async function importChunk(
  deps: ProcessDeps,
  input: ChunkTaskInput & { chunk: ImportChunk; headerBytes: number },
): Promise<{ chunk: number }> {
  const record = await mustGetImport(deps.imports, input.importId);
  const { chunk } = input;
  // Ended (cancelled, failed), or the commit already claimed it: nothing left for a chunk to do.
  if (isFinal(record) || record.status === 'COMMITTING') return { chunk: chunk.index };
  const dryRun = record.dryRun === true;
  if (!dryRun) await deps.search.discardStaged(record.importId, { chunk: chunk.index });
  const source = await sourceOf(deps, record);
  const rows = chunkStream(rangedReader(deps, record, source), chunk, input.headerBytes);
  const staged = await stageRows(
    deps,
    record,
    input.format,
    rows,
    { key: chunkReportKeyOf(record, chunk.index), header: chunk.index === 0 },
    chunk,
  );
  const outcome: ChunkOutcome =
    'unreadable' in staged
      ? { counts: { ...NO_ROWS, rowsRejected: staged.rowsRejected }, unreadable: staged.unreadable.message }
      : { counts: staged.counts, ...(staged.laterChunkHolds ? { laterChunkHolds: true } : {}) };
  await deps.objects.putStream(
    deps.config.permanentBucket,
    chunkOutcomeKeyOf(record, chunk.index),
    Readable.from([JSON.stringify(outcome)]),
    {
      contentType: 'application/json',
    },
  );
  return { chunk: chunk.index };
}

/**
 * "Assemble the error report and commit": the chunks' parts joined into the one error report (in file order), their
 * counts added up, then the commit as processImport makes it (RUNNING → COMMITTING with the counts, one commitStaged
 * over every chunk's staging, the original to the permanent bucket, SUCCEEDED). A file a chunk found unreadable is
 * REJECTED with the rows rejected up to there; one whose chunks met an id in the wrong order is imported in one piece.
 */
export async function commitImportChunks(deps: ProcessDeps, input: ChunkTaskInput & { chunkCount: number }): Promise<ProcessOutcome> {
  const record = await mustGetImport(deps.imports, input.importId);
  if (isFinal(record)) return endedOutcome(deps, record);
  const source = await sourceOf(deps, record);
  const where = {
    source,
    permanent: { bucket: deps.config.permanentBucket, key: permanentKeyOf(record) },
    errorReportKey: errorReportKeyOf(record),
  };
  const indexes = Array.from({ length: input.chunkCount }, (_, i) => i);
  const dryRun = record.dryRun === true;
  // A retry of a commit cut short: the report was assembled and the counts claimed before it started.
  if (record.status === 'COMMITTING' && record.staged) {
    if (!dryRun) await deps.search.commitStaged(record.importId);
    await removeChunkObjects(deps, record, indexes);
    return finishProcessing(deps, record, input, where, record.staged);
  }
  const outcomes = await mapLimit(indexes, 8, (i) => readOutcome(deps, record, i));
  if (outcomes.some((outcome) => outcome.laterChunkHolds)) {
    await deps.search.discardStaged(record.importId);
    await removeChunkObjects(deps, record, indexes);
    return processImport(deps, input);
  }
  const unreadableAt = outcomes.findIndex((outcome) => outcome.unreadable !== undefined);
  const upTo = unreadableAt === -1 ? outcomes : outcomes.slice(0, unreadableAt + 1);
  await assembleReport(deps, record, upTo.length);
  const counts = upTo.reduce<ImportRowCounts>(
    (sum, { counts: c }) => ({
      rowsCreated: sum.rowsCreated + c.rowsCreated,
      rowsUpdated: sum.rowsUpdated + c.rowsUpdated,
      rowsUnchanged: sum.rowsUnchanged + c.rowsUnchanged,
      rowsRejected: sum.rowsRejected + c.rowsRejected,
      onBehalfRows: sum.onBehalfRows + c.onBehalfRows,
    }),
    { ...NO_ROWS },
  );
  const unreadable = unreadableAt === -1 ? undefined : outcomes[unreadableAt]?.unreadable;
  if (unreadable !== undefined) {
    await deps.search.discardStaged(record.importId);
    await removeChunkObjects(deps, record, indexes);
    return finishProcessing(
      deps,
      record,
      input,
      where,
      { ...NO_ROWS, rowsRejected: counts.rowsRejected },
      new InvalidInput(unreadable, 'file'),
    );
  }
  const claimed = await deps.imports.updateIf(record.importId, { status: 'COMMITTING', staged: counts }, deps.clock.now(), COMMITTABLE);
  if (!claimed) return endedOutcome(deps, await mustGetImport(deps.imports, record.importId));
  if (!dryRun) await deps.search.commitStaged(record.importId);
  await removeChunkObjects(deps, record, indexes);
  return finishProcessing(deps, record, input, where, counts);
}

async function readOutcome(deps: Pick<ProcessDeps, 'objects' | 'config'>, record: ImportRecord, chunk: number): Promise<ChunkOutcome> {
  let text = '';
  for await (const piece of await deps.objects.getStream(deps.config.permanentBucket, chunkOutcomeKeyOf(record, chunk)))
    text += String(piece);
  return JSON.parse(text) as ChunkOutcome;
}

/** The first `parts` chunks' parts, one after the other, as the import's error report (streamed: never all in memory). */
async function assembleReport(deps: Pick<ProcessDeps, 'objects' | 'config'>, record: ImportRecord, parts: number): Promise<void> {
  const bucket = deps.config.permanentBucket;
  const joined = Readable.from(
    (async function* () {
      for (let i = 0; i < parts; i++) yield* await deps.objects.getStream(bucket, chunkReportKeyOf(record, i));
    })(),
  );
  await deps.objects.putStream(bucket, errorReportKeyOf(record), joined, {
    contentType: errorReportContentType(record.encoding),
    metadata: { 'import-id': record.importId },
  });
}

async function removeChunkObjects(deps: Pick<ProcessDeps, 'objects' | 'config'>, record: ImportRecord, indexes: number[]): Promise<void> {
  await mapLimit(indexes, 8, async (i) => {
    await deps.objects.delete(deps.config.permanentBucket, chunkReportKeyOf(record, i));
    await deps.objects.delete(deps.config.permanentBucket, chunkOutcomeKeyOf(record, i));
  });
}
