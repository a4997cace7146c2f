import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Client } from '@opensearch-project/opensearch';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws';
import { Transient } from '../../core/errors';
import type { PageRequest, Post, SearchCriteria } from '../../core/model';
import type { IndexOutcome, RejectedPost, ScanRange, SearchPage, SlicePlan, SortKey, StagingChunk, StagingSearchSource } from '../../core/ports';
import { compareKeys, dateBoundsOf, justBefore, offsetOf, postWordsOf, queryWords, rangesBetween, requiredTags } from '../../core/search-criteria';

/**
 * SearchSource on an OpenSearch index, implementing the semantics in core/search-criteria.ts.
 * Pages use from/size with exact totals; exports scan with a point-in-time and `search_after`
 * on (dateCreated desc, id desc), so a long export sees one consistent snapshot and never deep-pages.
 *
 * OpenSearch analyses no text here: Ferry's own `postWordsOf` produces each post's words, stored as the
 * keyword array `words`, and a query asks for one exact term per word (core/search-criteria.ts), so the
 * embedded store and OpenSearch cannot tokenize differently.
 *
 * Every request goes through the real `Client`; test/unit/opensearch-contract.test.ts replays recorded
 * request/response shapes through it with a connection stub that checks method, path, query and body.
 */

const PIT_KEEP_ALIVE = '5m';

/** The mapping's version: a change of mapping is a new index `<alias>-v<N+1>`, reindexed, then the alias moved. */
export const POSTS_INDEX_VERSION = 1;

/** The concrete index behind `alias` (Ferry reads and writes only through the alias). */
export const versionedIndexOf = (alias: string): string => `${alias}-v${POSTS_INDEX_VERSION}`;

/**
 * The index: strict mapping (an unknown field is a 400, never a silently added field); one shard, so a
 * `refresh=wait_for` on the import's last bulk request makes every row of the import searchable; `words`
 * is indexed but left out of `_source` (hits carry the post as given, and a reindex recomputes words).
 */
export const POSTS_INDEX_DEFINITION = {
  settings: { index: { number_of_shards: 1, number_of_replicas: 1 } },
  mappings: {
    dynamic: 'strict',
    _source: { excludes: ['words'] },
    properties: {
      id: { type: 'keyword' },
      userId: { type: 'keyword' },
      dateCreated: { type: 'date', format: 'strict_date_optional_time' },
      content: { type: 'text', index: false },
      tags: { type: 'keyword' },
      words: { type: 'keyword' },
    },
  },
} as const;

/**
 * Where imports stage their posts until they commit: an index of its own (never behind the alias, so no
 * search or scan sees it), with the posts' mapping plus the staging import's id. Each staged document's
 * `_id` is `<importId>/<postId>`, staged with `create`: an id repeated within one import is a 409, not a replacement.
 */
export const stagingIndexOf = (alias: string): string => `${alias}-staging-v${POSTS_INDEX_VERSION}`;

export const STAGING_INDEX_DEFINITION = {
  settings: POSTS_INDEX_DEFINITION.settings,
  mappings: {
    ...POSTS_INDEX_DEFINITION.mappings,
    // `chunk`: which chunk of a chunked import staged the post (a keyword: it is only ever matched exactly).
    properties: { ...POSTS_INDEX_DEFINITION.mappings.properties, importId: { type: 'keyword' }, chunk: { type: 'keyword' } },
  },
} as const;

const stagedIdOf = (importId: string, postId: string): string => `${importId}/${postId}`;
const stagedQueryOf = (importId: string, chunk?: number) => ({
  bool: { filter: [{ term: { importId } }, ...(chunk === undefined ? [] : [{ term: { chunk: String(chunk) } }])] },
});

/** The create-index body: the definition plus the alias, created atomically with the index. */
export const createIndexBody = (alias: string): Record<string, unknown> => ({
  ...structuredClone(POSTS_INDEX_DEFINITION),
  aliases: { [alias]: { is_write_index: true } },
});

/** Newest first, with the unique id as tie-breaker (also what makes `search_after` exact). */
export const NEWEST_FIRST_SORT = [{ dateCreated: { order: 'desc' } }, { id: { order: 'desc' } }] as const;

type QueryClause = Record<string, unknown>;

