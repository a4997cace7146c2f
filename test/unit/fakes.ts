import { FixedUserDirectory, InMemoryExportRecords } from './job-fakes';
import { MAX_EXPORT_ROWS_ONE_TASK } from '../../core/capacity';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { decodePairCursor, encodeCursor } from '../../adapters/list-cursor';
import { NotFound, UploadChanged } from '../../core/errors';
import type { PresignedPostPlan } from '../../core/import/upload-policy';
import type { Post, SearchCriteria, User } from '../../core/model';
import { inRange, justBefore, rangesBetween, sortKeyOf } from '../../core/search-criteria';
import type {
  AuditEntry,
  AuditLog,
  Clock,
  ConnectionRendezvous,
  ExecutionDescription,
  ExecutionService,
  ExecutionSummary,
  ExportProgress,
  ExportProgressSnapshot,
  IdGenerator,
  IndexOutcome,
  MailMessage,
  Mailer,
  ByteRange,
  ObjectHead,
  ObjectLocation,
  ObjectCondition,
  ObjectStore,
  PresignedPost,
  PushChannel,
  PutObjectOptions,
  StagingChunk,
  UploadedPart,
  ListedPart,
  ScanRange,
  SearchPage,
  SliceCheckpoint,
  SlicePlan,
  SortKey,
  StagingSearchSource,
  WorkflowName,
} from '../../core/ports';

/**
 * In-memory fakes of the ports, shared by unit tests. Each keeps what it was given in public fields
 * so tests can assert on it, and has small switches to inject failures.
 */

export const alice: User = { userId: 'user-alice', username: 'alice', email: 'alice@example.com', groups: ['members'] };
export const bob: User = { userId: 'user-bob', username: 'bob', email: 'bob@example.com', groups: ['members'] };
export const carol: User = { userId: 'user-carol', username: 'carol', email: 'carol@example.com', groups: ['members'] };

/** `count` posts, newest first, one minute apart, with deterministic content. */
export function makePosts(count: number, start = new Date('2024-06-01T12:00:00.000Z')): Post[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `post-${String(i).padStart(7, '0')}`,
    userId: `author-${i % 7}`,
    dateCreated: new Date(start.getTime() - i * 60_000).toISOString(),
    content: `Post number ${i}, about ferries and "harbours"`,
    tags: i % 3 === 0 ? ['ferry', 'sea'] : ['news'],
  }));
}

export class InMemorySearchSource implements StagingSearchSource {
  /** Posts staged per import, invisible to search and scan until committed. */
  readonly staged = new Map<string, Map<string, Post>>();
  /** The chunk that staged each post (importId → post id → chunk). */
  private readonly stagedChunks = new Map<string, Map<string, number>>();

  /** How many batches scan() has handed out, across calls. */
  batchesServed = 0;
  /** When set, scan() throws this after serving `failAfterBatches` batches. */
  failure?: { error: Error; afterBatches: number };

  constructor(
    public posts: Post[] = [],
    private readonly defaultBatchSize = 500,
  ) {}

  async search(criteria: SearchCriteria, page: { page: number; pageSize: number }): Promise<SearchPage> {
    const matches = this.matching(criteria);
    const start = (page.page - 1) * page.pageSize;
    return { total: matches.length, hits: matches.slice(start, start + page.pageSize) };
  }

  async *scan(criteria: SearchCriteria, options?: { batchSize?: number; range?: ScanRange }): AsyncIterable<Post[]> {
    const size = options?.batchSize ?? this.defaultBatchSize;
    const range = options?.range;
    const matches = this.matching(criteria).filter((post) => !range || inRange(sortKeyOf(post), range));
    let served = 0;
    for (let i = 0; i < matches.length; i += size) {
      if (this.failure && served >= this.failure.afterBatches) throw this.failure.error;
      served += 1;
      this.batchesServed += 1;
      yield matches.slice(i, i + size);
    }
    if (this.failure && served >= this.failure.afterBatches) throw this.failure.error;
  }

