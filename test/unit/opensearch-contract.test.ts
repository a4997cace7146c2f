import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, type CollectionTag, type ScalarTag, type YAMLMap, type YAMLSeq } from 'yaml';
import { OpenSearchSource } from '../../adapters/aws/opensearch-search';
import { Transient } from '../../core/errors';
import type { Post } from '../../core/model';
import { clientOn, ndjsonOf, type WireRequest, type WireResponse } from './opensearch-wire';

/**
 * The recorded-fixture contract. Each file in fixtures/opensearch/ holds exchanges — a request as the adapter
 * must send it (method, path, query string, JSON or NDJSON body) and the response OpenSearch gives, in the
 * shapes of OpenSearch 2.17's documentation and opensearch-js 3.9's source — replayed in order through the real
 * Client. Then, for every request of every fixture: the caller's IAM role (serverless.yml, or the deploy
 * policy for search:init) allows that method on that path, and the caller's OpenSearch role
 * (infra/aws/opensearch-security.json) holds the security plugin's permissions for it.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixturesDir = join(root, 'test', 'unit', 'fixtures', 'opensearch');

interface Exchange {
  request: { method: string; path: string; query: Record<string, string>; body?: unknown; ndjson?: unknown[] };
  response: WireResponse;
}
interface Fixture {
  about: string;
  caller: 'search' | 'generateCsvReport' | 'processImport' | 'handleImportFailure' | 'deleteImport' | 'searchInit';
  exchanges: Exchange[];
}

const fixture = (name: string): Fixture => JSON.parse(readFileSync(join(fixturesDir, `${name}.json`), 'utf8')) as Fixture;
const fixtureNames = readdirSync(fixturesDir)
  .filter((file) => file.endsWith('.json'))
  .map((file) => file.replace(/\.json$/, ''))
  .sort();

/** A client that answers the fixture's exchanges in order, checking each request against the recorded one. */
function replay(name: string): { source: OpenSearchSource; done(): void } {
  const { exchanges } = fixture(name);
  let next = 0;
  const handler = (request: WireRequest): WireResponse => {
    const exchange = exchanges[next++];
    if (!exchange) throw new Error(`${name}: unexpected request ${request.method} ${request.path}`);
    const where = `${name} #${next}`;
    expect({ method: request.method, path: request.path, query: request.query }, where).toEqual({
      method: exchange.request.method,
      path: exchange.request.path,
      query: exchange.request.query,
    });
    if (exchange.request.ndjson) {
      expect(request.headers['content-type'], where).toMatch(/x-ndjson/);
      expect(request.body.endsWith('\n'), where).toBe(true);
      expect(ndjsonOf(request.body), where).toEqual(exchange.request.ndjson);
    } else if (exchange.request.body !== undefined) {
      expect(JSON.parse(request.body), where).toEqual(exchange.request.body);
    } else {
      expect(request.body, where).toBe('');
    }
    return exchange.response;
  };
  return {
    source: new OpenSearchSource(clientOn(handler), 'posts', { bulk: { backoffMs: 0 } }),
    done: () => expect(next, `${name}: every recorded exchange was used`).toBe(exchanges.length),
  };
}

const A: Post = { id: 'imp1-1', userId: 'alice', dateCreated: '2025-03-10T09:00:00.000Z', content: 'Ferry at dawn', tags: ['sea'] };
const B: Post = { id: 'imp1-2', userId: 'bob', dateCreated: '2025-03-10T10:00:00.000Z', content: 'İstanbul ΟΔΟΣ', tags: [] };

async function scanAll(source: OpenSearchSource): Promise<string[][]> {
  const batches: string[][] = [];
  for await (const batch of source.scan({}, { batchSize: 1 })) batches.push(batch.map((post) => post.id));
  return batches;
}

