import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../../core/errors';
import type { Post } from '../../core/model';
import {
  MAX_RESULT_WINDOW,
  MAX_WORD_LENGTH,
  compareNewestFirst,
  criteriaFromQuery,
  dateBoundsOf,
  matchesCriteria,
  normaliseFrom,
  normaliseTo,
  postWordsOf,
  queryWords,
  wordsOf,
} from '../../core/search-criteria';

function invalidFieldOf(params: Record<string, string | undefined>): string | undefined {
  try {
    criteriaFromQuery(params);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInput);
    return (error as InvalidInput).field;
  }
  throw new Error(`expected ${JSON.stringify(params)} to be rejected`);
}

const post = (overrides: Partial<Post>): Post => ({
  id: 'post-1',
  userId: 'alice',
  dateCreated: '2025-03-10T12:00:00.000Z',
  content: '',
  tags: [],
  ...overrides,
});

describe('criteriaFromQuery: the query string of GET /api/search', () => {
  it('no parameters mean no filter, the first page of 20', () => {
    expect(criteriaFromQuery({})).toEqual({ criteria: {}, page: { page: 1, pageSize: 20 } });
  });

  it('empty and blank values mean absent', () => {
    const parsed = criteriaFromQuery({ q: '', tags: ' ', userId: '', from: '', to: '', page: '', pageSize: '' });
    expect(parsed).toEqual({ criteria: {}, page: { page: 1, pageSize: 20 } });
  });

  it('reads every field, tags comma-separated with blanks dropped', () => {
    const parsed = criteriaFromQuery({
      q: '  espresso grinder ',
      tags: 'coffee, til,,',
      userId: 'alice',
      from: '2025-01-01',
      to: '2025-01-31T10:00:00+02:00',
      page: '3',
      pageSize: '50',
    });
    expect(parsed).toEqual({
      criteria: { q: 'espresso grinder', tags: ['coffee', 'til'], userId: 'alice', from: '2025-01-01', to: '2025-01-31T10:00:00+02:00' },
      page: { page: 3, pageSize: 50 },
    });
  });

  it('ignores parameters it does not know', () => {
    expect(criteriaFromQuery({ q: 'x', _: '12345' }).criteria).toEqual({ q: 'x' });
  });

  it.each([
    [{ page: '0' }, 'page'],
    [{ page: 'two' }, 'page'],
    [{ pageSize: '101' }, 'pageSize'],
    [{ pageSize: '1.5' }, 'pageSize'],
    [{ from: 'yesterday' }, 'from'],
    [{ to: '2025-13-01' }, 'to'],
    [{ tags: Array.from({ length: 21 }, (_, i) => `t${i}`).join(',') }, 'tags'],
    [{ q: 'x'.repeat(501) }, 'q'],
    [{ userId: 'u'.repeat(201) }, 'userId'],
  ])('rejects %j naming the field %s', (params, field) => {
    expect(invalidFieldOf(params)).toBe(field);
  });

  it('rejects a from after to, naming from', () => {
    expect(invalidFieldOf({ from: '2025-02-01', to: '2025-01-31' })).toBe('from');
  });

  it('accepts from and to on the same day (the whole day)', () => {
    expect(criteriaFromQuery({ from: '2025-02-01', to: '2025-02-01' }).criteria).toEqual({ from: '2025-02-01', to: '2025-02-01' });
  });

  it(`rejects pages reaching past ${MAX_RESULT_WINDOW} rows, naming page`, () => {
    expect(criteriaFromQuery({ page: '100', pageSize: '100' }).page).toEqual({ page: 100, pageSize: 100 });
    expect(invalidFieldOf({ page: '101', pageSize: '100' })).toBe('page');
  });

  it('names the field in the message too', () => {
    expect(() => criteriaFromQuery({ pageSize: '0' })).toThrow(/^pageSize: /);
  });
});

describe('date bounds', () => {
  it('a date-only from is the start of that UTC day', () => {
    expect(normaliseFrom('2025-02-01')).toBe('2025-02-01T00:00:00.000Z');
  });

  it('a date-only to is the last millisecond of that UTC day (inclusive)', () => {
    expect(normaliseTo('2025-02-01')).toBe('2025-02-01T23:59:59.999Z');
  });

  it('date-times with an offset become the same instant in UTC', () => {
    expect(normaliseFrom('2025-02-01T01:30:00+02:00')).toBe('2025-01-31T23:30:00.000Z');
    expect(normaliseTo('2025-02-01T01:30:00.250-05:00')).toBe('2025-02-01T06:30:00.250Z');
  });

  it('absent bounds stay absent', () => {
    expect(dateBoundsOf({ from: '2025-02-01' })).toEqual({ from: '2025-02-01T00:00:00.000Z' });
    expect(dateBoundsOf({})).toEqual({});
  });
});