  /** Exact equal counts, as the SQLite store plans them. */
  async planSlices(criteria: SearchCriteria, slices: number): Promise<SlicePlan> {
    const matches = this.matching(criteria);
    if (matches.length === 0) return { total: 0, ranges: [] };
    const count = Math.max(1, Math.min(slices, matches.length));
    const boundaries: SortKey[] = [];
    for (let i = 1; i < count; i++) boundaries.push(sortKeyOf(matches[Math.round((i * matches.length) / count) - 1]!));
    return { total: matches.length, ranges: rangesBetween(justBefore(sortKeyOf(matches[0]!)), boundaries) };
  }

  async indexPosts(posts: Post[]): Promise<IndexOutcome> {
    const byId = new Map(this.posts.map((post) => [post.id, post]));
    for (const post of posts) byId.set(post.id, post);
    this.posts = [...byId.values()];
    return { rejected: [] };
  }

  async postsById(ids: readonly string[]): Promise<Map<string, Post>> {
    const wanted = new Set(ids);
    return new Map(this.posts.filter((post) => wanted.has(post.id)).map((post) => [post.id, post]));
  }

  async stagePosts(importId: string, posts: Post[], options: StagingChunk = {}): Promise<IndexOutcome> {
    const staging = this.staged.get(importId) ?? new Map<string, Post>();
    const chunks = this.stagedChunks.get(importId) ?? new Map<string, number>();
    const rejected: IndexOutcome['rejected'] = [];
    for (const post of posts) {
      const stagedBy = chunks.get(post.id);
      if (stagedBy !== undefined)
        rejected.push({
          id: post.id,
          reason: `${post.id} is already staged`,
          repeated: true,
          ...(options.chunk === undefined ? {} : { stagedBy }),
        });
      else {
        staging.set(post.id, post);
        chunks.set(post.id, options.chunk ?? 0);
      }
    }
    this.staged.set(importId, staging);
    this.stagedChunks.set(importId, chunks);
    return { rejected };
  }

  async commitStaged(importId: string): Promise<{ committed: number }> {
    const staging = [...(this.staged.get(importId)?.values() ?? [])];
    await this.indexPosts(staging);
    this.staged.delete(importId);
    this.stagedChunks.delete(importId);
    return { committed: staging.length };
  }

  async discardStaged(importId: string, options: StagingChunk = {}): Promise<void> {
    if (options.chunk === undefined) {
      this.staged.delete(importId);
      this.stagedChunks.delete(importId);
      return;
    }
    for (const [id, chunk] of this.stagedChunks.get(importId) ?? []) {
      if (chunk !== options.chunk) continue;
      this.stagedChunks.get(importId)?.delete(id);
      this.staged.get(importId)?.delete(id);
    }
  }

  /** A simple stand-in for the real filters: substring q, every tag, exact userId, inclusive date range. */
  private matching(criteria: SearchCriteria): Post[] {
    const q = criteria.q?.toLowerCase();
    return this.posts
      .filter((post) => !q || post.content.toLowerCase().includes(q))
      .filter((post) => !criteria.tags || criteria.tags.every((tag) => post.tags.includes(tag)))
      .filter((post) => !criteria.userId || post.userId === criteria.userId)
      .filter((post) => !criteria.from || post.dateCreated >= criteria.from)
      .filter((post) => !criteria.to || post.dateCreated <= criteria.to)
      .sort((a, b) => (a.dateCreated === b.dateCreated ? b.id.localeCompare(a.id) : b.dateCreated.localeCompare(a.dateCreated)));
  }
}

export interface StoredObject {
  body: Buffer;
  options: PutObjectOptions;
}

/** As S3 computes a single-part object's ETag: the MD5 of its bytes (hex, unquoted). */
export const etagOf = (body: Buffer | string): string => createHash('md5').update(body).digest('hex');

