import { Connection, Transport } from '@opensearch-project/opensearch';
import { describe, expect, it } from 'vitest';
import {
  NEWEST_FIRST_SORT,
  OpenSearchSource,
  POSTS_INDEX_DEFINITION,
  STAGING_INDEX_DEFINITION,
  createIndexBody,
  createOpenSearchClient,
  isAwsHost,
  toOpenSearchQuery,
} from '../../adapters/aws/opensearch-search';
import { Transient } from '../../core/errors';
import type { Post } from '../../core/model';
import type { SearchSource } from '../../core/ports';
import { postWordsOf } from '../../core/search-criteria';
import { SqliteSearchSource } from '../../adapters/local/sqlite-search';
import { OpenSearchModel } from './opensearch-model';
import { clientOn, ndjsonOf, type WireResponse } from './opensearch-wire';
import { HAND_MADE, TOKENIZER_CASES, describeSearchSource } from './search-source-spec';
import { generatePosts } from '../../infra/local/demo-data';

/*
 * There is no OpenSearch server in this environment. These tests pin the query DSL and the index definition
 * as documents, and run the adapter through the real opensearch-js Client against OpenSearchModel: a model of
 * the APIs it calls, at the wire (method, path, query string, body), answering with OpenSearch's documented
 * response shapes. The model analyses no text: the adapter's own words are what it matches.
 * test/unit/opensearch-contract.test.ts replays the recorded fixtures exchange by exchange.
 */

async function modelSource(options: ConstructorParameters<typeof OpenSearchSource>[2] = {}) {
  const model = new OpenSearchModel();
  const source = new OpenSearchSource(clientOn(model.handle), 'posts', { bulk: { backoffMs: 0 }, ...options });
  await source.ensureIndex();
  await source.ensureStagingIndex();
  model.requests.length = 0;
  return { model, source };
}

async function collect(source: OpenSearchSource, batchSize: number): Promise<Post[][]> {
  const batches: Post[][] = [];
  for await (const batch of source.scan({}, { batchSize })) batches.push(batch);
  return batches;
}

const calls = (model: OpenSearchModel): string[] => model.requests.map((request) => `${request.method} ${request.path}`);

