import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteSearchSource } from '../../adapters/local/sqlite-search';
import { InvalidInput } from '../../core/errors';
import { seed } from '../../infra/local/seed';
import { describeSearchSource } from './search-source-spec';
import { generatePosts } from '../../infra/local/demo-data';
import type { Post } from '../../core/model';

const tempDirs: string[] = [];
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-search-'));
  tempDirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describeSearchSource('SqliteSearchSource', async () => {
  const source = new SqliteSearchSource(join(freshDir(), 'search.db'));
  return { source, cleanup: () => source.close() };
});

describe('SqliteSearchSource: storage', () => {
  it('creates its directory and keeps posts across reopening', async () => {
    const file = join(freshDir(), 'nested', 'dir', 'search.db');
    const first = new SqliteSearchSource(file);
    await first.indexPosts(generatePosts(1, 50));
    first.close();
    const again = new SqliteSearchSource(file);
    expect(existsSync(file)).toBe(true);
    expect((await again.search({}, { page: 1, pageSize: 1 })).total).toBe(50);
    again.close();
  });

  it('a failing batch is rolled back as a whole', async () => {
    const store = new SqliteSearchSource(join(freshDir(), 'search.db'));
    const [good, bad] = generatePosts(1, 2) as [ReturnType<typeof generatePosts>[number], ReturnType<typeof generatePosts>[number]];
    await expect(store.indexPosts([good, { ...bad, dateCreated: 'not a date' }])).rejects.toBeInstanceOf(InvalidInput);
    expect(store.count()).toBe(0);
    store.close();
  });

  it('a scan stopped early leaves the store usable (its temporary match table is dropped)', async () => {
    const store = new SqliteSearchSource(join(freshDir(), 'search.db'));
    await store.indexPosts(generatePosts(1, 300));
    for await (const batch of store.scan({ q: 'the' }, { batchSize: 10 })) {
      expect(batch).toHaveLength(10);
      break;
    }
    const all: string[] = [];
    for await (const batch of store.scan({ q: 'the' }, { batchSize: 10 })) all.push(...batch.map((p) => p.id));
    expect(all.length).toBe((await store.search({ q: 'the' }, { page: 1, pageSize: 1 })).total);
    store.close();
  });
});

describe('SqliteSearchSource: committing an import in bulk', () => {
  it('a commit of stored and new ids together updates the one in place and adds the others, each found by its own words and tags', async () => {
    const store = new SqliteSearchSource(join(freshDir(), 'search.db'));
    const [kept, changed] = generatePosts(1, 2) as [Post, Post];
    await store.indexPosts([kept, changed]);
    const edited: Post = { ...changed, content: 'Retimed crossing', tags: ['timetable'] };
    // More new posts than one step of the words statement, so the step boundaries are crossed.
    const fresh = Array.from({ length: 10_001 }, (_, i): Post => ({
      id: `imp-${i}`,
      userId: 'u1',
      dateCreated: new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString(),
      content: `Sailing number${i}`,
      tags: [`tag${i % 3}`, `tag${i % 3}`],
    }));
    await store.stagePosts('imp', [edited, ...fresh]);
    expect(await store.commitStaged('imp')).toEqual({ committed: 10_002 });

    expect(store.count()).toBe(2 + fresh.length);
    expect((await store.postsById([kept.id, changed.id])).get(changed.id)).toEqual(edited);
    expect((await store.search({ q: changed.content }, { page: 1, pageSize: 5 })).hits.map((p) => p.id)).not.toContain(changed.id);
    expect((await store.search({ q: 'retimed', tags: ['timetable'] }, { page: 1, pageSize: 5 })).hits).toEqual([edited]);
    for (const i of [0, 9_999, 10_000]) {
      expect((await store.search({ q: `number${i}` }, { page: 1, pageSize: 5 })).hits).toEqual([fresh[i]]);
    }
    expect((await store.search({ tags: ['tag1'] }, { page: 1, pageSize: 1 })).total).toBe(3_334);
    expect((await store.search({ q: 'sailing' }, { page: 1, pageSize: 1 })).total).toBe(fresh.length);
    store.close();
  });
});