function mustMatch(object: StoredObject, condition: ObjectCondition, where: string): void {
  if (condition.ifMatch !== undefined && condition.ifMatch !== etagOf(object.body)) throw new UploadChanged(`${where} changed`);
}

export class InMemoryObjectStore implements ObjectStore {
  readonly objects = new Map<string, StoredObject>();
  readonly presigned: Array<{ bucket: string; key: string; expiresInSeconds: number; downloadName?: string }> = [];
  /** Called with each chunk as it is consumed; a test can slow the consumer down here. */
  onChunk?: (chunk: Buffer) => Promise<void> | void;

  async putStream(bucket: string, key: string, body: Readable, options: PutObjectOptions): Promise<{ bytes: number }> {
    const chunks: Buffer[] = [];
    for await (const chunk of body) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      await this.onChunk?.(buffer);
      chunks.push(buffer);
    }
    const stored = Buffer.concat(chunks);
    this.objects.set(`${bucket}/${key}`, { body: stored, options });
    return { bytes: stored.length };
  }

  async getStream(bucket: string, key: string, condition: ObjectCondition & { range?: ByteRange } = {}): Promise<Readable> {
    const object = this.objects.get(`${bucket}/${key}`);
    if (!object) throw new NotFound(`No object ${bucket}/${key}`);
    mustMatch(object, condition, `${bucket}/${key}`);
    const { range } = condition;
    return Readable.from([range ? object.body.subarray(range.start, Math.max(range.start, range.end)) : object.body]);
  }

  async presignGet(bucket: string, key: string, expiresInSeconds: number, downloadName?: string): Promise<string> {
    this.presigned.push({ bucket, key, expiresInSeconds, ...(downloadName ? { downloadName } : {}) });
    const query = new URLSearchParams({ expires: String(expiresInSeconds), ...(downloadName ? { name: downloadName } : {}) });
    return `https://objects.test/${bucket}/${key}?${query.toString()}`;
  }

  async delete(bucket: string, key: string): Promise<void> {
    this.objects.delete(`${bucket}/${key}`);
  }

  async head(bucket: string, key: string, condition: ObjectCondition = {}): Promise<ObjectHead | undefined> {
    const object = this.objects.get(`${bucket}/${key}`);
    if (!object) return undefined;
    mustMatch(object, condition, `${bucket}/${key}`);
    return { bytes: object.body.length, contentType: object.options.contentType, etag: etagOf(object.body) };
  }

  async copy(from: ObjectLocation, to: ObjectLocation, condition: ObjectCondition = {}): Promise<void> {
    const object = this.objects.get(`${from.bucket}/${from.key}`);
    if (!object) throw new NotFound(`No object ${from.bucket}/${from.key}`);
    mustMatch(object, condition, `${from.bucket}/${from.key}`);
    this.objects.set(`${to.bucket}/${to.key}`, { body: Buffer.from(object.body), options: { ...object.options } });
  }

  readonly postPlans: Array<{ plan: PresignedPostPlan; expiresInSeconds: number }> = [];

  async presignPost(plan: PresignedPostPlan, expiresInSeconds: number): Promise<PresignedPost> {
    this.postPlans.push({ plan, expiresInSeconds });
    return {
      url: `https://objects.test/${plan.Bucket}`,
      fields: { ...plan.Fields, key: plan.Key, policy: Buffer.from(JSON.stringify(plan.Conditions)).toString('base64') },
    };
  }

  /** Multipart uploads in progress: uploadId → where it goes and the parts received. */
  readonly multipartUploads = new Map<
    string,
    { bucket: string; key: string; contentType: string; options: Omit<PutObjectOptions, 'contentType'>; parts: Map<number, Buffer> }
  >();
  private uploadCounter = 0;
  /** Every putPart call, in order (a resumed slice's reused parts are not sent again). */
  readonly partsPut: Array<{ uploadId: string; partNumber: number; bytes: number }> = [];
  /** When set, putPart throws this error for that part number (once). */
  failPart?: { partNumber: number; error: Error };

  async createMultipartUpload(
    bucket: string,
    key: string,
    contentType: string,
    options: Omit<PutObjectOptions, 'contentType'> = {},
  ): Promise<{ uploadId: string }> {
    const uploadId = `upload-${++this.uploadCounter}`;
    this.multipartUploads.set(uploadId, { bucket, key, contentType, options, parts: new Map() });
    return { uploadId };
  }

  async putPart(bucket: string, key: string, uploadId: string, partNumber: number, body: Uint8Array): Promise<UploadedPart> {
    const upload = this.multipartUploads.get(uploadId);
    if (!upload || upload.bucket !== bucket || upload.key !== key) throw new NotFound(`No multipart upload ${uploadId}`);
    if (this.failPart?.partNumber === partNumber) {
      const { error } = this.failPart;
      delete this.failPart;
      throw error;
    }
    this.partsPut.push({ uploadId, partNumber, bytes: body.byteLength });
    return { partNumber, etag: this.uploadPart(uploadId, partNumber, Buffer.from(body)) };
  }

  async abortUploadsOf(bucket: string, key: string): Promise<number> {
    const ids = [...this.multipartUploads].filter(([, upload]) => upload.bucket === bucket && upload.key === key).map(([id]) => id);
    for (const id of ids) this.multipartUploads.delete(id);
    return ids.length;
  }

  async listParts(bucket: string, key: string, uploadId: string): Promise<ListedPart[]> {
    const upload = this.multipartUploads.get(uploadId);
    if (!upload || upload.bucket !== bucket || upload.key !== key) throw new NotFound(`No multipart upload ${uploadId}`);
    return [...upload.parts.entries()]
      .sort(([a], [b]) => a - b)
      .map(([partNumber, body]) => ({ partNumber, etag: `"etag-${partNumber}"`, bytes: body.length }));
  }

  async presignUploadPart(bucket: string, key: string, uploadId: string, partNumber: number, expiresInSeconds: number): Promise<string> {
    return `https://objects.test/${bucket}/${key}?uploadId=${uploadId}&partNumber=${partNumber}&expires=${expiresInSeconds}`;
  }

  /** What a browser's PUT to a part link does; returns the part's ETag. */
  uploadPart(uploadId: string, partNumber: number, body: Buffer): string {
    const upload = this.multipartUploads.get(uploadId);
    if (!upload) throw new NotFound(`No multipart upload ${uploadId}`);
    upload.parts.set(partNumber, body);
    return `"etag-${partNumber}"`;
  }

  async completeMultipartUpload(bucket: string, key: string, uploadId: string, parts: UploadedPart[]): Promise<void> {
    const upload = this.multipartUploads.get(uploadId);
    if (!upload || upload.bucket !== bucket || upload.key !== key) throw new NotFound(`No multipart upload ${uploadId}`);
    const bodies = [...parts].sort((a, b) => a.partNumber - b.partNumber).map((part) => {
      const body = upload.parts.get(part.partNumber);
      if (!body || part.etag !== `"etag-${part.partNumber}"`) throw new Error(`part ${part.partNumber} was not uploaded`);
      return body;
    });
    this.objects.set(`${bucket}/${key}`, { body: Buffer.concat(bodies), options: { contentType: upload.contentType, ...upload.options } });
    this.multipartUploads.delete(uploadId);
  }

  async abortMultipartUpload(_bucket: string, _key: string, uploadId: string): Promise<void> {
    this.multipartUploads.delete(uploadId);
  }

  /** Puts an object as an upload would (no stream). */
  put(bucket: string, key: string, body: Buffer | string, contentType = 'application/octet-stream'): void {
    this.objects.set(`${bucket}/${key}`, { body: Buffer.from(body), options: { contentType } });
  }

  has(bucket: string, key: string): boolean {
    return this.objects.has(`${bucket}/${key}`);
  }

  /** Every stored object as `bucket/key`. */
  keys(): string[] {
    return [...this.objects.keys()];
  }

  text(bucket: string, key: string): string {
    const object = this.objects.get(`${bucket}/${key}`);
    if (!object) throw new Error(`No object ${bucket}/${key}`);
    return object.body.toString('utf8');
  }
}

