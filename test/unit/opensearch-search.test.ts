import { Connection, Transport } from '@opensearch-project/opensearch';
import { describe, expect, it } from 'vitest';
import {
  NEWEST_FIRST_SORT,
  OpenSearchSource,
  POSTS_INDEX_MAPPING,
  createOpenSearchClient,
  toOpenSearchQuery,
  type OpenSearchClientSurface,
} from '../../adapters/aws/opensearch-search';
import { Transient } from '../../core/errors';
import type { Post } from '../../core/model';
import { describeSearchSource } from './search-source-spec';
import { generatePosts } from '../../infra/local/demo-data';

/*
 * There is no OpenSearch server in this environment. These tests pin the query DSL and the index mapping
 * as documents, and run the adapter's request flow (pages, bulk, point-in-time scans) against FakeOpenSearch:
 * a small in-memory model of the four APIs it calls. The fake analyses `content` with the char filter and
 * tokenizer declared in POSTS_INDEX_MAPPING, so the shared behaviour spec also checks that mapping and DSL
 * together mean what core/search-criteria.ts says.
 */

type Doc = Record<string, unknown> & { id: string; dateCreated: string };
type Clause = Record<string, Record<string, unknown>>;

class FakeOpenSearch implements OpenSearchClientSurface {
  readonly requests: Array<{ api: string; params: unknown }> = [];
  readonly openPits = new Set<string>();
  /** Bulk items for these ids fail with this status (e.g. 429) until removed. */
  readonly failingIds = new Map<string, number>();
  /** Searches after this many succeed fail with a 503 ResponseError-like error. */
  failSearchesAfter = Infinity;
  private readonly docs = new Map<string, Doc>();
  private readonly pitSnapshots = new Map<string, Doc[]>();
  private indexCreated: Record<string, unknown> | undefined;
  private searches = 0;

  private readonly analyse = (text: string): string[] => {
    const { pattern, replacement } = POSTS_INDEX_MAPPING.settings.analysis.char_filter.ferry_non_word_to_space;
    return text
      .replace(new RegExp(pattern, 'gu'), replacement)
      .split(/\s+/)
      .filter((token) => token.length > 0)
      .map((token) => token.toLowerCase());
  };

  private matches(doc: Doc, clause: Clause): boolean {
    const [kind, spec] = Object.entries(clause)[0] as [string, Record<string, unknown>];
    const [field, condition] = Object.entries(spec)[0] as [string, unknown];
    const value = doc[field];
    if (kind === 'term') return Array.isArray(value) ? value.includes(condition) : value === condition;
    if (kind === 'match') {
      const { query, operator } = condition as { query: string; operator: string };
      if (operator !== 'and') throw new Error('the fake only models operator "and"');
      const tokens = new Set(this.analyse(String(value)));
      return this.analyse(query).every((token) => tokens.has(token));
    }
    if (kind === 'range') {
      const { gte, lte } = condition as { gte?: string; lte?: string };
      const at = Date.parse(String(value));
      return (gte === undefined || at >= Date.parse(gte)) && (lte === undefined || at <= Date.parse(lte));
    }
    throw new Error(`the fake does not model ${kind} queries`);
  }

  /** Sort values as OpenSearch returns them: a date sorts as epoch millis, a keyword as its string. */
  private sortValues = (doc: Doc): [number, string] => [Date.parse(doc.dateCreated), doc.id];

  private compare(a: [number, string], b: [number, string]): number {
    if (a[0] !== b[0]) return b[0] - a[0];
    return a[1] < b[1] ? 1 : a[1] > b[1] ? -1 : 0;
  }

