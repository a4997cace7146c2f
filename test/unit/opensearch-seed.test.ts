import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { versionedIndexOf } from '../../adapters/aws/opensearch-search';
import { demoPostId, generatePosts } from '../../infra/local/demo-data';
import { OpenSearchModel } from './opensearch-model';
import { ndjsonOf, serveOverHttp } from './opensearch-wire';

/**
 * `npm run seed -- --rows N` and `npm run search:init` with OPENSEARCH_URL set, run as a person runs them
 * (a child process with tsx), against a loopback HTTP server speaking the recorded OpenSearch shapes.
 */

// Each run starts tsx (several seconds on a loaded machine); the unit project's 30 s default is too tight.
const SPAWNS_TIMEOUT_MS = 120_000;
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function run(script: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(join(root, 'node_modules', '.bin', 'tsx'), [script, ...args], {
      cwd: root,
      env: { ...process.env, ...env, NODE_OPTIONS: '--disable-warning=ExperimentalWarning' },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('seeding and initialising OpenSearch (OPENSEARCH_URL set)', () => {
  it(
    'npm run seed creates the index behind its alias and loads the posts through the bulk code, last batch refreshed',
    async () => {
      const model = new OpenSearchModel();
      const server = await serveOverHttp(model.handle);
      try {
        const { code, output } = await run('infra/local/seed.ts', ['--rows', '12345'], {
          OPENSEARCH_URL: server.url,
          OPENSEARCH_INDEX: 'posts',
        });
        expect(code, output).toBe(0);
        expect(output).toMatch(/Index posts: created; 0 posts refused/);
        const calls = model.requests.map((request) => `${request.method} ${request.path}`);
        expect(calls.slice(0, 2)).toEqual([`HEAD /${versionedIndexOf('posts')}`, `PUT /${versionedIndexOf('posts')}`]);
        expect(new Set(calls.slice(2))).toEqual(new Set(['POST /_bulk']));
        const bulks = model.requests.filter((request) => request.path === '/_bulk');
        expect(bulks.map((request) => ndjsonOf(request.body).length / 2)).toEqual([...Array(12).fill(1000), 345]);
        expect(bulks.map((request) => request.query.refresh)).toEqual([...Array(12).fill(undefined), 'wait_for']);
        const stored = model.documents('posts');
        expect(stored).toHaveLength(12_345);
        const [first] = generatePosts(1, 1);
        expect(stored.find((doc) => doc.id === demoPostId(1))).toMatchObject({ ...first });

        const again = await run('infra/local/seed.ts', ['--rows', '10'], { OPENSEARCH_URL: server.url });
        expect(again.code, again.output).toBe(0);
        expect(again.output).toMatch(/Index posts: already there/);
        expect(model.documents('posts')).toHaveLength(12_345);
      } finally {
        await server.close();
      }
    },
    SPAWNS_TIMEOUT_MS,
  );

  it(
    "npm run search:init creates the index and the imports' staging index once; a second run finds them",
    async () => {
      const model = new OpenSearchModel();
      const server = await serveOverHttp(model.handle);
      try {
        const first = await run('infra/aws/search-init.ts', [], { OPENSEARCH_URL: server.url, OPENSEARCH_INDEX: 'posts' });
        expect(first.code, first.output).toBe(0);
        expect(first.output).toMatch(/posts-v1 \(alias posts\): created; posts-staging-v1 \(imports' staging\): created/);
        const second = await run('infra/aws/search-init.ts', [], { OPENSEARCH_URL: server.url, OPENSEARCH_INDEX: 'posts' });
        expect(second.output).toMatch(/posts-v1 \(alias posts\): already there; posts-staging-v1 \(imports' staging\): already there/);
        expect(model.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
          'HEAD /posts-v1',
          'PUT /posts-v1',
          'HEAD /posts-staging-v1',
          'PUT /posts-staging-v1',
          'HEAD /posts-v1',
          'HEAD /posts-staging-v1',
        ]);
      } finally {
        await server.close();
      }
    },
    SPAWNS_TIMEOUT_MS,
  );
});