export class RecordingMailer implements Mailer {
  readonly sent: MailMessage[] = [];
  /** When set, send() throws it (and records nothing). */
  failure?: Error;

  async send(message: MailMessage): Promise<void> {
    if (this.failure) throw this.failure;
    this.sent.push(message);
  }

  to(address: string): MailMessage[] {
    return this.sent.filter((message) => message.to === address);
  }
}

export class RecordingPushChannel implements PushChannel {
  readonly posted: Array<{ connectionId: string; message: unknown }> = [];
  /** Connections that answer 410. */
  readonly gone = new Set<string>();

  async post(connectionId: string, message: unknown): Promise<'delivered' | 'gone'> {
    if (this.gone.has(connectionId)) return 'gone';
    this.posted.push({ connectionId, message });
    return 'delivered';
  }
}

export class InMemoryRendezvous implements ConnectionRendezvous {
  readonly byExecution = new Map<string, { connectionId?: string; taskToken?: string }>();
  private readonly executionOfConnection = new Map<string, string>();

  async attachConnection(executionArn: string, connectionId: string): Promise<{ taskToken?: string }> {
    const entry = { ...this.byExecution.get(executionArn), connectionId };
    this.byExecution.set(executionArn, entry);
    this.executionOfConnection.set(connectionId, executionArn);
    return entry.taskToken ? { taskToken: entry.taskToken } : {};
  }