describe('words', () => {
  it('are runs of letters and digits, lowercased; punctuation only separates', () => {
    expect(wordsOf('Hot take: the "Cold-Brew" is GREAT, isn\'t it? 3.14 foo_bar')).toEqual([
      'hot',
      'take',
      'the',
      'cold',
      'brew',
      'is',
      'great',
      'isn',
      't',
      'it',
      '3',
      '14',
      'foo',
      'bar',
    ]);
  });

  it('of a text of ASCII only are the words the same text has beside a non-ASCII word (the ASCII path agrees)', () => {
    const ascii = ' \t\x00Tide_DECK-42~a|b\x7f{Cargo}9 ';
    expect(wordsOf(ascii)).toEqual(['tide', 'deck', '42', 'a', 'b', 'cargo', '9']);
    expect(wordsOf(`${ascii} é`)).toEqual([...wordsOf(ascii), 'é']);
    expect(wordsOf('...')).toEqual([]);
  });

  it('keep accents and non-Latin letters', () => {
    expect(wordsOf('Café CRÈME, Straße; кофе')).toEqual(['café', 'crème', 'straße', 'кофе']);
  });

  it('are NFC-normalised, lowercased per code point, with every final sigma folded to σ', () => {
    expect(wordsOf('cafe\u0301')).toEqual(['café']);
    expect(wordsOf('İstanbul')).toEqual(['i\u0307stanbul']);
    expect(wordsOf('ΟΔΟΣ οδος οδοσ')).toEqual(['οδοσ', 'οδοσ', 'οδοσ']);
    expect(wordsOf('ᲗᲑᲘᲚᲘᲡᲘ ᏣᎳᎩ')).toEqual(['თბილისი', 'ꮳꮃꭹ']);
    expect(wordsOf('great👍🏽job 👨‍👩‍👧')).toEqual(['great', 'job']);
    expect(wordsOf('a'.repeat(300))).toEqual(['a'.repeat(300)]);
  });

  it('of a post are distinct and leave out words longer than MAX_WORD_LENGTH (OpenSearch refuses immense terms)', () => {
    expect(postWordsOf('Ferry ferry FERRY at dawn')).toEqual(['ferry', 'at', 'dawn']);
    const immense = 'ж'.repeat(MAX_WORD_LENGTH + 1);
    expect(postWordsOf(`short ${immense} ${'ж'.repeat(MAX_WORD_LENGTH)}`)).toEqual(['short', 'ж'.repeat(MAX_WORD_LENGTH)]);
    // The longest kept word fits a keyword term in UTF-8 even at 3 bytes per code unit.
    expect(Buffer.byteLength('中'.repeat(MAX_WORD_LENGTH))).toBeLessThanOrEqual(32_766);
    expect(matchesCriteria(post({ content: `x ${immense}` }), { q: immense })).toBe(false);
  });

  it('of a query are distinct, and a query of punctuation has none', () => {
    expect(queryWords('Espresso espresso, GRINDER')).toEqual(['espresso', 'grinder']);
    expect(queryWords('!!! ...')).toEqual([]);
    expect(queryWords(undefined)).toEqual([]);
  });
});

describe('matchesCriteria: the reference both stores implement', () => {
  const target = post({ content: 'Just tried a great Espresso, at the corner café.', tags: ['coffee', 'til'] });

  it('q requires every word, in any case and order, punctuation ignored', () => {
    expect(matchesCriteria(target, { q: 'espresso CAFÉ' })).toBe(true);
    expect(matchesCriteria(target, { q: 'corner, espresso!' })).toBe(true);
    expect(matchesCriteria(target, { q: 'espresso grinder' })).toBe(false);
  });

  it('q matches whole words only: no prefixes, no stemming, accents matter', () => {
    expect(matchesCriteria(target, { q: 'espress' })).toBe(false);
    expect(matchesCriteria(target, { q: 'tries' })).toBe(false);
    expect(matchesCriteria(target, { q: 'cafe' })).toBe(false);
  });

  it('a q without words does not filter', () => {
    expect(matchesCriteria(target, { q: '?!' })).toBe(true);
  });

  it('tags require all given tags, exactly', () => {
    expect(matchesCriteria(target, { tags: ['coffee'] })).toBe(true);
    expect(matchesCriteria(target, { tags: ['coffee', 'til'] })).toBe(true);
    expect(matchesCriteria(target, { tags: ['coffee', 'travel'] })).toBe(false);
    expect(matchesCriteria(target, { tags: ['Coffee'] })).toBe(false);
  });

  it('userId is exact', () => {
    expect(matchesCriteria(target, { userId: 'alice' })).toBe(true);
    expect(matchesCriteria(target, { userId: 'Alice' })).toBe(false);
  });

  it('from and to are inclusive, date-only to covers the whole day', () => {
    const at = (dateCreated: string) => post({ dateCreated });
    expect(matchesCriteria(at('2025-03-10T00:00:00.000Z'), { from: '2025-03-10' })).toBe(true);
    expect(matchesCriteria(at('2025-03-09T23:59:59.999Z'), { from: '2025-03-10' })).toBe(false);
    expect(matchesCriteria(at('2025-03-10T23:59:59.999Z'), { to: '2025-03-10' })).toBe(true);
    expect(matchesCriteria(at('2025-03-11T00:00:00.000Z'), { to: '2025-03-10' })).toBe(false);
    // 01:00 at +02:00 is 23:00 UTC the day before.
    expect(matchesCriteria(at('2025-03-11T01:00:00.000+02:00'), { to: '2025-03-10' })).toBe(true);
  });
});

describe('compareNewestFirst', () => {
  it('orders by instant descending (offsets honoured), then id descending', () => {
    const posts = [
      post({ id: 'a', dateCreated: '2025-01-01T10:00:00.000Z' }),
      post({ id: 'b', dateCreated: '2025-01-01T11:30:00.000+02:00' }), // 09:30Z
      post({ id: 'c', dateCreated: '2025-01-01T10:00:00.000Z' }),
      post({ id: 'd', dateCreated: '2025-01-02T00:00:00.000Z' }),
    ];
    expect([...posts].sort(compareNewestFirst).map((p) => p.id)).toEqual(['d', 'c', 'a', 'b']);
  });
});
