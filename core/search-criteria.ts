/**
 * What a search means, in one place. Both SearchSource adapters (SQLite locally, OpenSearch in
 * AWS) implement exactly these rules, so the same criteria give the same rows, in the same order:
 *
 * - `q`: words, produced by `wordsOf` only — for the stored posts of both stores and for queries, so
 *   the stores cannot drift apart (neither store's own analyzer is used). A word is a maximal run of
 *   Unicode letters, combining marks and digits of the NFC-normalised text; everything else
 *   (punctuation, symbols, emoji and their modifiers, whitespace) only separates words. Words are
 *   lowercased per code point (String#toLowerCase on NFC text, which is also what full case folding
 *   gives for "İ": "i̇") and every final sigma "ς" becomes "σ" (as case folding does), so "ΟΔΟΣ",
 *   "οδος" and "οδοσ" are one word. Matching is exact per word (no stemming, no prefixes, no stop
 *   words, accents kept: "café" ≠ "cafe"), and a post matches when EVERY word of `q` is one of the
 *   words of its `content` (AND). A word longer than MAX_WORD_LENGTH is not indexed, so it matches
 *   nothing. A `q` with no words at all ("", "!!!") does not filter.
 * - `tags`: the post carries ALL given tags, compared exactly (case-sensitive).
 * - `userId`: exact.
 * - `from` / `to`: inclusive bounds on the instant `dateCreated` denotes. A date-only value is a UTC
 *   day: `from=2024-05-01` means 2024-05-01T00:00:00.000Z and `to=2024-05-01` means the END of that
 *   day, 2024-05-01T23:59:59.999Z. Bounds are compared at millisecond precision.
 * - Order: newest first — `dateCreated` instant descending, then `id` descending (code-unit/bytewise
 *   order, which both stores use for ties).
 * - Pages: `page` is 1-based; page × pageSize may not exceed MAX_RESULT_WINDOW (OpenSearch's default
 *   `max_result_window`); deeper reads are what exports (`scan`) are for.
 */
import * as z from 'zod';
import { InvalidInput } from './errors';
import { PageRequestSchema, SearchCriteriaSchema, type PageRequest, type Post, type SearchCriteria } from './model';
import type { ScanRange, SortKey } from './ports';

/** The deepest row a page may reach; matches OpenSearch's default `index.max_result_window`. */
export const MAX_RESULT_WINDOW = 10_000;

/** What is NOT part of a word, as a regular expression source (JS, `u` flag). */
export const NON_WORD_PATTERN = '[^\\p{L}\\p{M}\\p{N}]+';
const NON_WORD = new RegExp(NON_WORD_PATTERN, 'u');

/**
 * Longest word indexed, in UTF-16 code units. OpenSearch refuses a document holding a keyword term over
 * 32,766 UTF-8 bytes; 8,191 code units are at most 24,573 bytes. Longer words are left out of both stores.
 */
export const MAX_WORD_LENGTH = 8191;

/** Text of ASCII only: NFC leaves it as it is and its letters, marks and digits are exactly A-Z, a-z and 0-9. */
// eslint-disable-next-line no-control-regex -- control characters are ASCII too, and separate words
const ASCII_ONLY = /^[\x00-\x7f]*$/;
const NON_ASCII_WORD = /[^a-z0-9]+/;

/** The words of a text, normalised as described above, in order (duplicates kept). */
export function wordsOf(text: string): string[] {
  // The same words by a shorter path for ASCII text (most posts): 1.6× faster per post than the Unicode split.
  if (ASCII_ONLY.test(text)) return text.toLowerCase().split(NON_ASCII_WORD).filter((word) => word.length > 0);
  return text
    .normalize('NFC')
    .toLowerCase()
    .replaceAll('ς', 'σ')
    .split(NON_WORD)
    .filter((word) => word.length > 0);
}

/** The distinct words a post is found by: what both stores index for its content. */
export function postWordsOf(content: string): string[] {
  return [...new Set(wordsOf(content))].filter((word) => word.length <= MAX_WORD_LENGTH);
}

/** The distinct words `q` requires; empty when `q` is absent or has no words. */
export function queryWords(q: string | undefined): string[] {
  return q === undefined ? [] : [...new Set(wordsOf(q))];
}