  async search(params: { index?: string; body: Record<string, unknown> }) {
    this.requests.push({ api: 'search', params });
    if (this.searches++ >= this.failSearchesAfter) {
      throw Object.assign(new Error('Service Unavailable'), { name: 'ResponseError', meta: { statusCode: 503 } });
    }
    const body = params.body as {
      query: { bool: { filter: Clause[] } };
      sort: unknown;
      from?: number;
      size: number;
      pit?: { id: string };
      search_after?: [number, string];
      track_total_hits?: boolean;
    };
    expect(body.sort).toEqual(NEWEST_FIRST_SORT);
    let source: Doc[];
    if (body.pit) {
      if (params.index !== undefined) throw new Error('a search with a point in time must not name an index');
      const snapshot = this.pitSnapshots.get(body.pit.id);
      if (!snapshot) throw Object.assign(new Error('no such pit'), { meta: { statusCode: 404 } });
      source = snapshot;
    } else {
      source = [...this.docs.values()];
    }
    const matching = source
      .filter((doc) => body.query.bool.filter.every((clause) => this.matches(doc, clause)))
      .sort((a, b) => this.compare(this.sortValues(a), this.sortValues(b)));
    const after = body.search_after;
    const remaining = after ? matching.filter((doc) => this.compare(this.sortValues(doc), after) > 0) : matching;
    const from = body.from ?? 0;
    const page = remaining.slice(from, from + body.size);
    return {
      body: {
        ...(body.pit ? { pit_id: body.pit.id } : {}),
        hits: {
          ...(body.track_total_hits ? { total: { value: matching.length, relation: 'eq' } } : {}),
          hits: page.map((doc) => ({ _id: doc.id, _source: structuredClone(doc), sort: this.sortValues(doc) })),
        },
      },
    };
  }

  async bulk(params: { index?: string; body: Array<Record<string, unknown>>; refresh?: boolean }) {
    this.requests.push({ api: 'bulk', params });
    const items = [];
    for (let i = 0; i < params.body.length; i += 2) {
      const action = params.body[i] as { index: { _index: string; _id: string } };
      const doc = params.body[i + 1] as Doc;
      const failure = this.failingIds.get(action.index._id);
      if (failure) {
        items.push({ index: { _index: action.index._index, _id: action.index._id, status: failure, error: { type: 'failure' } } });
      } else {
        this.docs.set(action.index._id, structuredClone(doc));
        items.push({ index: { _index: action.index._index, _id: action.index._id, status: 201 } });
      }
    }
    return { body: { took: 1, errors: items.some((item) => item.index.error), items } };
  }

  async createPit(params: { index: string[]; keep_alive: string }) {
    this.requests.push({ api: 'createPit', params });
    const pitId = `pit-${this.pitSnapshots.size + 1}`;
    this.pitSnapshots.set(pitId, [...this.docs.values()]);
    this.openPits.add(pitId);
    return { body: { pit_id: pitId } };
  }

  async deletePit(params: { body: { pit_id: string[] } }) {
    this.requests.push({ api: 'deletePit', params });
    for (const id of params.body.pit_id) this.openPits.delete(id);
    return { body: {} };
  }

  readonly indices = {
    exists: async (params: { index: string }) => {
      this.requests.push({ api: 'indices.exists', params });
      return { body: this.indexCreated !== undefined };
    },
    create: async (params: { index: string; body: Record<string, unknown> }) => {
      this.requests.push({ api: 'indices.create', params });
      this.indexCreated = params.body;
      return { body: { acknowledged: true } };
    },
  };

  apis = (): string[] => this.requests.map((request) => request.api);
}

async function collect(source: OpenSearchSource, batchSize: number): Promise<Post[][]> {
  const batches: Post[][] = [];
  for await (const batch of source.scan({}, { batchSize })) batches.push(batch);
  return batches;
}

describe('toOpenSearchQuery: the query DSL', () => {
  it('turns every criterion into a non-scoring filter', () => {
    expect(
      toOpenSearchQuery({
        q: 'Espresso, GRINDER espresso',
        tags: ['coffee', 'til', 'coffee'],
        userId: 'alice',
        from: '2025-01-01',
        to: '2025-01-31',
      }),
    ).toEqual({
      bool: {
        filter: [
          { match: { content: { query: 'espresso grinder', operator: 'and' } } },
          { term: { userId: 'alice' } },
          { term: { tags: 'coffee' } },
          { term: { tags: 'til' } },
          { range: { dateCreated: { gte: '2025-01-01T00:00:00.000Z', lte: '2025-01-31T23:59:59.999Z' } } },
        ],
      },
    });
  });

  it('no criteria (or a q without words) match everything', () => {
    expect(toOpenSearchQuery({})).toEqual({ bool: { filter: [] } });
    expect(toOpenSearchQuery({ q: '?!' })).toEqual({ bool: { filter: [] } });
  });

  it('a single bound gives a one-sided range in UTC', () => {
    expect(toOpenSearchQuery({ to: '2025-02-01T01:30:00+02:00' })).toEqual({
      bool: { filter: [{ range: { dateCreated: { lte: '2025-01-31T23:30:00.000Z' } } }] },
    });
  });
});