/** The query DSL for `criteria`: every criterion is a non-scoring filter (results are sorted, not ranked). */
export function toOpenSearchQuery(criteria: SearchCriteria): { bool: { filter: QueryClause[] } } {
  const filter: QueryClause[] = [];
  for (const word of queryWords(criteria.q)) filter.push({ term: { words: word } });
  if (criteria.userId !== undefined) filter.push({ term: { userId: criteria.userId } });
  for (const tag of requiredTags(criteria.tags)) filter.push({ term: { tags: tag } });
  const { from, to } = dateBoundsOf(criteria);
  if (from !== undefined || to !== undefined) {
    filter.push({ range: { dateCreated: { ...(from ? { gte: from } : {}), ...(to ? { lte: to } : {}) } } });
  }
  return { bool: { filter } };
}

/** The document stored for a post: the post plus its words. */
export const documentOf = (post: Post) => ({
  id: post.id,
  userId: post.userId,
  dateCreated: post.dateCreated,
  content: post.content,
  tags: post.tags,
  words: postWordsOf(post.content),
});

interface Hit {
  _id?: string;
  _source?: Record<string, unknown>;
  sort?: unknown[];
}
interface SearchBody {
  pit_id?: string;
  hits: { total?: number | { value: number }; hits: Hit[] };
  aggregations?: Record<string, { values?: Record<string, number | string | null> }>;
}

/** A hit's sort values (dateCreated as epoch ms, then id) as a key. */
const keyOfSort = (sort: unknown[] | undefined): SortKey | undefined =>
  sort && typeof sort[0] === 'number' && typeof sort[1] === 'string' ? { createdMs: sort[0], id: sort[1] } : undefined;

/**
 * The percentiles where N slices of the newest-first order meet: slice i ends (1 - i/N) of the way down
 * the dates, so the (100 - 100·i/N)th percentile of dateCreated.
 */
export const slicePercents = (slices: number): number[] =>
  Array.from({ length: slices - 1 }, (_, i) => Math.round((100 - (100 * (i + 1)) / slices) * 1000) / 1000);
interface BulkError {
  type?: string;
  reason?: string;
  caused_by?: { type?: string; reason?: string };
}
interface BulkItemResult {
  _id?: string | null;
  status: number;
  error?: BulkError;
}
interface BulkBody {
  errors: boolean;
  items: Array<Partial<Record<'index' | 'create' | 'update' | 'delete', BulkItemResult>>>;
}

/**
 * Host suffixes of every AWS partition (aws, aws-cn, aws-us-gov, aws-iso*, aws-eusc): requests to them
 * are SigV4-signed. aws-us-gov shares `amazonaws.com`.
 */
const AWS_HOST = /\.(amazonaws\.com|amazonaws\.com\.cn|amazonaws\.eu|c2s\.ic\.gov|sc2s\.sgov\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$/;

export const isAwsHost = (host: string): boolean => AWS_HOST.test(host);

/** A client for `url`; requests are SigV4-signed (credentials from the default chain) when the host is AWS. */
export function createOpenSearchClient(url: string, region: string): Client {
  const host = new URL(url).hostname;
  if (!isAwsHost(host)) return new Client({ node: url });
  const credentials = defaultProvider();
  return new Client({
    ...AwsSigv4Signer({
      region,
      service: host.includes('.aoss.') ? 'aoss' : 'es',
      getCredentials: () => credentials(),
    }),
    node: url,
  });
}

const isRetryableStatus = (status: number): boolean => status === 429 || status >= 500;

const statusOf = (error: unknown): number | undefined => (error as { meta?: { statusCode?: number } }).meta?.statusCode;
const errorBodyOf = (error: unknown): string => JSON.stringify((error as { meta?: { body?: unknown } }).meta?.body ?? '');

/** Throttling, 5xx and dropped connections become Transient so Step Functions retries them. */
function asDomainError(error: unknown): unknown {
  if (error instanceof Transient || !(error instanceof Error)) return error;
  const status = statusOf(error);
  const retryable =
    (typeof status === 'number' && isRetryableStatus(status)) ||
    ['ConnectionError', 'TimeoutError', 'NoLivingConnectionsError'].includes(error.name);
  // The client's message for an answer without an OpenSearch error type (an IAM 403, a 413) is only "Response Error".
  const detail = status === undefined ? error.message : `${status} ${errorBodyOf(error).slice(0, 1000)}`;
  if (retryable) return new Transient(`OpenSearch: ${detail}`, { cause: error });
  return status === undefined ? error : new Error(`OpenSearch answered ${detail}`, { cause: error });
}

async function call<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw asDomainError(error);
  }
}