/** What the adapter is asked to do for each fixture, and what it must make of the responses. */
const scenarios: Record<string, (source: OpenSearchSource) => Promise<void>> = {
  'index-create': async (source) => expect(await source.ensureIndex()).toBe('created'),
  'index-exists': async (source) => expect(await source.ensureIndex()).toBe('exists'),
  'index-create-race': async (source) => expect(await source.ensureIndex()).toBe('exists'),
  'bulk-created-updated': async (source) => expect(await source.indexPosts([A, B])).toEqual({ rejected: [] }),
  'bulk-throttled-item': async (source) => expect(await source.indexPosts([A, B], { refresh: true })).toEqual({ rejected: [] }),
  'bulk-mapping-error': async (source) =>
    expect(await source.indexPosts([A, { ...A, id: 'imp1-3', dateCreated: '2025-03-10T09:00:00.1234567890Z' }])).toEqual({
      rejected: [
        {
          id: 'imp1-3',
          reason:
            "OpenSearch refused the row: mapper_parsing_exception: failed to parse field [dateCreated] of type [date] in document with id 'imp1-3'. Preview of field's value: '2025-03-10T09:00:00.1234567890Z' (illegal_argument_exception: failed to parse date field [2025-03-10T09:00:00.1234567890Z] with format [strict_date_optional_time])",
        },
      ],
    }),
  'bulk-too-large': async (source) => expect(await source.indexPosts([A, B])).toEqual({ rejected: [] }),
  'bulk-forbidden': async (source) => {
    const failure = source.indexPosts([A]);
    await expect(failure).rejects.toThrow(/not authorized to perform: es:ESHttpPost/);
    await expect(failure).rejects.not.toBeInstanceOf(Transient);
  },
  'search-page': async (source) =>
    expect(await source.search({ q: 'İSTANBUL οδος' }, { page: 1, pageSize: 20 })).toEqual({ total: 1, hits: [B] }),
  'date-bounds': async (source) =>
    expect(await source.search({ userId: 'alice', from: '2025-03-10', to: '2025-03-10' }, { page: 1, pageSize: 20 })).toEqual({
      total: 1,
      hits: [A],
    }),
  'pit-scan': async (source) => {
    expect((await source.search({}, { page: 1, pageSize: 1 })).total).toBe(2);
    expect(await scanAll(source)).toEqual([['imp1-2'], ['imp1-1']]);
  },
  'pit-lost': async (source) => expect(await scanAll(source)).toEqual([['imp1-2'], ['imp1-1']]),
  'staging-index-create': async (source) => expect(await source.ensureStagingIndex()).toBe('created'),
  'stage-and-commit': async (source) => {
    expect(await source.stagePosts('imp1', [A, B])).toEqual({ rejected: [] });
    expect(await source.commitStaged('imp1')).toEqual({ committed: 2 });
  },
  'discard-staged': async (source) => expect(await source.discardStaged('imp1')).toBeUndefined(),
  'cancel-discards-staged': async (source) => expect(await source.discardStaged('imp1')).toBeUndefined(),
  'stage-repeated-id': async (source) =>
    expect(await source.stagePosts('imp1', [A, { ...A, content: 'Ferry at dusk' }])).toEqual({
      rejected: [
        {
          id: 'imp1-1',
          reason:
            'OpenSearch refused the row: version_conflict_engine_exception: [imp1/imp1-1]: version conflict, document already exists (current version [1])',
          repeated: true,
        },
      ],
    }),
  'posts-by-id': async (source) => expect(await source.postsById(['imp1-1', 'imp1-9'])).toEqual(new Map([['imp1-1', A]])),
};

