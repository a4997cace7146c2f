import { describe, expect, it } from 'vitest';
import { awsPortBuilders, lazyDeps, once, type PortBuilders } from '../../functions/composition';
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
    const deps = lazyDeps(parseConfig(awsEnv), await awsPortBuilders(parseConfig(awsEnv)));
    // Each Dynamo adapter keeps the document client it was given (a private field, read here on purpose).
    const clientOf = (port: unknown) => (port as { documents?: unknown }).documents;
    const clients = [deps.audit, deps.rendezvous, deps.exportProgress, deps.imports].map(clientOf);
    expect(clients[0]).toBeDefined();
    for (const client of clients) expect(client).toBe(clients[0]);

    const { OPENSEARCH_URL: _url, ...withoutSearch } = awsEnv;
    const local = lazyDeps(parseConfig(withoutSearch), await awsPortBuilders(parseConfig(withoutSearch)));
    expect(() => local.search).toThrow(/OPENSEARCH_URL/);
  });
});