const postOf = (hit: Hit): Post => {
  const source = hit._source ?? {};
  return {
    id: String(source.id ?? hit._id),
    userId: String(source.userId),
    dateCreated: String(source.dateCreated),
    content: String(source.content ?? ''),
    tags: Array.isArray(source.tags) ? source.tags.map(String) : [],
  };
};

const totalOf = (total: SearchBody['hits']['total']): number => (typeof total === 'number' ? total : (total?.value ?? 0));

/** OpenSearch's words for a refused item, e.g. "mapper_parsing_exception: failed to parse field [dateCreated] … (…)". */
const reasonOf = (error: BulkError): string => {
  const cause = error.caused_by?.reason ? ` (${error.caused_by.type ?? 'caused by'}: ${error.caused_by.reason})` : '';
  return `OpenSearch refused the row: ${error.type ?? 'error'}: ${error.reason ?? 'no reason given'}${cause}`;
};

/** One bulk item: its two NDJSON lines, serialized once, and their size on the wire. */
interface BulkItem {
  id: string;
  lines: [string, string];
  bytes: number;
}

export interface BulkLimits {
  /** Largest request body; the configured instance type accepts 10 MiB, half of it leaves room. */
  maxBytes: number;
  /** Most items in one request. */
  maxItems: number;
  /** Retries of items refused with 429/5xx (with exponential backoff) before the task fails as Transient. */
  retries: number;
  /** First backoff; doubles per retry. */
  backoffMs: number;
}