describe('the recorded OpenSearch exchanges, replayed through the real client', () => {
  it('every fixture has a scenario and every scenario a fixture', () => {
    expect(Object.keys(scenarios).sort()).toEqual(fixtureNames);
  });

  for (const name of fixtureNames) {
    it(`${name}: ${fixture(name).about.slice(0, 90)}…`, async () => {
      const { source, done } = replay(name);
      await scenarios[name]!(source);
      done();
    });
  }

  it('bulk is always POST /_bulk with the index on each item, never PUT /<index>/_bulk', () => {
    const bulks = fixtureNames
      .flatMap((name) => fixture(name).exchanges.map((exchange) => exchange.request))
      .filter((r) => r.path.endsWith('/_bulk'));
    expect(bulks.length).toBeGreaterThan(0);
    for (const request of bulks) {
      expect([request.method, request.path]).toEqual(['POST', '/_bulk']);
      const actions = (request.ndjson ?? []).filter((_, i) => i % 2 === 0) as Array<Partial<Record<'index' | 'create', { _index: string }>>>;
      expect(actions.every((action) => ['posts', 'posts-staging-v1'].includes((action.index ?? action.create)?._index ?? ''))).toBe(true);
    }
  });

  it('staging writes with `create` only (a repeated id is refused, never a replacement); the alias with `index`', () => {
    for (const request of fixtureNames.flatMap((name) => fixture(name).exchanges.map((exchange) => exchange.request))) {
      const actions = (request.ndjson ?? []).filter((_, i) => i % 2 === 0) as Array<Partial<Record<'index' | 'create', { _index: string }>>>;
      for (const action of actions) {
        if (action.create) expect(action.create._index).toBe('posts-staging-v1');
        if (action.index) expect(action.index._index).toBe('posts');
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// IAM: does the caller's role allow each request (method → es:ESHttp<Method>, path → domain ARN + path)?

const DOMAIN_ARN = 'arn:aws:es:eu-west-1:123456789012:domain/ferry-dev';
const CFN = [
  'Ref',
  'GetAtt',
  'Sub',
  'ImportValue',
  'Join',
  'Select',
  'Split',
  'If',
  'Equals',
  'Not',
  'And',
  'Or',
  'Condition',
  'FindInMap',
  'Base64',
  'GetAZs',
];
const cloudFormationTags = (): (ScalarTag | CollectionTag)[] =>
  CFN.flatMap((name): (ScalarTag | CollectionTag)[] => {
    const key = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
    const fromNode = (node: YAMLMap.Parsed | YAMLSeq.Parsed) => ({ [key]: node.toJSON() as unknown });
    return [
      { tag: `!${name}`, resolve: (value: string) => ({ [key]: value }) },
      { tag: `!${name}`, collection: 'seq', resolve: fromNode },
      { tag: `!${name}`, collection: 'map', resolve: fromNode },
    ];
  });

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}
const asArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** The Resources of serverless.yml, and of infra/aws/resources/*.yml where the roles may live. */
function serverlessResources(): Record<string, { Properties?: { Policies?: Array<{ PolicyDocument: { Statement: Statement[] } }> } }> {
  const yml = parse(readFileSync(join(root, 'serverless.yml'), 'utf8'), { customTags: cloudFormationTags() }) as {
    resources?: { Resources?: Record<string, never> };
  };
  const resources = { ...(yml.resources?.Resources ?? {}) };
  const extra = join(root, 'infra', 'aws', 'resources');
  if (existsSync(extra)) {
    for (const file of readdirSync(extra).filter((f) => /\.ya?ml$/.test(f))) {
      const doc = parse(readFileSync(join(extra, file), 'utf8'), { customTags: cloudFormationTags() }) as {
        Resources?: Record<string, never>;
      };
      Object.assign(resources, doc.Resources ?? doc);
    }
  }
  return resources;
}

function roleOf(functionKey: string): string {
  const yml = parse(readFileSync(join(root, 'serverless.yml'), 'utf8'), { customTags: cloudFormationTags() }) as {
    functions: Record<string, { role?: string }>;
  };
  const role = yml.functions[functionKey]?.role;
  if (!role) throw new Error(`serverless.yml: function ${functionKey} has no role`);
  return role;
}

/** A resource as a plain ARN: `!Sub [ '${DomainArn}/…', { DomainArn: … } ]` with the domain's ARN filled in. */
function resourceArn(resource: unknown): string {
  if (typeof resource === 'string') return resource;
  const sub = (resource as { 'Fn::Sub'?: unknown })['Fn::Sub'];
  const template = Array.isArray(sub) ? String(sub[0]) : typeof sub === 'string' ? sub : JSON.stringify(resource);
  return template.replaceAll('${DomainArn}', DOMAIN_ARN);
}

const wildcard = (pattern: string): RegExp =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replaceAll('*', '.*')
      .replaceAll('?', '.')}$`,
  );

function statementsOf(caller: Fixture['caller']): Statement[] {
  if (caller === 'searchInit') {
    const policy = JSON.parse(readFileSync(join(root, 'infra', 'aws', 'search-init-policy.json'), 'utf8')) as { Statement: Statement[] };
    return policy.Statement.map((statement) => ({
      ...statement,
      Resource: asArray(statement.Resource as string).map((r) =>
        r.replace('arn:${Partition}:es:${Region}:${Account}:domain/ferry-${Stage}', DOMAIN_ARN),
      ),
    }));
  }
  const role = serverlessResources()[roleOf(caller)];
  return (role?.Properties?.Policies ?? []).flatMap((policy) => policy.PolicyDocument.Statement);
}

const allows = (statements: Statement[], action: string, arn: string): boolean =>
  statements.some(
    (statement) =>
      statement.Effect === 'Allow' &&
      asArray(statement.Action).some((a) => wildcard(a).test(action)) &&
      asArray(statement.Resource).some((resource) => wildcard(resourceArn(resource)).test(arn)),
  );

const iamActionOf = (method: string): string => `es:ESHttp${method[0]}${method.slice(1).toLowerCase()}`;

describe("each request is allowed by its caller's IAM role, and only by what it needs", () => {
  const esActions = Object.keys(
    JSON.parse(readFileSync(join(root, 'node_modules', '@cloud-copilot', 'iam-data', 'data', 'actions', 'es.json'), 'utf8')) as object,
  );

  for (const name of fixtureNames) {
    const { caller, exchanges } = fixture(name);
    it(`${name} (${caller})`, () => {
      const statements = statementsOf(caller);
      for (const { request } of exchanges) {
        const action = iamActionOf(request.method);
        expect(esActions, action).toContain(action.slice(3).toLowerCase());
        expect(allows(statements, action, `${DOMAIN_ARN}${request.path}`), `${caller}: ${request.method} ${request.path}`).toBe(true);
      }
    });
  }

  it('the old PUT /posts/_bulk (a path-level index) would have been denied to processImport', () => {
    expect(allows(statementsOf('processImport'), 'es:ESHttpPut', `${DOMAIN_ARN}/posts/_bulk`)).toBe(false);
    expect(allows(statementsOf('processImport'), 'es:ESHttpPost', `${DOMAIN_ARN}/posts/_bulk`)).toBe(false);
  });

  it('no caller holds an es:ESHttp* grant that none of its requests uses', () => {
    for (const caller of ['search', 'generateCsvReport', 'processImport', 'handleImportFailure', 'deleteImport', 'searchInit'] as const) {
      const requests = fixtureNames
        .map(fixture)
        .filter((f) => f.caller === caller)
        .flatMap((f) => f.exchanges.map((e) => e.request));
      for (const statement of statementsOf(caller).filter((s) => asArray(s.Action).some((a) => a.startsWith('es:')))) {
        for (const action of asArray(statement.Action)) {
          for (const resource of asArray(statement.Resource)) {
            const used = requests.some(
              (r) => wildcard(action).test(iamActionOf(r.method)) && wildcard(resourceArn(resource)).test(`${DOMAIN_ARN}${r.path}`),
            );
            expect(used, `${caller}: ${action} on ${resourceArn(resource)}`).toBe(true);
          }
        }
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Fine-grained access control: the security plugin's permissions behind each request.

interface SecurityDoc {
  roles: Record<
    string,
    { cluster_permissions: string[]; index_permissions: Array<{ index_patterns: string[]; allowed_actions: string[] }> }
  >;
  role_mappings: Record<string, { backend_roles: string[] }>;
}
const security = (): SecurityDoc => JSON.parse(readFileSync(join(root, 'infra', 'aws', 'opensearch-security.json'), 'utf8')) as SecurityDoc;

const POSTS = ['posts-v1', 'posts'];
const STAGING = ['posts-staging-v1'];

/** What the security plugin checks for a request: cluster actions, and index actions on these indices (the concrete index and alias). */
function permissionsFor(request: Exchange['request']): { cluster: string[]; index: string[]; indices: string[] } {
  const key = `${request.method} ${request.path}`;
  if (key === 'HEAD /posts-v1') return { cluster: [], index: ['indices:admin/get'], indices: POSTS };
  if (key === 'PUT /posts-v1') return { cluster: [], index: ['indices:admin/create', 'indices:admin/aliases'], indices: POSTS };
  if (key === 'HEAD /posts-staging-v1') return { cluster: [], index: ['indices:admin/get'], indices: STAGING };
  if (key === 'PUT /posts-staging-v1') return { cluster: [], index: ['indices:admin/create'], indices: STAGING };
  if (key === 'POST /_bulk') {
    const actions = (request.ndjson ?? []).filter((_, i) => i % 2 === 0) as Array<Partial<Record<'index' | 'create', { _index: string }>>>;
    // The security plugin checks a `create` item as an index write (indices:data/write/index), as an `index` item.
    const staging = actions.some((action) => (action.index ?? action.create)?._index === 'posts-staging-v1');
    return {
      cluster: ['indices:data/write/bulk'],
      index: ['indices:data/write/bulk[s]', 'indices:data/write/index'],
      indices: staging ? STAGING : POSTS,
    };
  }
  if (key === 'POST /posts/_search' || key === 'POST /_search') return { cluster: [], index: ['indices:data/read/search'], indices: POSTS };
  if (key === 'POST /posts/_mget')
    return { cluster: [], index: ['indices:data/read/mget', 'indices:data/read/mget[shard]'], indices: POSTS };
  if (key === 'POST /posts-staging-v1/_search') return { cluster: [], index: ['indices:data/read/search'], indices: STAGING };
  if (key === 'POST /posts-staging-v1/_delete_by_query')
    return {
      cluster: [],
      index: ['indices:data/read/search', 'indices:data/write/delete/byquery', 'indices:data/write/bulk[s]'],
      indices: STAGING,
    };
  if (key === 'POST /posts/_search/point_in_time')
    return { cluster: [], index: ['indices:data/read/point_in_time/create'], indices: POSTS };
  if (key === 'DELETE /_search/point_in_time') return { cluster: [], index: ['indices:data/read/point_in_time/delete'], indices: POSTS };
  throw new Error(`no security permissions known for ${key}`);
}

const BACKEND_ROLE: Record<Fixture['caller'], string> = {
  search: '${SearchRole}',
  generateCsvReport: '${GenerateCsvReportRole}',
  processImport: '${ProcessImportRole}',
  handleImportFailure: '${HandleImportFailureRole}',
  deleteImport: '${DeleteImportRole}',
  searchInit: '${DeployRole}',
};

describe('infra/aws/opensearch-security.json, as a document', () => {
  it('maps every role it defines, and to IAM roles of the functions that call OpenSearch', () => {
    const doc = security();
    expect(Object.keys(doc.role_mappings).sort()).toEqual(Object.keys(doc.roles).sort());
    for (const caller of ['search', 'generateCsvReport', 'processImport', 'handleImportFailure', 'deleteImport'] as const) {
      expect(BACKEND_ROLE[caller]).toBe(`\${${roleOf(caller)}}`);
    }
  });

  it('grants indices:data/write/bulk as a cluster permission to the importer', () => {
    expect(security().roles.ferry_import?.cluster_permissions).toContain('indices:data/write/bulk');
  });

  for (const name of fixtureNames) {
    const { caller, exchanges } = fixture(name);
    it(`${name}: the OpenSearch roles mapped to ${caller} hold what each request needs on its indices`, () => {
      const doc = security();
      const roles = Object.entries(doc.role_mappings)
        .filter(([, mapping]) => mapping.backend_roles.includes(BACKEND_ROLE[caller]))
        .map(([role]) => doc.roles[role]!);
      expect(roles.length, caller).toBeGreaterThan(0);
      for (const { request } of exchanges) {
        const needed = permissionsFor(request);
        for (const action of needed.cluster) {
          expect(
            roles.some((role) => role.cluster_permissions.some((p) => wildcard(p).test(action))),
            `${caller} ${action}`,
          ).toBe(true);
        }
        for (const action of needed.index) {
          for (const index of needed.indices) {
            const granted = roles.some((role) =>
              role.index_permissions.some(
                (permission) =>
                  permission.index_patterns.some((p) => wildcard(p).test(index)) &&
                  permission.allowed_actions.some((p) => wildcard(p).test(action)),
              ),
            );
            expect(granted, `${caller}: ${action} on ${index}`).toBe(true);
          }
        }
      }
    });
  }
});