  async attachTaskToken(executionArn: string, taskToken: string): Promise<{ connectionId?: string }> {
    const entry = { ...this.byExecution.get(executionArn), taskToken };
    this.byExecution.set(executionArn, entry);
    return entry.connectionId ? { connectionId: entry.connectionId } : {};
  }

  async connectionOf(executionArn: string): Promise<string | undefined> {
    return this.byExecution.get(executionArn)?.connectionId;
  }

  async detachConnection(connectionId: string): Promise<void> {
    const executionArn = this.executionOfConnection.get(connectionId);
    this.executionOfConnection.delete(connectionId);
    if (!executionArn) return;
    const entry = this.byExecution.get(executionArn);
    if (entry?.connectionId === connectionId) {
      const { taskToken } = entry;
      this.byExecution.set(executionArn, taskToken ? { taskToken } : {});
    }
  }
}

/**
 * Executions kept in a map. `start` records a RUNNING execution; tests move it on with `succeed`/`fail`.
 * A task token can be resumed once; a second send throws NotFound, as the real adapter does.
 */
export class FakeExecutions implements ExecutionService {
  readonly executions = new Map<string, ExecutionDescription>();
  readonly started: Array<{ workflow: WorkflowName; name: string; input: unknown; executionArn: string }> = [];
  readonly taskSuccesses: Array<{ taskToken: string; output: unknown }> = [];
  readonly taskFailures: Array<{ taskToken: string; error: string; cause: string }> = [];
  private readonly spentTokens = new Set<string>();

  constructor(private readonly clock: Clock = { now: () => new Date() }) {}

  async start(workflow: WorkflowName, name: string, input: unknown): Promise<{ executionArn: string }> {
    const executionArn = `arn:aws:states:us-east-1:123456789012:execution:ferry-${workflow}:${name}`;
    this.started.push({ workflow, name, input, executionArn });
    this.executions.set(executionArn, { executionArn, status: 'RUNNING', input: structuredClone(input), startDate: this.clock.now() });
    return { executionArn };
  }

  async describe(executionArn: string): Promise<ExecutionDescription | undefined> {
    return this.executions.get(executionArn);
  }

