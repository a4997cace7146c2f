import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { OpenSearchSource } from '../../adapters/aws/opensearch-search';
import { SqliteSearchSource } from '../../adapters/local/sqlite-search';
import { demoPostId, generatePosts } from './demo-data';

/**
 * Seeds the search store with the deterministic demo posts 1..rows: the local SQLite store, or the
 * OpenSearch index when OPENSEARCH_URL is set (created first if missing, then loaded through the adapter's
 * bulk code — the code the import uses).
 * SQLite: idempotent, batches whose ids are all present are skipped, partial ones get only their missing
 * posts, so re-running (or raising --rows) costs only the difference. OpenSearch: posts are indexed by id,
 * so re-running overwrites them and duplicates nothing.
 *
 *   npm run seed -- --rows 1000000 [--data-dir .data]
 *   OPENSEARCH_URL=https://<endpoint> [OPENSEARCH_INDEX=posts] npm run seed -- --rows 1000000
 */

const BATCH = 10_000;

export interface SeedResult {
  /** Posts 1..rows now present. */
  rows: number;
  /** Posts this run added. */
  added: number;
  seconds: number;
}

export async function seed(
  dbFile: string,
  rows: number,
  onProgress: (done: number, added: number, seconds: number) => void = () => {},
): Promise<SeedResult> {
  const started = performance.now();
  const store = new SqliteSearchSource(dbFile, { cacheMiB: 128 });
  let added = 0;
  try {
    for (let start = 1; start <= rows; start += BATCH) {
      const count = Math.min(BATCH, rows - start + 1);
      const present = store.idsBetween(demoPostId(start), demoPostId(start + count - 1));
      if (present.size < count) {
        const missing = generatePosts(start, count).filter((post) => !present.has(post.id));
        await store.indexPosts(missing);
        added += missing.length;
      }
      onProgress(start + count - 1, added, (performance.now() - started) / 1000);
    }
    if (added > 0) store.optimize();
  } finally {
    store.close();
  }
  return { rows, added, seconds: (performance.now() - started) / 1000 };
}

export interface OpenSearchSeedResult extends SeedResult {
  /** Whether the index had to be created. */
  index: 'created' | 'exists';
  /** Posts OpenSearch refused one by one (none expected for demo posts). */
  rejected: number;
}

/** Creates the index behind `alias` unless it exists, then bulk-indexes demo posts 1..rows; the last batch refreshes. */
export async function seedOpenSearch(
  source: OpenSearchSource,
  rows: number,
  onProgress: (done: number, added: number, seconds: number) => void = () => {},
): Promise<OpenSearchSeedResult> {
  const started = performance.now();
  const index = await source.ensureIndex();
  let added = 0;
  let rejected = 0;
  for (let start = 1; start <= rows; start += BATCH) {
    const count = Math.min(BATCH, rows - start + 1);
    const outcome = await source.indexPosts(generatePosts(start, count), { refresh: start + count > rows });
    rejected += outcome.rejected.length;
    added += count - outcome.rejected.length;
    onProgress(start + count - 1, added, (performance.now() - started) / 1000);
  }
  return { rows, added, rejected, index, seconds: (performance.now() - started) / 1000 };
}

/** Seeds `dataDir/search.db` with demo posts 1..rows unless they are already there. For `npm start` and the benchmark. */
export function seedIfNeeded(
  dataDir: string,
  rows: number,
  onProgress?: (done: number, added: number, seconds: number) => void,
): Promise<SeedResult> {
  return seed(join(dataDir, 'search.db'), rows, onProgress);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rows: { type: 'string' }, 'data-dir': { type: 'string' } },
    strict: true,
  });
  const rows = Number(values.rows);
  if (!Number.isInteger(rows) || rows < 0) {
    throw new Error('usage: npm run seed -- --rows N [--data-dir DIR]   (N a whole number)');
  }
  let lastReport = 0;
  const progress = (done: number, added: number, seconds: number): void => {
    if (seconds - lastReport < 2 && done < rows) return;
    lastReport = seconds;
    const rate = added > 0 ? `, ${Math.round(added / seconds).toLocaleString('en')} rows/s` : '';
    console.log(`  ${done.toLocaleString('en')} / ${rows.toLocaleString('en')} (${added.toLocaleString('en')} added${rate})`);
  };
  const url = process.env.OPENSEARCH_URL;
  let result: SeedResult;
  if (url) {
    const alias = process.env.OPENSEARCH_INDEX || 'posts';
    console.log(`Seeding ${rows.toLocaleString('en')} demo posts into OpenSearch ${new URL(url).host}, index ${alias}`);
    // Loaded only here: `npm start` imports this module and never needs the OpenSearch client.
    const { OpenSearchSource, createOpenSearchClient } = await import('../../adapters/aws/opensearch-search');
    const source = new OpenSearchSource(createOpenSearchClient(url, process.env.AWS_REGION ?? 'us-east-1'), alias);
    const seeded = await seedOpenSearch(source, rows, progress);
    console.log(`Index ${alias}: ${seeded.index === 'created' ? 'created' : 'already there'}; ${seeded.rejected} posts refused.`);
    result = seeded;
  } else {
    const dataDir = resolve(values['data-dir'] ?? process.env.DATA_DIR ?? '.data');
    console.log(`Seeding ${rows.toLocaleString('en')} demo posts into ${join(dataDir, 'search.db')}`);
    result = await seedIfNeeded(dataDir, rows, progress);
  }
  const rate = result.added > 0 ? `${Math.round(result.added / result.seconds).toLocaleString('en')} rows/s` : 'nothing to add';
  console.log(`Done: ${result.added.toLocaleString('en')} posts added in ${result.seconds.toFixed(1)} s (${rate}).`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