describe('seed: demo posts into DIR/search.db', () => {
  it('adds posts 1..N, then only what is missing', async () => {
    const file = join(freshDir(), 'search.db');
    expect((await seed(file, 1_200)).added).toBe(1_200);
    expect((await seed(file, 1_200)).added).toBe(0);

    expect((await seed(file, 1_500)).added).toBe(300);
    const reopened = new SqliteSearchSource(file);
    expect(reopened.count()).toBe(1_500);
    expect((await reopened.search({}, { page: 1, pageSize: 100 })).hits.every((p) => p.id.startsWith('post-'))).toBe(true);
    reopened.close();
  });
});

describe('SqliteSearchSource: schema', () => {
  it('a version 1 store (FTS5 over content) is migrated on open: words recomputed, the old index dropped', async () => {
    const file = join(freshDir(), 'search.db');
    const { DatabaseSync } = await import('node:sqlite');
    const old = new DatabaseSync(file);
    old.exec(`
      CREATE TABLE posts (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, user_id TEXT NOT NULL, created_ms INTEGER NOT NULL,
        date_created TEXT NOT NULL, content TEXT NOT NULL, tags TEXT NOT NULL);
      CREATE VIRTUAL TABLE posts_fts USING fts5(content, content = 'posts', content_rowid = 'rowid',
        tokenize = "unicode61 remove_diacritics 0 categories 'L* M* N*'");
      INSERT INTO posts VALUES (1, 'p1', 'alice', 1741600800000, '2025-03-10T10:00:00.000Z', 'ΟΔΟΣ in İstanbul', '[]');
      INSERT INTO posts_fts (rowid, content) VALUES (1, 'ΟΔΟΣ in İstanbul');
      PRAGMA user_version = 1;
    `);
    old.close();

    const store = new SqliteSearchSource(file);
    expect((await store.search({ q: 'οδος İSTANBUL' }, { page: 1, pageSize: 10 })).hits.map((p) => p.id)).toEqual(['p1']);
    store.close();
    const reopened = new DatabaseSync(file);
    expect(reopened.prepare('PRAGMA user_version').get()).toEqual({ user_version: 3 });
    expect(reopened.prepare("SELECT name FROM sqlite_master WHERE name = 'posts_fts'").all()).toEqual([]);
    reopened.close();
  });

  it('a version 2 store (staging without chunks) is migrated on open: what it had staged is chunk 0 and still commits', async () => {
    const file = join(freshDir(), 'search.db');
    new SqliteSearchSource(file).close();
    const { DatabaseSync } = await import('node:sqlite');
    const old = new DatabaseSync(file);
    old.exec(`
      DROP TABLE staged_posts;
      CREATE TABLE staged_posts (import_id TEXT NOT NULL, id TEXT NOT NULL, user_id TEXT NOT NULL, date_created TEXT NOT NULL,
        content TEXT NOT NULL, tags TEXT NOT NULL, PRIMARY KEY (import_id, id)) WITHOUT ROWID;
      INSERT INTO staged_posts VALUES ('imp-old', 'p1', 'alice', '2025-03-10T10:00:00.000Z', 'staged before the upgrade', '[]');
      PRAGMA user_version = 2;
    `);
    old.close();

    const store = new SqliteSearchSource(file);
    expect(
      await store.stagePosts(
        'imp-old',
        [{ id: 'p1', userId: 'alice', dateCreated: '2025-03-10T10:00:00.000Z', content: 'again', tags: [] }],
        { chunk: 3 },
      ),
    ).toEqual({
      rejected: [{ id: 'p1', reason: 'p1 is already staged under imp-old', repeated: true, stagedBy: 0 }],
    });
    expect(await store.commitStaged('imp-old')).toEqual({ committed: 1 });
    expect((await store.postsById(['p1'])).get('p1')?.content).toBe('staged before the upgrade');
    store.close();
  });
});
