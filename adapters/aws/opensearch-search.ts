import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Client } from '@opensearch-project/opensearch';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws';
import { Transient } from '../../core/errors';
import type { PageRequest, Post, SearchCriteria } from '../../core/model';
import type { SearchPage, SearchSource } from '../../core/ports';
import { NON_WORD_PATTERN, dateBoundsOf, offsetOf, queryWords, requiredTags } from '../../core/search-criteria';

/**
 * SearchSource on an OpenSearch index, implementing the semantics in core/search-criteria.ts.
 * Pages use from/size with exact totals; exports scan with a point-in-time and `search_after`
 * on (dateCreated desc, id desc), so a long export sees one consistent snapshot and never deep-pages.
 *
 * Not exercised against a live cluster here (none in this environment): test/unit/opensearch-search.test.ts
 * checks the query DSL as a document and the bulk/scan request flow against an in-memory fake client.
 */

const PIT_KEEP_ALIVE = '5m';

/**
 * `content` is analysed by the shared word rule instead of OpenSearch's `standard` analyzer: the standard
 * tokenizer keeps "don't", "3.14" and "foo_bar" as single tokens and splits CJK per ideograph, while the
 * local SQLite FTS5 store (unicode61) splits at every non-letter/digit. Replacing every run of
 * non-word characters by a space, splitting on whitespace and lowercasing gives both stores the same words
 * (like `standard`: no stop words, no stemming).
 */
export const POSTS_INDEX_MAPPING = {
  settings: {
    analysis: {
      char_filter: {
        ferry_non_word_to_space: { type: 'pattern_replace', pattern: NON_WORD_PATTERN, replacement: ' ' },
      },
      analyzer: {
        ferry_words: {
          type: 'custom',
          char_filter: ['ferry_non_word_to_space'],
          tokenizer: 'whitespace',
          filter: ['lowercase'],
        },
      },
    },
  },
  mappings: {
    dynamic: 'strict',
    properties: {
      id: { type: 'keyword' },
      userId: { type: 'keyword' },
      dateCreated: { type: 'date' },
      content: { type: 'text', analyzer: 'ferry_words' },
      tags: { type: 'keyword' },
    },
  },
} as const;

/** Newest first, with the unique id as tie-breaker (also what makes `search_after` exact). */
export const NEWEST_FIRST_SORT = [{ dateCreated: { order: 'desc' } }, { id: { order: 'desc' } }] as const;

type QueryClause = Record<string, unknown>;

/** The query DSL for `criteria`: every criterion is a non-scoring filter (results are sorted, not ranked). */
export function toOpenSearchQuery(criteria: SearchCriteria): { bool: { filter: QueryClause[] } } {
  const filter: QueryClause[] = [];
  const words = queryWords(criteria.q);
  if (words.length > 0) filter.push({ match: { content: { query: words.join(' '), operator: 'and' } } });
  if (criteria.userId !== undefined) filter.push({ term: { userId: criteria.userId } });
  for (const tag of requiredTags(criteria.tags)) filter.push({ term: { tags: tag } });
  const { from, to } = dateBoundsOf(criteria);
  if (from !== undefined || to !== undefined) {
    filter.push({ range: { dateCreated: { ...(from ? { gte: from } : {}), ...(to ? { lte: to } : {}) } } });
  }
  return { bool: { filter } };
}

interface Hit {
  _id?: string;
  _source?: Record<string, unknown>;
  sort?: unknown[];
}
interface SearchBody {
  pit_id?: string;
  hits: { total?: number | { value: number }; hits: Hit[] };
}
interface BulkItemResult {
  _id?: string | null;
  status: number;
  error?: unknown;
}
interface BulkBody {
  errors: boolean;
  items: Array<Partial<Record<'index' | 'create' | 'update' | 'delete', BulkItemResult>>>;
}

/**
 * The part of the OpenSearch client this adapter uses. `Client` satisfies it; tests pass an in-memory fake.
 * Parameter shapes follow the client's (`createPit` takes the index list and keep_alive as parameters).
 */
export interface OpenSearchClientSurface {
  search(params: { index?: string; body: Record<string, unknown> }): Promise<{ body: SearchBody }>;
  bulk(params: { index?: string; body: Array<Record<string, unknown>>; refresh?: boolean }): Promise<{ body: BulkBody }>;
  createPit(params: { index: string[]; keep_alive: string }): Promise<{ body: { pit_id: string } }>;
  deletePit(params: { body: { pit_id: string[] } }): Promise<unknown>;
  indices: {
    exists(params: { index: string }): Promise<{ body: boolean }>;
    create(params: { index: string; body: Record<string, unknown> }): Promise<unknown>;
  };
}