describe('toOpenSearchQuery: the query DSL', () => {
  it('turns every criterion into a non-scoring filter, one exact term per word', () => {
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
          { term: { words: 'espresso' } },
          { term: { words: 'grinder' } },
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

describe('POSTS_INDEX_DEFINITION', () => {
  it('maps the words and the rest as exact keywords and a date; content is stored, not indexed', () => {
    expect(POSTS_INDEX_DEFINITION.mappings.properties).toEqual({
      id: { type: 'keyword' },
      userId: { type: 'keyword' },
      dateCreated: { type: 'date', format: 'strict_date_optional_time' },
      content: { type: 'text', index: false },
      tags: { type: 'keyword' },
      words: { type: 'keyword' },
    });
  });

  it('is strict, keeps words out of _source, and is created behind its alias', () => {
    expect(POSTS_INDEX_DEFINITION.mappings.dynamic).toBe('strict');
    expect(POSTS_INDEX_DEFINITION.mappings._source).toEqual({ excludes: ['words'] });
    expect(createIndexBody('posts')).toEqual({ ...POSTS_INDEX_DEFINITION, aliases: { posts: { is_write_index: true } } });
  });
});

describeSearchSource('OpenSearchSource through the real client, against the wire model', async () => {
  const { source } = await modelSource();
  return { source, cleanup: () => {} };
});

describe('both stores, one tokenizer', () => {
  it('the embedded store and the replayed OpenSearch return identical rows, page and scan, for the tokenizer cases', async () => {
    const corpus = [...HAND_MADE, ...TOKENIZER_CASES, ...generatePosts(1, 300)];
    const { source: opensearch } = await modelSource();
    const sqlite = new SqliteSearchSource(':memory:');
    try {
      await opensearch.indexPosts(corpus);
      await sqlite.indexPosts(corpus);
      const queries = [
        'İstanbul',
        'i\u0307stanbul',
        'istanbul',
        'ΟΔΟΣ',
        'οδος',
        'great👍🏽job',
        'family',
        'ᲗᲑᲘᲚᲘᲡᲘ',
        'ꮳꮃꭹ',
        'a'.repeat(300),
        'a'.repeat(255),
        'café',
        'cafe\u0301',
        'espresso',
        'the coffee',
        'don t',
      ];
      for (const q of queries) {
        const [fromSqlite, fromOpenSearch] = await Promise.all([
          sqlite.search({ q }, { page: 1, pageSize: 100 }),
          opensearch.search({ q }, { page: 1, pageSize: 100 }),
        ]);
        expect(fromOpenSearch, q).toEqual(fromSqlite);
        const scanned = async (source: SearchSource) => {
          const rows: string[] = [];
          for await (const batch of source.scan({ q }, { batchSize: 7 })) rows.push(...batch.map((post) => post.id));
          return rows;
        };
        expect(await scanned(opensearch), q).toEqual(await scanned(sqlite));
      }
      expect((await sqlite.search({ q: 'İstanbul' }, { page: 1, pageSize: 5 })).total).toBe(1);
    } finally {
      sqlite.close();
    }
  });
});

describe('OpenSearchSource: requests', () => {
  it('asks for one page of the alias with from/size, exact totals and the newest-first sort', async () => {
    const { model, source } = await modelSource();
    await source.indexPosts(generatePosts(1, 30));
    const page = await source.search({ userId: 'nobody' }, { page: 3, pageSize: 10 });
    expect(page).toEqual({ total: 0, hits: [] });
    const request = model.requests.at(-1)!;
    expect([request.method, request.path, request.query]).toEqual(['POST', '/posts/_search', {}]);
    expect(JSON.parse(request.body)).toEqual({
      query: { bool: { filter: [{ term: { userId: 'nobody' } }] } },
      sort: NEWEST_FIRST_SORT,
      from: 20,
      size: 10,
      track_total_hits: true,
    });
  });

  it('plans slices with one search: the exact total, the newest hit and the percentiles of dateCreated where the slices meet', async () => {
    const { model, source } = await modelSource();
    const posts = generatePosts(1, 40);
    await source.indexPosts(posts);
    const plan = await source.planSlices({ tags: ['x-none'] }, 3);
    expect(plan).toEqual({ total: 0, ranges: [] });
    const sliced = await source.planSlices({}, 3);
    const request = model.requests.at(-1)!;
    expect([request.method, request.path]).toEqual(['POST', '/posts/_search']);
    expect(JSON.parse(request.body)).toEqual({
      query: { bool: { filter: [] } },
      sort: NEWEST_FIRST_SORT,
      size: 1,
      track_total_hits: true,
      aggs: { slices: { percentiles: { field: 'dateCreated', percents: [66.667, 33.333] } } },
    });
    expect(sliced.total).toBe(40);
    expect(sliced.ranges).toHaveLength(3);
    expect(sliced.ranges[0]!.after).toEqual({ createdMs: Math.max(...posts.map((post) => Date.parse(post.dateCreated))) + 1, id: '' });
  });

  it('indexes with one POST /_bulk of index operations on the alias by post id, words included, without refresh', async () => {
    const { model, source } = await modelSource();
    const [first, second] = generatePosts(1, 2) as [Post, Post];
    await source.indexPosts([first, second]);
    expect(calls(model)).toEqual(['POST /_bulk']);
    expect(model.requests[0]!.query).toEqual({});
    const lines = ndjsonOf(model.requests[0]!.body);
    expect(lines.filter((_, i) => i % 2 === 0)).toEqual([
      { index: { _index: 'posts', _id: first.id } },
      { index: { _index: 'posts', _id: second.id } },
    ]);
    expect(lines[1]).toEqual({ ...first, words: postWordsOf(first.content) });
    expect(postWordsOf(first.content).length).toBeGreaterThan(0);
    expect(Object.keys(lines[1] as object)).toEqual(['id', 'userId', 'dateCreated', 'content', 'tags', 'words']);
  });

  it("stages an import's posts as POST /_bulk of create actions onto the staging index under <importId>/<postId>, never onto the alias", async () => {
    const { model, source } = await modelSource();
    const [first, second] = generatePosts(1, 2) as [Post, Post];
    await source.stagePosts('imp-1', [first, second]);
    expect(calls(model)).toEqual(['POST /_bulk']);
    const lines = ndjsonOf(model.requests[0]!.body);
    expect(lines.filter((_, i) => i % 2 === 0)).toEqual([
      { create: { _index: 'posts-staging-v1', _id: `imp-1/${first.id}` } },
      { create: { _index: 'posts-staging-v1', _id: `imp-1/${second.id}` } },
    ]);
    expect(lines[1]).toEqual({ ...first, words: postWordsOf(first.content), importId: 'imp-1' });
    expect(model.documents('posts')).toEqual([]);
  });

  it('commits with POST searches of the staging index, bulk onto the alias (the last one refreshing), then a delete by query', async () => {
    const { model, source } = await modelSource({ bulk: { maxItems: 10, backoffMs: 0 } });
    await source.stagePosts('imp-1', generatePosts(1, 25));
    await source.stagePosts('imp-2', generatePosts(100, 3));
    model.requests.length = 0;
    expect(await source.commitStaged('imp-1')).toEqual({ committed: 25 });
    expect(calls(model)).toEqual([
      'POST /posts-staging-v1/_search',
      'POST /posts-staging-v1/_search',
      'POST /_bulk',
      'POST /posts-staging-v1/_search',
      'POST /_bulk',
      'POST /_bulk',
      'POST /posts-staging-v1/_delete_by_query',
    ]);
    expect(JSON.parse(model.requests[0]!.body)).toEqual({
      query: { bool: { filter: [{ term: { importId: 'imp-1' } }] } },
      sort: NEWEST_FIRST_SORT,
      size: 10,
      track_total_hits: false,
    });
    expect(model.requests.filter((r) => r.path === '/_bulk').map((r) => r.query)).toEqual([{}, {}, { refresh: 'wait_for' }]);
    expect(model.documents('posts')).toHaveLength(25);
    expect(model.documents('posts-staging-v1')).toHaveLength(3);
  });

  it('looks up stored posts with one POST /posts/_mget of their ids', async () => {
    const { model, source } = await modelSource();
    const [first] = generatePosts(1, 1) as [Post];
    await source.indexPosts([first]);
    model.requests.length = 0;
    expect(await source.postsById([first.id, 'no-such-post'])).toEqual(new Map([[first.id, first]]));
    expect(calls(model)).toEqual(['POST /posts/_mget']);
    expect(JSON.parse(model.requests[0]!.body)).toEqual({ ids: [first.id, 'no-such-post'] });
  });

  it('ensureStagingIndex creates the staging index (the mapping plus importId, no alias) once', async () => {
    const model = new OpenSearchModel();
    const source = new OpenSearchSource(clientOn(model.handle), 'posts');
    expect(await source.ensureStagingIndex()).toBe('created');
    expect(await source.ensureStagingIndex()).toBe('exists');
    expect(calls(model)).toEqual(['HEAD /posts-staging-v1', 'PUT /posts-staging-v1', 'HEAD /posts-staging-v1']);
    expect(JSON.parse(model.requests[1]!.body)).toEqual(STAGING_INDEX_DEFINITION);
    expect(STAGING_INDEX_DEFINITION.mappings.properties).toEqual({
      ...POSTS_INDEX_DEFINITION.mappings.properties,
      importId: { type: 'keyword' },
      chunk: { type: 'keyword' },
    });
  });

  it('the last request of a refreshing load asks for refresh=wait_for, the others for nothing', async () => {
    const { model, source } = await modelSource({ bulk: { maxItems: 10, backoffMs: 0 } });
    await source.indexPosts(generatePosts(1, 25), { refresh: true });
    expect(calls(model)).toEqual(['POST /_bulk', 'POST /_bulk', 'POST /_bulk']);
    expect(model.requests.map((request) => request.query)).toEqual([{}, {}, { refresh: 'wait_for' }]);
  });

  it('bounds each request by bytes as well as count (≤ 5 MiB)', async () => {
    const { model, source } = await modelSource();
    const big = generatePosts(1, 120).map((post) => ({ ...post, content: `${post.content} ${'x'.repeat(99_000)}` }));
    await source.indexPosts(big);
    const sizes = model.requests.map((request) => Buffer.byteLength(request.body));
    expect(sizes.length).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(5 * 1024 * 1024);
    expect(model.documents('posts')).toHaveLength(120);
  });

  it('items refused with 429 are retried alone, with the rest stored the first time', async () => {
    const { model, source } = await modelSource();
    const posts = generatePosts(1, 3);
    model.refuseOnce.set(posts[1]!.id, 429);
    model.refuseOnce.set(posts[2]!.id, 503);
    expect(await source.indexPosts(posts)).toEqual({ rejected: [] });
    expect(calls(model)).toEqual(['POST /_bulk', 'POST /_bulk']);
    expect(ndjsonOf(model.requests[1]!.body).filter((_, i) => i % 2 === 0)).toEqual([
      { index: { _index: 'posts', _id: posts[1]!.id } },
      { index: { _index: 'posts', _id: posts[2]!.id } },
    ]);
    expect(model.documents('posts')).toHaveLength(3);
  });

  it('items throttled past the retries fail the call as Transient', async () => {
    const model = new OpenSearchModel();
    const throttled = (request: Parameters<OpenSearchModel['handle']>[0]): WireResponse => {
      if (request.path !== '/_bulk') return model.handle(request);
      const ids = ndjsonOf(request.body).filter((_, i) => i % 2 === 0) as Array<{ index: { _id: string } }>;
      for (const { index } of ids) model.refuseOnce.set(index._id, 429);
      return model.handle(request);
    };
    const source = new OpenSearchSource(clientOn(throttled), 'posts', { bulk: { backoffMs: 0, retries: 2 } });
    await source.ensureIndex();
    const failure = source.indexPosts(generatePosts(1, 3));
    await expect(failure).rejects.toBeInstanceOf(Transient);
    await expect(failure).rejects.toThrow(/3 of 3 posts/);
    expect(model.requests.filter((request) => request.path === '/_bulk')).toHaveLength(3);
  });

  it('a document OpenSearch refuses (400) comes back as rejected with its reason; the rest is stored', async () => {
    const { model, source } = await modelSource();
    const [good, bad] = generatePosts(1, 2) as [Post, Post];
    const outcome = await source.indexPosts([good, { ...bad, dateCreated: '2025-01-01T00:00:00.1234567890Z' }]);
    expect(outcome.rejected).toEqual([
      {
        id: bad.id,
        reason: expect.stringMatching(
          /^OpenSearch refused the row: mapper_parsing_exception: failed to parse field \[dateCreated\]/,
        ) as unknown,
      },
    ]);
    expect(model.documents('posts').map((doc) => doc.id)).toEqual([good.id]);
  });

  it('a 413 halves the request until it fits; a single post too large is rejected', async () => {
    const { model, source } = await modelSource();
    model.nextResponses.push({ status: 413, body: { Message: 'Request size exceeded 10485760 bytes' } });
    const posts = generatePosts(1, 4);
    expect(await source.indexPosts(posts)).toEqual({ rejected: [] });
    expect(model.requests.map((request) => ndjsonOf(request.body).length / 2)).toEqual([4, 2, 2]);
    model.requests.length = 0;
    model.nextResponses.push({ status: 413, body: { Message: 'Request size exceeded 10485760 bytes' } });
    const [one] = generatePosts(10, 1) as [Post];
    expect((await source.indexPosts([one])).rejected).toEqual([{ id: one.id, reason: expect.stringContaining('413') as unknown }]);
  });

  it('a request the domain forbids (IAM 403) fails the call, not as Transient', async () => {
    const { model, source } = await modelSource();
    model.nextResponses.push({
      status: 403,
      body: { Message: 'User: arn:aws:sts::123456789012:assumed-role/ProcessImportRole/ferry is not authorized to perform: es:ESHttpPut' },
    });
    const failure = source.indexPosts(generatePosts(1, 1));
    await expect(failure).rejects.toThrow();
    await expect(failure).rejects.not.toBeInstanceOf(Transient);
  });

  it('scans through one point in time on the alias with search_after, then deletes it', async () => {
    const { model, source } = await modelSource();
    await source.indexPosts(generatePosts(1, 25));
    model.requests.length = 0;

    const batches = await collect(source, 10);

    expect(batches.map((batch) => batch.length)).toEqual([10, 10, 5]);
    expect(calls(model)).toEqual([
      'POST /posts/_search/point_in_time',
      'POST /_search',
      'POST /_search',
      'POST /_search',
      'DELETE /_search/point_in_time',
    ]);
    expect(model.requests[0]!.query).toEqual({ keep_alive: '5m' });
    const searches = model.requests.filter((r) => r.path === '/_search').map((r) => JSON.parse(r.body) as Record<string, unknown>);
    const pitId = (searches[0]!.pit as { id: string }).id;
    expect(searches.map((s) => s.pit)).toEqual(Array(3).fill({ id: pitId, keep_alive: '5m' }));
    const lastOfFirst = batches[0]!.at(-1)!;
    expect(searches[0]!.search_after).toBeUndefined();
    expect(searches[1]!.search_after).toEqual([Date.parse(lastOfFirst.dateCreated), lastOfFirst.id]);
    expect(JSON.parse(model.requests.at(-1)!.body)).toEqual({ pit_id: [pitId] });
    expect(model.openPits).toBe(0);
  });

  it('sees the snapshot taken when the scan began, not posts indexed during it', async () => {
    const { source } = await modelSource();
    await source.indexPosts(generatePosts(1, 20));
    let rows = 0;
    for await (const batch of source.scan({}, { batchSize: 5 })) {
      rows += batch.length;
      await source.indexPosts(generatePosts(100 + rows, 5));
    }
    expect(rows).toBe(20);
  });

  it('a point in time lost mid-scan (404 search_context_missing_exception) restarts at the cursor, no row twice', async () => {
    const { model, source } = await modelSource();
    const posts = generatePosts(1, 25);
    await source.indexPosts(posts);
    const seen: string[] = [];
    for await (const batch of source.scan({}, { batchSize: 10 })) {
      seen.push(...batch.map((post) => post.id));
      if (seen.length === 10) model.losePits();
    }
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
    expect(calls(model).slice(-6)).toEqual([
      'POST /_search',
      'POST /_search',
      'POST /posts/_search/point_in_time',
      'POST /_search',
      'POST /_search',
      'DELETE /_search/point_in_time',
    ]);
    const searches = model.requests.filter((r) => r.path === '/_search').map((r) => JSON.parse(r.body) as { search_after?: unknown });
    expect(searches[2]!.search_after).toEqual(searches[1]!.search_after);
  });

  it('deletes the point in time when the consumer stops early', async () => {
    const { model, source } = await modelSource();
    await source.indexPosts(generatePosts(1, 25));
    for await (const batch of source.scan({}, { batchSize: 10 })) {
      expect(batch).toHaveLength(10);
      break;
    }
    expect(calls(model).slice(-3)).toEqual(['POST /posts/_search/point_in_time', 'POST /_search', 'DELETE /_search/point_in_time']);
    expect(model.openPits).toBe(0);
  });

  it('deletes the point in time when a search fails, and reports a 503 as Transient', async () => {
    const { model, source } = await modelSource();
    await source.indexPosts(generatePosts(1, 25));
    const scan = collect(source, 10);
    model.nextResponses.push(
      { status: 200, body: { pit_id: 'pit-a', _shards: { total: 1, successful: 1, skipped: 0, failed: 0 }, creation_time: 1 } },
      { status: 503, body: { error: { type: 'unavailable_shards_exception', reason: 'primary shard is not active' }, status: 503 } },
    );
    await expect(scan).rejects.toBeInstanceOf(Transient);
    expect(calls(model).slice(-3)).toEqual(['POST /posts/_search/point_in_time', 'POST /_search', 'DELETE /_search/point_in_time']);
    expect(JSON.parse(model.requests.at(-1)!.body)).toEqual({ pit_id: ['pit-a'] });
  });

  it('a scan of nothing yields no batch and still deletes its point in time', async () => {
    const { model, source } = await modelSource();
    expect(await collect(source, 10)).toEqual([]);
    expect(calls(model)).toEqual(['POST /posts/_search/point_in_time', 'POST /_search', 'DELETE /_search/point_in_time']);
  });

  it('ensureIndex creates the versioned index with its alias once (HEAD, then PUT)', async () => {
    const model = new OpenSearchModel();
    const source = new OpenSearchSource(clientOn(model.handle), 'posts');
    expect(await source.ensureIndex()).toBe('created');
    expect(await source.ensureIndex()).toBe('exists');
    expect(calls(model)).toEqual(['HEAD /posts-v1', 'PUT /posts-v1', 'HEAD /posts-v1']);
    expect(JSON.parse(model.requests[1]!.body)).toEqual(createIndexBody('posts'));
  });

  it('ensureIndex that loses the create race to another writer counts it as done', async () => {
    const model = new OpenSearchModel();
    const source = new OpenSearchSource(clientOn(model.handle), 'posts');
    const other = new OpenSearchSource(clientOn(model.handle), 'posts');
    const racing = (request: Parameters<OpenSearchModel['handle']>[0]) =>
      request.method === 'HEAD' ? { status: 404 } : model.handle(request);
    await other.ensureIndex();
    expect(await new OpenSearchSource(clientOn(racing), 'posts').ensureIndex()).toBe('exists');
    expect(await source.ensureIndex()).toBe('exists');
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

  it('signs for hosts in every AWS partition, and only for them', () => {
    for (const host of [
      'search-ferry-abc.eu-west-1.es.amazonaws.com',
      'search-ferry-abc.cn-north-1.es.amazonaws.com.cn',
      'search-ferry-abc.us-gov-west-1.es.amazonaws.com',
      'search-ferry-abc.us-iso-east-1.es.c2s.ic.gov',
      'search-ferry-abc.us-isob-east-1.es.sc2s.sgov.gov',
      'search-ferry-abc.eu-isoe-west-1.es.cloud.adc-e.uk',
      'search-ferry-abc.us-isof-south-1.es.csp.hci.ic.gov',
      'search-ferry-abc.eusc-de-east-1.es.amazonaws.eu',
      'abc123.eu-west-1.aoss.amazonaws.com',
    ]) {
      expect(isAwsHost(host), host).toBe(true);
      expect(createOpenSearchClient(`https://${host}`, 'eu-west-1').transport.constructor, host).not.toBe(Transport);
    }
    for (const host of ['localhost', 'opensearch.example.com', 'amazonaws.com.evil.example', 'notamazonaws.com']) {
      expect(isAwsHost(host), host).toBe(false);
    }
  });
});