export const DEFAULT_BULK_LIMITS: BulkLimits = { maxBytes: 5 * 1024 * 1024, maxItems: 1000, retries: 6, backoffMs: 250 };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class OpenSearchSource implements StagingSearchSource {
  private readonly bulkLimits: BulkLimits;

  /** `alias`: the name Ferry reads and writes through (OPENSEARCH_INDEX, `posts`); the index is `<alias>-v<N>`. */
  constructor(
    private readonly client: Client,
    private readonly alias: string,
    options: { bulk?: Partial<BulkLimits> } = {},
  ) {
    this.bulkLimits = { ...DEFAULT_BULK_LIMITS, ...options.bulk };
  }

  /**
   * Creates the versioned index with its alias unless it exists (HEAD, then PUT). Idempotent and safe to
   * race: a concurrent creator's 400 resource_already_exists_exception counts as success.
   */
  async ensureIndex(): Promise<'created' | 'exists'> {
    return this.createIndexUnlessExists(versionedIndexOf(this.alias), createIndexBody(this.alias));
  }

  /** The staging index (stagingIndexOf), the same way: HEAD, then PUT when it is missing. */
  async ensureStagingIndex(): Promise<'created' | 'exists'> {
    return this.createIndexUnlessExists(stagingIndexOf(this.alias), structuredClone(STAGING_INDEX_DEFINITION));
  }

  private async createIndexUnlessExists(index: string, body: Record<string, unknown>): Promise<'created' | 'exists'> {
    const { body: exists } = await call(() => this.client.indices.exists({ index }));
    if (exists) return 'exists';
    try {
      await this.client.indices.create({ index, body });
      return 'created';
    } catch (error) {
      if (statusOf(error) === 400 && errorBodyOf(error).includes('resource_already_exists_exception')) return 'exists';
      throw asDomainError(error);
    }
  }

  async search(criteria: SearchCriteria, page: PageRequest): Promise<SearchPage> {
    const from = offsetOf(page);
    const { body } = await call(() =>
      this.client.search({
        index: this.alias,
        body: {
          query: toOpenSearchQuery(criteria),
          sort: NEWEST_FIRST_SORT,
          from,
          size: page.pageSize,
          track_total_hits: true,
        },
      } as Parameters<Client['search']>[0]),
    );
    const result = body as unknown as SearchBody;
    return { total: totalOf(result.hits.total), hits: result.hits.hits.map(postOf) };
  }

  private async openPit(): Promise<string> {
    const { body } = await call(() => this.client.createPit({ index: [this.alias], keep_alive: PIT_KEEP_ALIVE }));
    return (body as { pit_id: string }).pit_id;
  }

  /**
   * A point in time lost to a node restart or a blue/green deployment (404 search_context_missing_exception)
   * is replaced by a fresh one and the scan goes on after the last row it yielded: `search_after` on the
   * unique sort key means no row is yielded twice (the new snapshot may include posts indexed since).
   */
  async *scan(criteria: SearchCriteria, options: { batchSize?: number; range?: ScanRange } = {}): AsyncIterable<Post[]> {
    const batchSize = options.batchSize ?? 1000;
    const query = toOpenSearchQuery(criteria);
    const { after, through } = options.range ?? {};
    let pitId = await this.openPit();
    let restarts = 0;
    try {
      // A range starts with search_after its `after` key and stops at the first hit past `through`.
      let searchAfter: unknown[] | undefined = after ? [after.createdMs, after.id] : undefined;
      for (;;) {
        let result: SearchBody;
        try {
          const { body } = await this.client.search({
            body: {
              query,
              sort: NEWEST_FIRST_SORT,
              size: batchSize,
              pit: { id: pitId, keep_alive: PIT_KEEP_ALIVE },
              track_total_hits: false,
              ...(searchAfter ? { search_after: searchAfter } : {}),
            },
          } as Parameters<Client['search']>[0]);
          result = body as unknown as SearchBody;
        } catch (error) {
          const lost = statusOf(error) === 404 && errorBodyOf(error).includes('search_context_missing_exception');
          if (!lost || restarts >= 3) throw asDomainError(error);
          restarts++;
          pitId = await this.openPit();
          continue;
        }
        restarts = 0;
        pitId = result.pit_id ?? pitId;
        const hits = result.hits.hits;
        if (hits.length === 0) return;
        const inside = through ? hits.filter((hit) => compareKeys(keyOfSort(hit.sort) ?? through, through) <= 0) : hits;
        if (inside.length > 0) yield inside.map(postOf);
        if (hits.length < batchSize || inside.length < hits.length) return;
        searchAfter = hits[hits.length - 1]?.sort;
      }
    } finally {
      // Runs on completion, on error and when the consumer stops early (return() on the generator).
      // A failed delete is not worth failing the export for: the PIT expires after PIT_KEEP_ALIVE anyway.
      await this.client.deletePit({ body: { pit_id: [pitId] } }).catch(() => undefined);
    }
  }

  /**
   * One search: the exact total, the newest match (size 1, sorted) and the percentiles of dateCreated where
   * the slices meet. Percentiles are approximate (t-digest), so counts are about equal, not exact; a boundary
   * is (percentile ms, ''), between every post of that instant and the older ones.
   */
  async planSlices(criteria: SearchCriteria, slices: number): Promise<SlicePlan> {
    const { total: matches } = await this.search(criteria, { page: 1, pageSize: 1 });
    const count = Math.max(1, Math.min(Math.floor(slices), matches));
    const { body } = await call(() =>
      this.client.search({
        index: this.alias,
        body: {
          query: toOpenSearchQuery(criteria),
          sort: NEWEST_FIRST_SORT,
          size: 1,
          track_total_hits: true,
          ...(count > 1 ? { aggs: { slices: { percentiles: { field: 'dateCreated', percents: slicePercents(count) } } } } : {}),
        },
      } as Parameters<Client['search']>[0]),
    );
    const result = body as unknown as SearchBody;
    const total = totalOf(result.hits.total);
    const newest = keyOfSort(result.hits.hits[0]?.sort);
    if (total === 0 || !newest) return { total, ranges: [] };
    const values = result.aggregations?.slices?.values ?? {};
    const boundaries = slicePercents(count)
      // Keyed as Java prints a double: "25.0", "66.667".
      .map((percent) => values[Number.isInteger(percent) ? percent.toFixed(1) : String(percent)])
      .filter((value): value is number => typeof value === 'number')
      .map((value) => ({ createdMs: Math.round(value), id: '' }));
    return { total, ranges: rangesBetween(justBefore(newest), boundaries) };
  }

  /**
   * Bulk-indexes `posts` as POST /_bulk with the alias on every item (a path-level index would make the
   * client send PUT /<index>/_bulk). Requests are bounded by bytes and count; items refused with 429/5xx
   * are retried alone with backoff; items refused otherwise (400: mapping, parse) come back as rejected
   * with OpenSearch's reason; `refresh` makes the last request wait until everything is searchable.
   */
  async indexPosts(posts: Post[], options: { refresh?: boolean } = {}): Promise<IndexOutcome> {
    const rejected: RejectedPost[] = [];
    const batches = this.bulkBatchesOf(posts, (post) => ({ _index: this.alias, _id: post.id }), documentOf);
    for (const [index, batch] of batches.entries()) {
      await this.sendBulk(batch, options.refresh === true && index === batches.length - 1, rejected);
    }
    return { rejected };
  }

  /** POST /<alias>/_mget with the ids (words are not in `_source`, so the posts come back as indexed). */
  async postsById(ids: readonly string[]): Promise<Map<string, Post>> {
    const found = new Map<string, Post>();
    if (ids.length === 0) return found;
    const { body } = await call(() => this.client.mget({ index: this.alias, body: { ids: [...ids] } }));
    for (const doc of (body as unknown as { docs: Array<Hit & { found?: boolean }> }).docs) {
      if (doc.found) found.set(String(doc._id), postOf(doc));
    }
    return found;
  }

  /**
   * Bulk `create` into the staging index (limits, retries and refusals as indexPosts). The staged `_id` is
   * `<importId>/<postId>`, so an id the file repeats is a 409 version conflict for that item: it comes back
   * `repeated`, the first staged post staying. The client does not resend a request itself here (maxRetries 0):
   * a resent request whose first copy was applied would turn every post into a false repeat; a failed task
   * instead discards its staging and stages again.
   */
  async stagePosts(importId: string, posts: Post[], options: StagingChunk = {}): Promise<IndexOutcome> {
    const rejected: RejectedPost[] = [];
    const index = stagingIndexOf(this.alias);
    // A one-piece import's documents carry no chunk (absent: chunk 0), so its requests stay as they were.
    const chunk = options.chunk === undefined ? {} : { chunk: String(options.chunk) };
    const batches = this.bulkBatchesOf(
      posts,
      (post) => ({ _index: index, _id: stagedIdOf(importId, post.id) }),
      (post) => ({ ...documentOf(post), importId, ...chunk }),
      'create',
    );
    for (const batch of batches) await this.sendBulk(batch, false, rejected, { maxRetries: 0 });
    const repeats = rejected.filter((refusal) => refusal.repeated);
    if (repeats.length === 0 || options.chunk === undefined) return { rejected };
    // Repeats are rare (a file that repeats an id): one GET /<staging>/_mget names the chunk holding each.
    const { body } = await call(() =>
      this.client.mget({ index, body: { ids: repeats.map((refusal) => stagedIdOf(importId, refusal.id)) } }),
    );
    const docs = (body as unknown as { docs: Array<{ found?: boolean; _source?: { chunk?: string } }> }).docs;
    repeats.forEach((refusal, i) => {
      refusal.stagedBy = Number(docs[i]?._source?.chunk ?? 0);
    });
    return { rejected };
  }

  /**
   * Reads the import's staged posts (POST /<staging>/_search, search_after on the newest-first key, unique
   * within an import), bulk-indexes them through the alias (the last request with refresh=wait_for), then
   * deletes them from staging (POST /<staging>/_delete_by_query). Run again after a failure, it indexes the
   * same posts by id again: no duplicates. OpenSearch has no multi-document transaction, so the posts become
   * searchable at the refreshes of this commit, not all at one instant; nothing is searchable before it.
   */
  async commitStaged(importId: string): Promise<{ committed: number }> {
    const index = stagingIndexOf(this.alias);
    const query = stagedQueryOf(importId);
    const size = this.bulkLimits.maxItems;
    let committed = 0;
    let held: Post[] | undefined;
    let searchAfter: unknown[] | undefined;
    for (;;) {
      const { body } = await call(() =>
        this.client.search({
          index,
          body: { query, sort: NEWEST_FIRST_SORT, size, track_total_hits: false, ...(searchAfter ? { search_after: searchAfter } : {}) },
        } as Parameters<Client['search']>[0]),
      );
      const hits = (body as unknown as SearchBody).hits.hits;
      if (hits.length === 0) break;
      if (held) committed += await this.commitBatch(held, false);
      held = hits.map(postOf);
      if (hits.length < size) break;
      searchAfter = hits[hits.length - 1]?.sort;
    }
    if (held) committed += await this.commitBatch(held, true);
    await this.discardStaged(importId);
    return { committed };
  }

  private async commitBatch(posts: Post[], last: boolean): Promise<number> {
    const { rejected } = await this.indexPosts(posts, { refresh: last });
    // Staging took the same mapping, so a refusal here is not the row's fault: fail (and retry) the commit.
    if (rejected.length > 0) throw new Error(`OpenSearch refused ${rejected.length} staged posts on commit: ${rejected[0]?.reason}`);
    return posts.length;
  }

  async discardStaged(importId: string, options: StagingChunk = {}): Promise<void> {
    await call(() =>
      this.client.deleteByQuery({
        index: stagingIndexOf(this.alias),
        refresh: true,
        body: { query: stagedQueryOf(importId, options.chunk) },
      }),
    );
  }

  private bulkBatchesOf(
    posts: Post[],
    actionOf: (post: Post) => { _index: string; _id: string },
    docOf: (post: Post) => Record<string, unknown>,
    operation: 'index' | 'create' = 'index',
  ): BulkItem[][] {
    const { maxBytes, maxItems } = this.bulkLimits;
    const batches: BulkItem[][] = [];
    let batch: BulkItem[] = [];
    let bytes = 0;
    for (const post of posts) {
      const lines: [string, string] = [JSON.stringify({ [operation]: actionOf(post) }), JSON.stringify(docOf(post))];
      const size = Buffer.byteLength(lines[0]) + Buffer.byteLength(lines[1]) + 2;
      if (batch.length > 0 && (batch.length >= maxItems || bytes + size > maxBytes)) {
        batches.push(batch);
        batch = [];
        bytes = 0;
      }
      batch.push({ id: post.id, lines, bytes: size });
      bytes += size;
    }
    if (batch.length > 0) batches.push(batch);
    return batches;
  }

  private async sendBulk(
    items: BulkItem[],
    refresh: boolean,
    rejected: RejectedPost[],
    transport: { maxRetries?: number } = {},
  ): Promise<void> {
    let pending = items;
    for (let attempt = 0; ; attempt++) {
      let result: BulkBody;
      try {
        const { body } = await this.client.bulk(
          {
            // Pre-serialized lines: the client sends a string item as one NDJSON line, as sized above.
            body: pending.flatMap((item) => item.lines) as unknown as Record<string, unknown>[],
            ...(refresh ? { refresh: 'wait_for' as const } : {}),
          },
          transport,
        );
        result = body as unknown as BulkBody;
      } catch (error) {
        const status = statusOf(error);
        if (status === 413) {
          // Larger than the domain accepts even within our bound (a smaller instance type): halve it.
          if (pending.length === 1) {
            rejected.push({ id: pending[0]!.id, reason: 'OpenSearch refused the row: larger than one request may be (413)' });
            return;
          }
          const half = Math.ceil(pending.length / 2);
          await this.sendBulk(pending.slice(0, half), refresh, rejected, transport);
          await this.sendBulk(pending.slice(half), refresh, rejected, transport);
          return;
        }
        if (status !== 429 || attempt >= this.bulkLimits.retries) throw asDomainError(error);
        await sleep(this.bulkLimits.backoffMs * 2 ** attempt);
        continue;
      }
      if (!result.errors) return;
      const retry: BulkItem[] = [];
      result.items.forEach((entry, position) => {
        const outcome = entry.index ?? entry.create ?? entry.update ?? entry.delete;
        const item = pending[position];
        if (!outcome?.error || !item) return;
        if (isRetryableStatus(outcome.status)) retry.push(item);
        // Only a `create` conflicts: the document is already there (an id repeated within one import's staging).
        else if (outcome.status === 409 && entry.create) rejected.push({ id: item.id, reason: reasonOf(outcome.error), repeated: true });
        else rejected.push({ id: item.id, reason: reasonOf(outcome.error) });
      });
      if (retry.length === 0) return;
      if (attempt >= this.bulkLimits.retries) {
        throw new Transient(
          `OpenSearch still refused ${retry.length} of ${items.length} posts with 429/5xx after ${this.bulkLimits.retries} retries`,
        );
      }
      await sleep(this.bulkLimits.backoffMs * 2 ** attempt);
      pending = retry;
    }
  }
}
