import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { SqliteSearchSource } from '../../adapters/local/sqlite-search';
import { demoPostId, generatePosts } from './demo-data';

/**
 * Seeds the local search store with the deterministic demo posts 1..rows.
 * Idempotent: batches whose ids are all present are skipped, partial ones get only their missing posts,
 * so re-running (or raising --rows) costs only the difference.
 *
 *   npm run seed -- --rows 1000000 [--data-dir .data]
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
  const dataDir = resolve(values['data-dir'] ?? process.env.DATA_DIR ?? '.data');
  console.log(`Seeding ${rows.toLocaleString('en')} demo posts into ${join(dataDir, 'search.db')}`);
  let lastReport = 0;
  const result = await seedIfNeeded(dataDir, rows, (done, added, seconds) => {
    if (seconds - lastReport < 2 && done < rows) return;
    lastReport = seconds;
    const rate = added > 0 ? `, ${Math.round(added / seconds).toLocaleString('en')} rows/s` : '';
    console.log(`  ${done.toLocaleString('en')} / ${rows.toLocaleString('en')} (${added.toLocaleString('en')} added${rate})`);
  });
  const rate = result.added > 0 ? `${Math.round(result.added / result.seconds).toLocaleString('en')} rows/s` : 'nothing to add';
  console.log(`Done: ${result.added.toLocaleString('en')} posts added in ${result.seconds.toFixed(1)} s (${rate}).`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