  async sendTaskSuccess(taskToken: string, output: unknown): Promise<void> {
    this.spend(taskToken);
    this.taskSuccesses.push({ taskToken, output });
  }

  async sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void> {
    this.spend(taskToken);
    this.taskFailures.push({ taskToken, error, cause });
  }

  async stop(executionArn: string, cause: string): Promise<void> {
    const execution = this.executions.get(executionArn);
    if (execution?.status === 'RUNNING') this.update(executionArn, { status: 'ABORTED', cause });
  }

  async list(workflow: WorkflowName, status: ExecutionDescription['status'], options: { limit: number }): Promise<ExecutionSummary[]> {
    return [...this.executions.values()]
      .filter((e) => e.status === status && e.executionArn.includes(`:ferry-${workflow}:`))
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime())
      .slice(0, options.limit)
      .map((e) => ({
        executionArn: e.executionArn,
        workflow,
        name: e.executionArn.split(':').pop() ?? '',
        status: e.status,
        startDate: e.startDate,
      }));
  }

  succeed(executionArn: string, output: unknown): void {
    this.update(executionArn, { status: 'SUCCEEDED', output });
  }

  fail(executionArn: string, status: 'FAILED' | 'TIMED_OUT' | 'ABORTED', error?: string, cause?: string): void {
    this.update(executionArn, { status, ...(error ? { error } : {}), ...(cause ? { cause } : {}) });
  }

  private update(executionArn: string, change: Partial<ExecutionDescription>): void {
    const execution = this.executions.get(executionArn);
    if (!execution) throw new Error(`no execution ${executionArn}`);
    this.executions.set(executionArn, { ...execution, ...change, stopDate: this.clock.now() });
  }

  private spend(taskToken: string): void {
    if (this.spentTokens.has(taskToken)) throw new NotFound('The task is no longer waiting (TaskTimedOut).');
    this.spentTokens.add(taskToken);
  }
}

export class InMemoryAuditLog implements AuditLog {
  readonly entries = new Map<string, AuditEntry>();

  async record(entry: AuditEntry): Promise<void> {
    this.entries.set(entry.id, entry);
  }

  async list(options: { limit: number; cursor?: string }): Promise<{ entries: AuditEntry[]; nextCursor?: string }> {
    const { items, nextCursor } = newestFirstPage([...this.entries.values()], (entry) => [entry.recordedAt, entry.id], options);
    return { entries: items, ...(nextCursor ? { nextCursor } : {}) };
  }
}

/**
 * Progress records kept in a map; `history` keeps every record() in order, `failure` makes each call throw.
 * A slice's rows are added to the last record (record() forgets the slices, as the table's PutItem does).
 */
export class InMemoryExportProgress implements ExportProgress {
  readonly history: Array<{ exportId: string } & ExportProgressSnapshot> = [];
  readonly sliceHistory: Array<{ exportId: string; slice: number; rowsWritten: number }> = [];
  readonly sliceRows = new Map<string, Map<number, number>>();
  readonly checkpoints = new Map<string, SliceCheckpoint>();
  private readonly updated = new Map<string, string>();
  failure?: Error;

  async record(exportId: string, progress: ExportProgressSnapshot): Promise<void> {
    if (this.failure) throw this.failure;
    this.history.push({ exportId, ...progress });
    this.sliceRows.delete(exportId);
    this.updated.set(exportId, progress.updatedAt);
  }

  async recordSlice(exportId: string, slice: number, rowsWritten: number, updatedAt: string): Promise<void> {
    if (this.failure) throw this.failure;
    const slices = this.sliceRows.get(exportId) ?? new Map<number, number>();
    slices.set(slice, rowsWritten);
    this.sliceRows.set(exportId, slices);
    this.sliceHistory.push({ exportId, slice, rowsWritten });
    this.updated.set(exportId, updatedAt);
  }

  async recordSliceCheckpoint(exportId: string, slice: number, checkpoint: SliceCheckpoint): Promise<void> {
    if (this.failure) throw this.failure;
    this.checkpoints.set(`${exportId}#${slice}`, structuredClone(checkpoint));
  }

