import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Post, SearchCriteria } from '../../core/model';
import type { SearchSource, SlicePlan, StagingSearchSource } from '../../core/ports';
import { compareNewestFirst, matchesCriteria } from '../../core/search-criteria';
import { generatePosts } from '../../infra/local/demo-data';

/**
 * The behaviour every SearchSource adapter must show (core/search-criteria.ts), run against each adapter
 * so "the same criteria give the same rows in both" is checked, not assumed.
 */

const post = (id: string, dateCreated: string, content: string, tags: string[] = [], userId = 'alice'): Post => ({
  id,
  userId,
  dateCreated,
  content,
  tags,
});

/** Hand-made posts whose expected matches a reader can check by eye. */
export const HAND_MADE: Post[] = [
  post('h01', '2025-03-10T09:00:00.000Z', 'Just tried a great Espresso at the corner café.', ['coffee', 'til']),
  post('h02', '2025-03-10T09:00:00.000Z', 'ESPRESSO, again! Grinder still broken.', ['coffee'], 'bob'),
  post('h03', '2025-03-10T11:00:00.000+02:00', 'Espresso-based drinks are "fine".', ['coffee', 'review']), // 09:00Z, same instant as h01/h02
  post('h04', '2025-03-09T23:59:59.999Z', 'Packing light for Lisbon.\nTrain ticket booked.', ['travel'], 'bob'),
  post('h05', '2025-03-11T00:00:00.000Z', '=SUM(A1:A9) is how I plan my espresso budget', ['coffee', 'advice'], 'carol'),
  post('h06', '2025-03-11T01:00:00.000+02:00', '+1 for the café in Lisbon, espresso was great', ['travel', 'coffee'], 'carol'), // 2025-03-10T23:00Z
  post('h07', '2024-12-31T23:59:59.000Z', '@bob espressos are not espresso (no stemming)', [], 'alice'),
  post('h08', '2025-01-01T00:00:00.000Z', "Don't stop: cafe without an accent", ['til'], 'bob'),
];

/** Where tokenizers disagree: both stores must find these through Ferry's words (core/search-criteria.ts). */
export const TOKENIZER_CASES: Post[] = [
  post('t01', '2025-04-01T10:00:00.000Z', 'Weekend in İstanbul, then Ankara'),
  post('t02', '2025-04-01T11:00:00.000Z', 'ΟΔΟΣ ΚΑΛΟΣ: a Greek street sign'),
  post('t03', '2025-04-01T12:00:00.000Z', 'great👍🏽job and 👨‍👩‍👧family'),
  post('t04', '2025-04-01T13:00:00.000Z', 'ᲗᲑᲘᲚᲘᲡᲘ and ᏣᎳᎩ in capitals'),
  post('t05', '2025-04-01T14:00:00.000Z', `${'a'.repeat(300)} ends here`),
  post('t06', '2025-04-01T15:00:00.000Z', 'cafe\u0301 noir, decomposed'),
];

const ids = (posts: Post[]): string[] => posts.map((p) => p.id);

export interface SourceUnderTest {
  source: StagingSearchSource;
  cleanup(): Promise<void> | void;
}

async function scanAll(source: SearchSource, criteria: SearchCriteria, batchSize?: number): Promise<Post[][]> {
  const batches: Post[][] = [];
  for await (const batch of source.scan(criteria, batchSize ? { batchSize } : {})) batches.push(batch);
  return batches;
}

async function allPages(source: SearchSource, criteria: SearchCriteria, pageSize: number): Promise<Post[]> {
  const rows: Post[] = [];
  for (let page = 1; ; page++) {
    const result = await source.search(criteria, { page, pageSize });
    rows.push(...result.hits);
    if (result.hits.length < pageSize) return rows;
  }
}