/** A client for `url`; requests are SigV4-signed (credentials from the default chain) when the host is AWS. */
export function createOpenSearchClient(url: string, region: string): Client {
  const host = new URL(url).hostname;
  if (!host.endsWith('.amazonaws.com')) return new Client({ node: url });
  const credentials = defaultProvider();
  return new Client({
    ...AwsSigv4Signer({
      region,
      service: host.endsWith('.aoss.amazonaws.com') ? 'aoss' : 'es',
      getCredentials: () => credentials(),
    }),
    node: url,
  });
}

const isRetryableStatus = (status: number): boolean => status === 429 || status >= 500;

/** Throttling, 5xx and dropped connections become Transient so Step Functions retries them. */
function asDomainError(error: unknown): unknown {
  if (error instanceof Transient || !(error instanceof Error)) return error;
  const status = (error as { meta?: { statusCode?: number } }).meta?.statusCode;
  const retryable =
    (typeof status === 'number' && isRetryableStatus(status)) ||
    ['ConnectionError', 'TimeoutError', 'NoLivingConnectionsError'].includes(error.name);
  return retryable ? new Transient(`OpenSearch: ${error.message}`, { cause: error }) : error;
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

export class OpenSearchSource implements SearchSource {
  constructor(
    private readonly client: OpenSearchClientSurface,
    private readonly index: string,
  ) {}

  /** Creates the index with POSTS_INDEX_MAPPING unless it exists. */
  async ensureIndex(): Promise<void> {
    const { body: exists } = await call(() => this.client.indices.exists({ index: this.index }));
    if (exists) return;
    try {
      await this.client.indices.create({ index: this.index, body: POSTS_INDEX_MAPPING });
    } catch (error) {
      // Another writer created it between our check and our create: that is the outcome we wanted.
      if (JSON.stringify((error as { meta?: { body?: unknown } }).meta?.body ?? '').includes('resource_already_exists')) return;
      throw asDomainError(error);
    }
  }

  async search(criteria: SearchCriteria, page: PageRequest): Promise<SearchPage> {
    const from = offsetOf(page);
    const { body } = await call(() =>
      this.client.search({
        index: this.index,
        body: {
          query: toOpenSearchQuery(criteria),
          sort: NEWEST_FIRST_SORT,
          from,
          size: page.pageSize,
          track_total_hits: true,
        },
      }),
    );
    return { total: totalOf(body.hits.total), hits: body.hits.hits.map(postOf) };
  }

  async *scan(criteria: SearchCriteria, options: { batchSize?: number } = {}): AsyncIterable<Post[]> {
    const batchSize = options.batchSize ?? 1000;
    const query = toOpenSearchQuery(criteria);
    const { body: pit } = await call(() => this.client.createPit({ index: [this.index], keep_alive: PIT_KEEP_ALIVE }));
    let pitId = pit.pit_id;
    try {
      let searchAfter: unknown[] | undefined;
      for (;;) {
        const { body } = await call(() =>
          this.client.search({
            body: {
              query,
              sort: NEWEST_FIRST_SORT,
              size: batchSize,
              pit: { id: pitId, keep_alive: PIT_KEEP_ALIVE },
              track_total_hits: false,
              ...(searchAfter ? { search_after: searchAfter } : {}),
            },
          }),
        );
        pitId = body.pit_id ?? pitId;
        const hits = body.hits.hits;
        if (hits.length === 0) return;
        yield hits.map(postOf);
        if (hits.length < batchSize) return;
        searchAfter = hits[hits.length - 1]?.sort;
      }
    } finally {
      // Runs on completion, on error and when the consumer stops early (return() on the generator).
      // A failed delete is not worth failing the export for: the PIT expires after PIT_KEEP_ALIVE anyway.
      await this.client.deletePit({ body: { pit_id: [pitId] } }).catch(() => undefined);
    }
  }

  async indexPosts(posts: Post[]): Promise<void> {
    if (posts.length === 0) return;
    const body = posts.flatMap((post) => [
      { index: { _index: this.index, _id: post.id } },
      { id: post.id, userId: post.userId, dateCreated: post.dateCreated, content: post.content, tags: post.tags },
    ]);
    const { body: result } = await call(() => this.client.bulk({ index: this.index, body, refresh: false }));
    if (!result.errors) return;
    const failures = result.items
      .map((item) => item.index ?? item.create ?? item.update ?? item.delete)
      .filter((outcome): outcome is BulkItemResult => outcome !== undefined && outcome.error !== undefined);
    if (failures.length === 0) return;
    const summary = failures
      .slice(0, 3)
      .map((failure) => `${failure._id ?? '?'}: ${failure.status} ${JSON.stringify(failure.error)}`)
      .join('; ');
    const message = `OpenSearch bulk indexing failed for ${failures.length} of ${posts.length} posts (${summary})`;
    // Only a batch whose every failure is throttling or a 5xx is worth retrying as a whole.
    if (failures.every((failure) => isRetryableStatus(failure.status))) throw new Transient(message);
    throw new Error(message);
  }
}