  async sliceCheckpoint(exportId: string, slice: number): Promise<SliceCheckpoint | undefined> {
    if (this.failure) throw this.failure;
    const checkpoint = this.checkpoints.get(`${exportId}#${slice}`);
    return checkpoint ? structuredClone(checkpoint) : undefined;
  }

  async get(exportId: string): Promise<ExportProgressSnapshot | undefined> {
    if (this.failure) throw this.failure;
    const updatedAt = this.updated.get(exportId);
    if (updatedAt === undefined) return undefined;
    const last = this.history.findLast((entry) => entry.exportId === exportId);
    const slices = [...(this.sliceRows.get(exportId)?.values() ?? [])].reduce((sum, rows) => sum + rows, 0);
    return {
      rowsWritten: (last?.rowsWritten ?? 0) + slices,
      ...(last?.totalRows !== undefined ? { totalRows: last.totalRows } : {}),
      updatedAt,
    };
  }
}

/** A clock that only moves when told to. */
export class ManualClock implements Clock {
  constructor(private current: Date = new Date('2024-06-01T12:00:00.000Z')) {}

  now(): Date {
    return new Date(this.current);
  }

  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }

  set(at: Date): void {
    this.current = new Date(at);
  }
}

export class SequentialIds implements IdGenerator {
  private next = 0;

  constructor(private readonly prefix = 'id') {}

  newId(): string {
    this.next += 1;
    return `${this.prefix}-${String(this.next).padStart(4, '0')}`;
  }
}

export const HOUR = 3_600_000;

/** Every fake, wired, with test configuration values; spread or override what a test needs. */
export function makeFakeDeps(posts: Post[] = []) {
  const clock = new ManualClock();
  return {
    config: {
      exportsBucket: 'ferry-exports-test',
      exportTtlHours: 72,
      adminEmail: 'admins@example.com',
      appUrl: 'https://ferry.test',
      maxExportRows: MAX_EXPORT_ROWS_ONE_TASK,
    },
    search: new InMemorySearchSource(posts),
    objects: new InMemoryObjectStore(),
    mailer: new RecordingMailer(),
    push: new RecordingPushChannel(),
    rendezvous: new InMemoryRendezvous(),
    exportProgress: new InMemoryExportProgress(),
    executions: new FakeExecutions(clock),
    audit: new InMemoryAuditLog(),
    exportJobs: new InMemoryExportRecords(),
    users: new FixedUserDirectory([alice, bob, carol].map(({ userId, username, email }) => ({ userId, username, email }))),
    clock,
    ids: new SequentialIds('export'),
  };
}
export type FakeDeps = ReturnType<typeof makeFakeDeps>;

/**
 * One page of a newest-first list, as the adapters page: by (sort value, id) descending, the cursor the
 * last item's position (so entries added meanwhile neither repeat nor hide one), none when nothing
 * follows, and a cursor not given out refused as InvalidInput on `cursor`.
 */
export function newestFirstPage<T>(
  all: T[],
  positionOf: (item: T) => [string, string],
  options: { limit: number; cursor?: string },
): { items: T[]; nextCursor?: string } {
  const after = options.cursor ? decodePairCursor(options.cursor) : undefined;
  const descending = (a: [string, string], b: [string, string]) => (a[0] === b[0] ? b[1].localeCompare(a[1]) : b[0].localeCompare(a[0]));
  const sorted = [...all].sort((a, b) => descending(positionOf(a), positionOf(b)));
  const rest = after ? sorted.filter((item) => descending(after, positionOf(item)) < 0) : sorted;
  const items = rest.slice(0, Math.max(1, Math.floor(options.limit)));
  const last = items.at(-1);
  return { items, ...(rest.length > items.length && last ? { nextCursor: encodeCursor(positionOf(last)) } : {}) };
}