export function describeSearchSource(name: string, open: () => Promise<SourceUnderTest>): void {
  describe(`${name}: search semantics`, () => {
    let subject: SourceUnderTest;
    const demo = generatePosts(1, 400);
    const everything = [...HAND_MADE, ...TOKENIZER_CASES, ...demo];

    beforeEach(async () => {
      subject = await open();
      await subject.source.indexPosts(everything);
    });
    afterEach(async () => {
      await subject.cleanup();
    });

    /** The hand-made posts matching, in result order (the demo posts around them are checked separately). */
    const hits = async (criteria: SearchCriteria): Promise<string[]> =>
      ids(await allPages(subject.source, criteria, 100)).filter((id) => id.startsWith('h'));

    it('q requires every word, case-insensitive, punctuation ignored, newest first', async () => {
      expect(await hits({ q: 'espresso' })).toEqual(['h05', 'h06', 'h03', 'h02', 'h01', 'h07']);
      expect(await hits({ q: 'Espresso GREAT' })).toEqual(['h06', 'h01']);
      expect(await hits({ q: 'lisbon, train!' })).toEqual(['h04']);
    });

    it('q matches whole words: no stemming, no prefixes, accents matter', async () => {
      expect(await hits({ q: 'espressos' })).toEqual(['h07']);
      expect(await hits({ q: 'espress' })).toEqual([]);
      expect(await hits({ q: 'café' })).toEqual(['h06', 'h01']);
      expect(await hits({ q: 'cafe' })).toEqual(['h08']);
      expect(await hits({ q: 'don t' })).toEqual(['h08']);
    });

    /** The tokenizer cases matching, in result order. */
    const tokenizerHits = async (q: string): Promise<string[]> =>
      ids(await allPages(subject.source, { q }, 100)).filter((id) => id.startsWith('t'));

    it('words are NFC-normalised and lowercased per code point: İ, final sigma, Georgian, Cherokee', async () => {
      expect(await tokenizerHits('İSTANBUL')).toEqual(['t01']);
      expect(await tokenizerHits('i\u0307stanbul')).toEqual(['t01']);
      // Full case folding turns İ into i + combining dot above, which is not plain "istanbul".
      expect(await tokenizerHits('istanbul')).toEqual([]);
      for (const q of ['οδος', 'οδοσ', 'ΟΔΟΣ', 'Οδος καλος']) expect(await tokenizerHits(q), q).toEqual(['t02']);
      expect(await tokenizerHits('თბილისი')).toEqual(['t04']);
      expect(await tokenizerHits('ᲗᲑᲘᲚᲘᲡᲘ')).toEqual(['t04']);
      expect(await tokenizerHits('ꮳꮃꭹ')).toEqual(['t04']);
      expect(await tokenizerHits('café noir')).toEqual(['t06']);
      expect(await tokenizerHits('cafe\u0301')).toEqual(['t06']);
    });

    it('emoji and their modifiers separate words; a 300-letter word is one word', async () => {
      expect(await tokenizerHits('great job family')).toEqual(['t03']);
      expect(await tokenizerHits('great👍🏽')).toEqual(['t03']);
      expect(await tokenizerHits('a'.repeat(300))).toEqual(['t05']);
      expect(await tokenizerHits('a'.repeat(299))).toEqual([]);
      expect(await tokenizerHits('a'.repeat(256))).toEqual([]);
    });

    it('tags require all given tags, exactly', async () => {
      expect(await hits({ tags: ['coffee'] })).toEqual(['h05', 'h06', 'h03', 'h02', 'h01']);
      expect(await hits({ tags: ['coffee', 'til'] })).toEqual(['h01']);
      expect(await hits({ tags: ['Coffee'] })).toEqual([]);
    });

    it('userId is exact', async () => {
      expect(await hits({ userId: 'bob' })).toEqual(['h02', 'h04', 'h08']);
      expect(await hits({ userId: 'Bob' })).toEqual([]);
    });

    it('from and to are inclusive instants; a date-only to covers its whole UTC day', async () => {
      expect(await hits({ from: '2025-03-10', to: '2025-03-10' })).toEqual(['h06', 'h03', 'h02', 'h01']);
      expect(await hits({ to: '2025-03-09' })).toEqual(['h04', 'h08', 'h07']);
      expect(await hits({ from: '2025-03-10T23:00:00Z' })).toEqual(['h05', 'h06']);
      expect(await hits({ from: '2024-12-31T23:59:59Z', to: '2025-01-01T00:00:00Z' })).toEqual(['h08', 'h07']);
    });

    it('criteria combine with AND', async () => {
      expect(await hits({ q: 'espresso', tags: ['coffee'], userId: 'carol', to: '2025-03-10' })).toEqual(['h06']);
    });

    it('equal instants are ordered by id descending, whatever the offset notation', async () => {
      expect(await hits({ from: '2025-03-10T09:00:00Z', to: '2025-03-10T09:00:00Z' })).toEqual(['h03', 'h02', 'h01']);
    });

    it('returns the same rows as the reference predicate for many criteria', async () => {
      const table: SearchCriteria[] = [
        {},
        { q: 'espresso' },
        { q: 'the grinder' },
        { tags: ['coffee', 'weekend'] },
        { userId: 'alice' },
        { userId: 'bob', from: '2025-01-01' },
        { from: '2024-06-01', to: '2024-12-31T12:00:00-05:00' },
        { q: 'lisbon', tags: ['travel'], from: '2024-01-01', to: '2026-01-01' },
        { q: 'İstanbul' },
        { q: 'ΟΔΟΣ' },
        { q: 'great👍🏽job' },
        { q: 'ᲗᲑᲘᲚᲘᲡᲘ' },
        { q: 'a'.repeat(300) },
        { q: 'café' },
      ];
      for (const criteria of table) {
        const expected = everything.filter((p) => matchesCriteria(p, criteria)).sort(compareNewestFirst);
        const page = await subject.source.search(criteria, { page: 1, pageSize: 100 });
        expect(page.total, JSON.stringify(criteria)).toBe(expected.length);
        expect(ids(page.hits), JSON.stringify(criteria)).toEqual(ids(expected.slice(0, 100)));
        expect(ids((await scanAll(subject.source, criteria)).flat()), JSON.stringify(criteria)).toEqual(ids(expected));
      }
    });

    it('pages report the total and cut the ordered rows into consecutive slices', async () => {
      const total = everything.length;
      const first = await subject.source.search({}, { page: 1, pageSize: 25 });
      const third = await subject.source.search({}, { page: 3, pageSize: 25 });
      const last = await subject.source.search({}, { page: Math.ceil(total / 25), pageSize: 25 });
      const beyond = await subject.source.search({}, { page: Math.ceil(total / 25) + 1, pageSize: 25 });
      const ordered = [...everything].sort(compareNewestFirst);
      expect([first.total, third.total, last.total, beyond.total]).toEqual([total, total, total, total]);
      expect(ids(first.hits)).toEqual(ids(ordered.slice(0, 25)));
      expect(ids(third.hits)).toEqual(ids(ordered.slice(50, 75)));
      expect(last.hits).toHaveLength(total % 25 || 25);
      expect(beyond.hits).toEqual([]);
    });

    it('a scan returns exactly all pages concatenated, in batches of the requested size', async () => {
      const batches = await scanAll(subject.source, {}, 37);
      expect(batches.slice(0, -1).every((batch) => batch.length === 37)).toBe(true);
      expect(batches.flat()).toEqual(await allPages(subject.source, {}, 100));
    });

    it('hits carry the posts as indexed', async () => {
      const { hits: found } = await subject.source.search({ q: 'budget' }, { page: 1, pageSize: 10 });
      expect(found).toEqual([HAND_MADE[4]]);
    });

    it('a search matching nothing has total 0 and no hits, and its scan yields no batch', async () => {
      const criteria = { q: 'espresso', userId: 'nobody' };
      expect(await subject.source.search(criteria, { page: 1, pageSize: 20 })).toEqual({ total: 0, hits: [] });
      expect(await scanAll(subject.source, criteria)).toEqual([]);
    });

    /** Every range of a plan scanned on its own, in plan order. */
    const scanRanges = async (criteria: SearchCriteria, plan: SlicePlan, batchSize?: number): Promise<Post[][]> => {
      const slices: Post[][] = [];
      for (const range of plan.ranges) {
        const rows: Post[] = [];
        for await (const batch of subject.source.scan(criteria, { range, ...(batchSize ? { batchSize } : {}) })) rows.push(...batch);
        slices.push(rows);
      }
      return slices;
    };

    it('slices of a search, scanned one by one in order, are exactly its scan, in about equal parts', async () => {
      for (const criteria of [{}, { q: 'espresso' }, { tags: ['coffee'] }, { userId: 'bob' }] as SearchCriteria[]) {
        const everyRow = (await scanAll(subject.source, criteria)).flat();
        const plan = await subject.source.planSlices(criteria, 4);
        const slices = await scanRanges(criteria, plan, 13);
        expect(plan.total, JSON.stringify(criteria)).toBe(everyRow.length);
        expect(slices.flat(), JSON.stringify(criteria)).toEqual(everyRow);
        if (everyRow.length >= 100) {
          expect(plan.ranges).toHaveLength(4);
          // Equal in SQLite (an index walk); about equal from OpenSearch's approximate percentiles.
          for (const slice of slices) expect(Math.abs(slice.length - everyRow.length / 4)).toBeLessThanOrEqual(everyRow.length / 8);
        }
      }
    });

    it('a plan pins the newest end: a post indexed later with a newer date is in no slice', async () => {
      const plan = await subject.source.planSlices({}, 3);
      const later = post('z-later', '2030-01-01T00:00:00.000Z', 'indexed after the plan');
      await subject.source.indexPosts([later], { refresh: true });
      const slices = await scanRanges({}, plan);
      expect(slices.flat().map((row) => row.id)).not.toContain('z-later');
      expect(slices.flat()).toHaveLength(everything.length);
    });

    it('one slice is the whole scan; a search matching nothing plans no slice', async () => {
      const plan = await subject.source.planSlices({ q: 'espresso' }, 1);
      expect(plan.ranges).toHaveLength(1);
      expect((await scanRanges({ q: 'espresso' }, plan)).flat()).toEqual((await scanAll(subject.source, { q: 'espresso' })).flat());
      expect(await subject.source.planSlices({ userId: 'nobody' }, 4)).toEqual({ total: 0, ranges: [] });
    });

    it('more slices than matches gives at most one slice per match', async () => {
      const everyRow = (await scanAll(subject.source, { q: 'lisbon' })).flat();
      const plan = await subject.source.planSlices({ q: 'lisbon' }, everyRow.length + 5);
      const slices = await scanRanges({ q: 'lisbon' }, plan);
      expect(plan.total).toBe(everyRow.length);
      expect(slices.flat()).toEqual(everyRow);
      // Approximate percentiles may still leave a slice empty: a slice writer copes with no rows.
      expect(slices.length).toBeLessThanOrEqual(everyRow.length);
    });

    it('re-indexing an id replaces the post: no duplicates, old words and tags forgotten', async () => {
      const edited = { ...HAND_MADE[1]!, content: 'Switched to pour-over.', tags: ['brewing'] };
      await subject.source.indexPosts([edited, edited]);
      expect((await subject.source.search({}, { page: 1, pageSize: 1 })).total).toBe(everything.length);
      expect(await hits({ q: 'grinder' })).toEqual([]);
      expect(await hits({ tags: ['coffee'] })).toEqual(['h05', 'h06', 'h03', 'h01']);
      expect((await subject.source.search({ q: 'pour over', tags: ['brewing'] }, { page: 1, pageSize: 5 })).hits).toEqual([edited]);
    });
  });

  describe(`${name}: an import's staging (all or nothing, upsert by id)`, () => {
    let subject: SourceUnderTest;
    const stored = HAND_MADE.slice(0, 4);
    beforeEach(async () => {
      subject = await open();
      await subject.source.indexPosts(stored, { refresh: true });
    });
    afterEach(async () => {
      await subject.cleanup();
    });
    const everyId = async (): Promise<string[]> => ids((await scanAll(subject.source, {})).flat()).sort();
    const fresh = (n: number, content = `staged post ${n}`): Post => post(`imp-a-${n}`, `2025-05-0${n}T10:00:00.000Z`, content, ['staged']);

    it('staged posts are seen by no search, scan or lookup until the commit, then all of them are', async () => {
      await subject.source.stagePosts('imp-a', [fresh(1), fresh(2)]);
      await subject.source.stagePosts('imp-a', [fresh(3)]);
      expect((await subject.source.search({}, { page: 1, pageSize: 20 })).total).toBe(stored.length);
      expect((await subject.source.search({ tags: ['staged'] }, { page: 1, pageSize: 20 })).hits).toEqual([]);
      expect(await everyId()).toEqual(ids(stored).sort());
      expect([...(await subject.source.postsById(['imp-a-1', 'h01'])).keys()]).toEqual(['h01']);

      expect(await subject.source.commitStaged('imp-a')).toEqual({ committed: 3 });
      expect(ids((await subject.source.search({ tags: ['staged'] }, { page: 1, pageSize: 20 })).hits)).toEqual([
        'imp-a-3',
        'imp-a-2',
        'imp-a-1',
      ]);
      expect((await subject.source.postsById(['imp-a-2'])).get('imp-a-2')).toEqual(fresh(2));
    });

    it('an id staged again under the same import is refused as repeated (in the same call or a later one); the first stays', async () => {
      expect(await subject.source.stagePosts('imp-a', [fresh(1), fresh(2), fresh(1, 'the same id, duplicated')])).toEqual({
        rejected: [{ id: 'imp-a-1', reason: expect.any(String), repeated: true }],
      });
      expect(await subject.source.stagePosts('imp-a', [fresh(3), fresh(2, 'duplicated once more')])).toEqual({
        rejected: [{ id: 'imp-a-2', reason: expect.any(String), repeated: true }],
      });
      expect(await subject.source.stagePosts('imp-b', [fresh(1)])).toEqual({ rejected: [] });
      expect(await subject.source.commitStaged('imp-a')).toEqual({ committed: 3 });
      expect((await subject.source.postsById(['imp-a-1', 'imp-a-2'])).get('imp-a-1')).toEqual(fresh(1));
      expect((await subject.source.postsById(['imp-a-2'])).get('imp-a-2')).toEqual(fresh(2));
      expect((await subject.source.search({ q: 'duplicated' }, { page: 1, pageSize: 5 })).total).toBe(0);
    });

    it('a retried task discards its staging and stages again: no false repeats, and committing twice changes nothing', async () => {
      await subject.source.stagePosts('imp-a', [fresh(1, 'first try'), fresh(2)]);
      await subject.source.discardStaged('imp-a');
      expect(await subject.source.stagePosts('imp-a', [fresh(1), fresh(2)])).toEqual({ rejected: [] });
      await subject.source.commitStaged('imp-a');
      expect(await subject.source.commitStaged('imp-a')).toEqual({ committed: 0 });
      expect(await everyId()).toEqual([...ids(stored), 'imp-a-1', 'imp-a-2'].sort());
      expect((await subject.source.search({ q: 'first try' }, { page: 1, pageSize: 5 })).total).toBe(0);
    });

    it('a commit replaces the stored post of the same id (upsert): its old words and tags are forgotten', async () => {
      const edited = { ...HAND_MADE[1]!, content: 'Switched to pour-over.', tags: ['brewing'] };
      await subject.source.stagePosts('imp-b', [edited]);
      expect((await subject.source.postsById([edited.id])).get(edited.id)).toEqual(HAND_MADE[1]);
      await subject.source.commitStaged('imp-b');
      expect(await everyId()).toEqual(ids(stored).sort());
      expect((await subject.source.search({ q: 'grinder' }, { page: 1, pageSize: 5 })).total).toBe(0);
      expect((await subject.source.search({ tags: ['brewing'] }, { page: 1, pageSize: 5 })).hits).toEqual([edited]);
    });

    it("a discarded staging never becomes searchable, and another import's staging is left alone", async () => {
      await subject.source.stagePosts('imp-a', [fresh(1), fresh(2)]);
      await subject.source.stagePosts('imp-c', [post('imp-c-1', '2025-06-01T00:00:00.000Z', 'kept apart')]);
      await subject.source.discardStaged('imp-a');
      expect(await subject.source.commitStaged('imp-a')).toEqual({ committed: 0 });
      expect(await everyId()).toEqual(ids(stored).sort());
      expect(await subject.source.commitStaged('imp-c')).toEqual({ committed: 1 });
      expect(await everyId()).toEqual([...ids(stored), 'imp-c-1'].sort());
    });

    it("a chunked import's chunks stage side by side: a repeat names the chunk holding the id, a retried chunk discards only its own rows, one commit takes them all", async () => {
      expect(await subject.source.stagePosts('imp-a', [fresh(1), fresh(2)], { chunk: 0 })).toEqual({ rejected: [] });
      expect(await subject.source.stagePosts('imp-a', [fresh(3), fresh(1, 'repeated in a later chunk')], { chunk: 1 })).toEqual({
        rejected: [{ id: 'imp-a-1', reason: expect.any(String), repeated: true, stagedBy: 0 }],
      });
      expect(await subject.source.stagePosts('imp-a', [fresh(4, 'first try of chunk 2')], { chunk: 2 })).toEqual({ rejected: [] });
      await subject.source.discardStaged('imp-a', { chunk: 2 });
      expect(await subject.source.stagePosts('imp-a', [fresh(4)], { chunk: 2 })).toEqual({ rejected: [] });
      expect(await subject.source.stagePosts('imp-a', [fresh(3, 'repeated in an earlier chunk')], { chunk: 0 })).toEqual({
        rejected: [{ id: 'imp-a-3', reason: expect.any(String), repeated: true, stagedBy: 1 }],
      });

      expect(await subject.source.commitStaged('imp-a')).toEqual({ committed: 4 });
      expect(await everyId()).toEqual([...ids(stored), 'imp-a-1', 'imp-a-2', 'imp-a-3', 'imp-a-4'].sort());
      expect([...(await subject.source.postsById(['imp-a-1', 'imp-a-3', 'imp-a-4'])).values()]).toEqual([fresh(1), fresh(3), fresh(4)]);
      expect((await subject.source.search({ q: 'try' }, { page: 1, pageSize: 5 })).total).toBe(0);
    });

    it('a commit larger than one bulk request is complete and in order', async () => {
      const many = generatePosts(5000, 2500).map((p) => ({ ...p, id: `imp-big-${p.id}` }));
      await subject.source.stagePosts('imp-big', many);
      expect(await subject.source.commitStaged('imp-big')).toEqual({ committed: many.length });
      expect(await everyId()).toEqual([...ids(stored), ...ids(many)].sort());
    });
  });
}