describe('POSTS_INDEX_MAPPING', () => {
  it('maps content as analysed text and the rest as exact keywords and a date', () => {
    expect(POSTS_INDEX_MAPPING.mappings.properties).toEqual({
      id: { type: 'keyword' },
      userId: { type: 'keyword' },
      dateCreated: { type: 'date' },
      content: { type: 'text', analyzer: 'ferry_words' },
      tags: { type: 'keyword' },
    });
  });

  it('analyses content into the shared words: non-word runs become spaces, whitespace splits, lowercase', () => {
    expect(POSTS_INDEX_MAPPING.settings.analysis.analyzer.ferry_words).toEqual({
      type: 'custom',
      char_filter: ['ferry_non_word_to_space'],
      tokenizer: 'whitespace',
      filter: ['lowercase'],
    });
  });
});

describeSearchSource('OpenSearchSource over an in-memory fake client', async () => ({
  source: new OpenSearchSource(new FakeOpenSearch(), 'posts'),
  cleanup: () => {},
}));

describe('OpenSearchSource: requests', () => {
  it('asks for one page with from/size, exact totals and the newest-first sort', async () => {
    const client = new FakeOpenSearch();
    const source = new OpenSearchSource(client, 'posts');
    await source.indexPosts(generatePosts(1, 30));
    const page = await source.search({ userId: 'nobody' }, { page: 3, pageSize: 10 });
    expect(page).toEqual({ total: 0, hits: [] });
    expect(client.requests.at(-1)).toEqual({
      api: 'search',
      params: {
        index: 'posts',
        body: {
          query: { bool: { filter: [{ term: { userId: 'nobody' } }] } },
          sort: NEWEST_FIRST_SORT,
          from: 20,
          size: 10,
          track_total_hits: true,
        },
      },
    });
  });

  it('indexes with one bulk request of index operations by post id, without refresh', async () => {
    const client = new FakeOpenSearch();
    const [first, second] = generatePosts(1, 2) as [Post, Post];
    await new OpenSearchSource(client, 'posts').indexPosts([first, second]);
    expect(client.requests).toEqual([
      {
        api: 'bulk',
        params: {
          index: 'posts',
          refresh: false,
          body: [{ index: { _index: 'posts', _id: first.id } }, first, { index: { _index: 'posts', _id: second.id } }, second],
        },
      },
    ]);
  });

  it('a bulk whose failed items were throttled or 5xx is Transient (worth retrying)', async () => {
    const client = new FakeOpenSearch();
    const posts = generatePosts(1, 3);
    client.failingIds.set(posts[1]!.id, 429);
    client.failingIds.set(posts[2]!.id, 503);
    const failure = new OpenSearchSource(client, 'posts').indexPosts(posts);
    await expect(failure).rejects.toBeInstanceOf(Transient);
    await expect(failure).rejects.toThrow(/2 of 3 posts/);
  });

  it('a bulk with a rejected document is a plain error (retrying will not help)', async () => {
    const client = new FakeOpenSearch();
    const posts = generatePosts(1, 2);
    client.failingIds.set(posts[0]!.id, 400);
    client.failingIds.set(posts[1]!.id, 429);
    const failure = new OpenSearchSource(client, 'posts').indexPosts(posts);
    await expect(failure).rejects.toThrow(/bulk indexing failed/);
    await expect(failure).rejects.not.toBeInstanceOf(Transient);
  });

  it('scans through one point in time with search_after, then deletes it', async () => {
    const client = new FakeOpenSearch();
    const source = new OpenSearchSource(client, 'posts');
    await source.indexPosts(generatePosts(1, 25));
    client.requests.length = 0;

    const batches = await collect(source, 10);

    expect(batches.map((batch) => batch.length)).toEqual([10, 10, 5]);
    expect(client.apis()).toEqual(['createPit', 'search', 'search', 'search', 'deletePit']);
    expect(client.requests[0]!.params).toEqual({ index: ['posts'], keep_alive: '5m' });
    const searches = client.requests
      .filter((r) => r.api === 'search')
      .map((r) => r.params as { index?: string; body: Record<string, unknown> });
    expect(searches.map((s) => s.index)).toEqual([undefined, undefined, undefined]);
    expect(searches.map((s) => s.body.pit)).toEqual(Array(3).fill({ id: 'pit-1', keep_alive: '5m' }));
    const lastOfFirst = batches[0]!.at(-1)!;
    expect(searches[0]!.body.search_after).toBeUndefined();
    expect(searches[1]!.body.search_after).toEqual([Date.parse(lastOfFirst.dateCreated), lastOfFirst.id]);
    expect(client.requests.at(-1)!.params).toEqual({ body: { pit_id: ['pit-1'] } });
    expect(client.openPits.size).toBe(0);
  });

  it('sees the snapshot taken when the scan began, not posts indexed during it', async () => {
    const client = new FakeOpenSearch();
    const source = new OpenSearchSource(client, 'posts');
    await source.indexPosts(generatePosts(1, 20));
    let rows = 0;
    for await (const batch of source.scan({}, { batchSize: 5 })) {
      rows += batch.length;
      await source.indexPosts(generatePosts(100 + rows, 5));
    }
    expect(rows).toBe(20);
  });

  it('deletes the point in time when the consumer stops early', async () => {
    const client = new FakeOpenSearch();
    const source = new OpenSearchSource(client, 'posts');
    await source.indexPosts(generatePosts(1, 25));
    for await (const batch of source.scan({}, { batchSize: 10 })) {
      expect(batch).toHaveLength(10);
      break;
    }
    expect(client.apis().slice(-3)).toEqual(['createPit', 'search', 'deletePit']);
    expect(client.openPits.size).toBe(0);
  });

  it('deletes the point in time when a search fails, and reports a 503 as Transient', async () => {
    const client = new FakeOpenSearch();
    const source = new OpenSearchSource(client, 'posts');
    await source.indexPosts(generatePosts(1, 25));
    client.failSearchesAfter = 1;
    await expect(collect(source, 10)).rejects.toBeInstanceOf(Transient);
    expect(client.apis().slice(-4)).toEqual(['createPit', 'search', 'search', 'deletePit']);
    expect(client.openPits.size).toBe(0);
  });

  it('a scan of nothing yields no batch and still deletes its point in time', async () => {
    const client = new FakeOpenSearch();
    expect(await collect(new OpenSearchSource(client, 'posts'), 10)).toEqual([]);
    expect(client.apis()).toEqual(['createPit', 'search', 'deletePit']);
  });

  it('ensureIndex creates the index with the mapping once', async () => {
    const client = new FakeOpenSearch();
    const source = new OpenSearchSource(client, 'posts');
    await source.ensureIndex();
    await source.ensureIndex();
    expect(client.apis()).toEqual(['indices.exists', 'indices.create', 'indices.exists']);
    expect(client.requests[1]!.params).toEqual({ index: 'posts', body: POSTS_INDEX_MAPPING });
  });
});

describe('createOpenSearchClient', () => {
  it('talks plain HTTP to a non-AWS host', () => {
    const client = createOpenSearchClient('http://localhost:9200', 'eu-west-1');
    expect(client.transport.constructor).toBe(Transport);
    expect(client.connectionPool.Connection).toBe(Connection);
  });

  it('signs requests with SigV4 for an amazonaws.com host', () => {
    const client = createOpenSearchClient('https://search-ferry-abc.eu-west-1.es.amazonaws.com', 'eu-west-1');
    expect(client.transport).toBeInstanceOf(Transport);
    expect(client.transport.constructor).not.toBe(Transport);
    expect(client.connectionPool.Connection).not.toBe(Connection);
  });
});
