import { afterAll, describe, expect, it, vi } from 'vitest';
import { checkAwsConfig, lazyDeps, once, provideDeps, wired, type Deps, type PortBuilders } from '../../functions/composition';
import { awsPorts } from '../../functions/ports/all';
import { parseConfig } from '../../functions/config';

const awsEnv = {
  AWS_REGION: 'eu-west-1',
  EXPORTS_BUCKET: 'exports',
  UPLOADS_BUCKET: 'uploads',
  PERMANENT_BUCKET: 'permanent',
  QUARANTINE_BUCKET: 'quarantine',
  EXPORT_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:1:stateMachine:export',
  OPENSEARCH_URL: 'https://search.example.com',
  AUDIT_TABLE: 'audit',
  CONNECTIONS_TABLE: 'connections',
  IMPORTS_TABLE: 'imports',
  JOBS_TABLE: 'jobs',
  MAIL_TRANSPORT: 'ses',
  JWT_ISSUER: 'https://issuer.example.com',
  JWKS_URL: 'https://issuer.example.com/jwks.json',
};

describe('configuration', () => {
  it('is parsed into a frozen typed object', () => {
    const config = parseConfig(awsEnv);
    expect(Object.isFrozen(config)).toBe(true);
    expect(config).toMatchObject({ region: 'eu-west-1', exportsBucket: 'exports', mailTransport: 'ses', exportTtlHours: 72, clamdPort: 3310 });
  });

  it('caps exports at what one task writes unless MAX_EXPORT_ROWS says a number or unlimited', () => {
    expect(parseConfig(awsEnv).maxExportRows).toBe(500_000_000);
    expect(parseConfig({ ...awsEnv, MAX_EXPORT_ROWS: '1000' }).maxExportRows).toBe(1000);
    expect(parseConfig({ ...awsEnv, MAX_EXPORT_ROWS: 'unlimited' }).maxExportRows).toBe(Number.POSITIVE_INFINITY);
    expect(() => parseConfig({ ...awsEnv, MAX_EXPORT_ROWS: 'lots' })).toThrow(/maxExportRows/);
  });

  it('throws at start-up naming each missing required value', () => {
    const { EXPORTS_BUCKET: _bucket, JWKS_URL: _jwks, ...incomplete } = awsEnv;
    expect(() => parseConfig(incomplete)).toThrow(/incomplete: .*exportsBucket.*jwksUrl/);
  });
});

describe('the composition root', () => {
  const counting = () => {
    const calls: string[] = [];
    const port = (name: string) => () => {
      calls.push(name);
      return { name } as never;
    };
    const builders = Object.fromEntries(
      ['search', 'objects', 'mailer', 'push', 'rendezvous', 'exportProgress', 'executions', 'audit', 'imports', 'scanner', 'clock', 'ids', 'tokens'].map(
        (name) => [name, port(name)],
      ),
    ) as unknown as PortBuilders;
    return { calls, builders };
  };

  it('builds no port until one is used, and each used port once', () => {
    const { calls, builders } = counting();
    const deps = lazyDeps(parseConfig(awsEnv), builders);
    expect(deps.config.region).toBe('eu-west-1');
    expect(calls).toEqual([]);
    const first = deps.search;
    expect(deps.search).toBe(first);
    void deps.audit;
    expect(calls).toEqual(['search', 'audit']);
  });

  it('builds one value once however many ports share it', () => {
    let built = 0;
    const shared = once(() => ({ built: ++built }));
    expect(shared()).toBe(shared());
    expect(built).toBe(1);
  });

  it('AWS: the DynamoDB-backed ports share one document client, and a port whose setting is missing says which', async () => {
    const deps = lazyDeps(parseConfig(awsEnv), awsPorts);
    // Each Dynamo adapter keeps the document client it was given (a private field, read here on purpose).
    const clientOf = (port: unknown) => (port as { documents?: unknown }).documents;
    const clients = [deps.audit, deps.rendezvous, deps.exportProgress, deps.imports].map(clientOf);
    expect(clients[0]).toBeDefined();
    for (const client of clients) expect(client).toBe(clients[0]);

    const { OPENSEARCH_URL: _url, ...withoutSearch } = awsEnv;
    const local = lazyDeps(parseConfig(withoutSearch), awsPorts);
    expect(() => local.search).toThrow(/OPENSEARCH_URL/);
  });
});

describe('wired handlers', () => {
  afterAll(() => vi.unstubAllEnvs());
  const counted =
    <T>(calls: string[], name: string, port: T) =>
    () => {
      calls.push(name);
      return port;
    };

  it('AWS: the deps hold only the named ports, each built on first use, and the handler is made once', async () => {
    // The handler reads the environment once, as a Lambda does (getConfig).
    for (const [name, value] of Object.entries(awsEnv)) vi.stubEnv(name, value);
    const calls: string[] = [];
    const made: Array<Record<string, unknown>> = [];
    const clock = { now: () => new Date('2026-01-01T00:00:00Z') };
    const handler = wired(
      { clock: counted(calls, 'clock', clock), ids: counted(calls, 'ids', { newId: () => 'id-1' }) },
      (deps: Pick<Deps, 'config' | 'clock' | 'ids'>) => {
        made.push(deps);
        return async (event: { n: number }, invocation?: { awsRequestId?: string }) =>
          `${event.n} ${invocation?.awsRequestId} ${deps.clock.now().toISOString()} ${deps.config.region}`;
      },
    );
    expect(calls).toEqual([]);
    expect(await handler({ n: 1 }, { awsRequestId: 'r1' })).toBe('1 r1 2026-01-01T00:00:00.000Z eu-west-1');
    expect(await handler({ n: 2 }, { awsRequestId: 'r2' })).toBe('2 r2 2026-01-01T00:00:00.000Z eu-west-1');
    expect(made).toHaveLength(1);
    expect(Object.keys(made[0]!).sort()).toEqual(['clock', 'config', 'ids']);
    expect(calls).toEqual(['clock']);
  });

  it('AWS: a missing table, OpenSearch or SES setting fails before any port is built', () => {
    const { AUDIT_TABLE: _table, ...withoutAudit } = awsEnv;
    expect(() => checkAwsConfig(parseConfig(withoutAudit))).toThrow(/AUDIT_TABLE/);
    expect(() => checkAwsConfig(parseConfig({ ...awsEnv, MAIL_TRANSPORT: 'outbox' }))).toThrow(/MAIL_TRANSPORT must be "ses"/);
    expect(checkAwsConfig(parseConfig(awsEnv)).region).toBe('eu-west-1');
  });

  it("under a home's composition root (provideDeps), a handler gets that home's deps, not its named builders", async () => {
    const calls: string[] = [];
    const homeClock = { now: () => new Date('2030-05-05T00:00:00Z') };
    provideDeps(async (config) => lazyDeps(config, { clock: () => homeClock }) as unknown as Deps);
    const handler = wired(
      { clock: counted(calls, 'aws clock', { now: () => new Date(0) }) },
      (deps: Pick<Deps, 'clock'>) => async () => deps.clock.now().toISOString(),
    );
    expect(await handler()).toBe('2030-05-05T00:00:00.000Z');
    expect(calls).toEqual([]);
  });
});