/** Distinct tags required, in the order given; empty when absent. */
export function requiredTags(tags: string[] | undefined): string[] {
  return [...new Set(tags ?? [])];
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** A `from` bound as a UTC ISO instant with milliseconds (date-only: start of that UTC day). */
export function normaliseFrom(from: string): string {
  return DATE_ONLY.test(from) ? `${from}T00:00:00.000Z` : new Date(from).toISOString();
}

/** A `to` bound as a UTC ISO instant with milliseconds (date-only: the last millisecond of that UTC day). */
export function normaliseTo(to: string): string {
  return DATE_ONLY.test(to) ? `${to}T23:59:59.999Z` : new Date(to).toISOString();
}

export interface DateBounds {
  /** Inclusive lower bound, UTC ISO with milliseconds. */
  from?: string;
  /** Inclusive upper bound, UTC ISO with milliseconds. */
  to?: string;
}

export function dateBoundsOf(criteria: SearchCriteria): DateBounds {
  return {
    ...(criteria.from !== undefined ? { from: normaliseFrom(criteria.from) } : {}),
    ...(criteria.to !== undefined ? { to: normaliseTo(criteria.to) } : {}),
  };
}

/** Milliseconds since the epoch of an ISO 8601 date-time (with offset); NaN when it is not one. */
export const instantOf = (isoDateTime: string): number => Date.parse(isoDateTime);

/**
 * Newest first: dateCreated instant descending, then id descending. A comparator for Array#sort,
 * usable by in-memory fakes of SearchSource.
 */
export function compareNewestFirst(a: Post, b: Post): number {
  const byDate = instantOf(b.dateCreated) - instantOf(a.dateCreated);
  if (byDate !== 0) return byDate;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** A post's place in the newest-first order. */
export const sortKeyOf = (post: Post): SortKey => ({ createdMs: instantOf(post.dateCreated), id: post.id });

/** Negative when `a` comes first (is newer) in the newest-first order, positive when it comes after, 0 when equal. */
export function compareKeys(a: SortKey, b: SortKey): number {
  if (a.createdMs !== b.createdMs) return b.createdMs - a.createdMs;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** Is the post at `key` inside `range` (ScanRange in core/ports.ts)? */
export const inRange = (key: SortKey, range: ScanRange): boolean =>
  (range.after === undefined || compareKeys(key, range.after) > 0) && (range.through === undefined || compareKeys(key, range.through) <= 0);

/**
 * Where a sliced scan starts so that nothing newer than the newest match at planning is read: (its instant
 * + 1 ms, ''), which every post of that instant or older comes after.
 */
export const justBefore = (newest: SortKey): SortKey => ({ createdMs: newest.createdMs + 1, id: '' });

/**
 * Adjacent ranges from `start`, each up to and including the next boundary, the last to the oldest. A boundary
 * not strictly after the one before it (approximate percentiles can repeat) is dropped: no range is empty by design.
 */
export function rangesBetween(start: SortKey, boundaries: readonly SortKey[]): ScanRange[] {
  const ranges: ScanRange[] = [];
  let after = start;
  for (const through of boundaries) {
    if (compareKeys(through, after) <= 0) continue;
    ranges.push({ after, through });
    after = through;
  }
  ranges.push({ after });
  return ranges;
}

/**
 * The reference predicate: does `post` satisfy `criteria`? The stores implement this with indexes;
 * in-memory fakes and tests can use it directly.
 */
export function matchesCriteria(post: Post, criteria: SearchCriteria): boolean {
  if (criteria.userId !== undefined && post.userId !== criteria.userId) return false;
  const tags = requiredTags(criteria.tags);
  if (!tags.every((tag) => post.tags.includes(tag))) return false;
  const { from, to } = dateBoundsOf(criteria);
  const created = instantOf(post.dateCreated);
  if (from !== undefined && created < instantOf(from)) return false;
  if (to !== undefined && created > instantOf(to)) return false;
  const words = queryWords(criteria.q);
  if (words.length > 0) {
    const contentWords = new Set(postWordsOf(post.content));
    if (!words.every((word) => contentWords.has(word))) return false;
  }
  return true;
}

/** Rows to skip before a page; throws when the page reaches past MAX_RESULT_WINDOW. */
export function offsetOf(page: PageRequest): number {
  if (page.page * page.pageSize > MAX_RESULT_WINDOW) {
    throw new InvalidInput(
      `page: pages reach at most ${MAX_RESULT_WINDOW} rows deep (page × pageSize); export the results to read further`,
      'page',
    );
  }
  return (page.page - 1) * page.pageSize;
}

/**
 * Rules zod cannot express field by field: `from` may not be after `to`. Returns the criteria unchanged.
 * `fieldPrefix` names where the criteria sit in a body (`searchCriteria` in an export request).
 */
export function checkCriteria(criteria: SearchCriteria, fieldPrefix = ''): SearchCriteria {
  const { from, to } = dateBoundsOf(criteria);
  if (from !== undefined && to !== undefined && instantOf(from) > instantOf(to)) {
    const field = fieldPrefix ? `${fieldPrefix}.from` : 'from';
    throw new InvalidInput(`${field}: must not be after to (${criteria.from} > ${criteria.to})`, field);
  }
  return criteria;
}

function invalidInputFrom(error: z.ZodError): InvalidInput {
  const issue = error.issues[0];
  const field = issue?.path[0] !== undefined ? String(issue.path[0]) : undefined;
  const message = issue ? `${field ?? 'query'}: ${issue.message}` : 'invalid search';
  return new InvalidInput(message, field);
}

/** An absent or empty query-string value is the same thing: not given. */
const given = (value: string | undefined): string | undefined => (value === undefined || value.trim() === '' ? undefined : value);

/**
 * Parses the query string of `GET /api/search?q=&tags=&userId=&from=&to=&page=&pageSize=`.
 * `tags` is comma-separated; empty values mean absent; unknown parameters are ignored.
 * Throws InvalidInput naming the bad field.
 */
export function criteriaFromQuery(params: Record<string, string | undefined>): {
  criteria: SearchCriteria;
  page: PageRequest;
} {
  const tagList = given(params.tags)
    ?.split(',')
    .map((tag) => tag.trim())
    .filter((tag) => tag.length > 0);
  const raw = {
    q: given(params.q),
    tags: tagList && tagList.length > 0 ? tagList : undefined,
    userId: given(params.userId),
    from: given(params.from)?.trim(),
    to: given(params.to)?.trim(),
  };
  const criteria = SearchCriteriaSchema.safeParse(Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== undefined)));
  if (!criteria.success) throw invalidInputFrom(criteria.error);

  const page = PageRequestSchema.safeParse({ page: given(params.page), pageSize: given(params.pageSize) });
  if (!page.success) throw invalidInputFrom(page.error);

  offsetOf(page.data);
  return { criteria: checkCriteria(criteria.data), page: page.data };
}
