import { describe, expect, it } from 'vitest';
import { EMPTY_FORM, dateProblems, hashOfSearchState, isDay, searchStateOfHash } from './search-url';

describe('the search in the address', () => {
  it('round-trips every field, the page and the page size', () => {
    const state = { form: { q: 'café au lait', tags: 'food, drink', userId: 'alice', from: '2024-05-01', to: '2024-05-31' }, page: 4, pageSize: 100 };
    expect(searchStateOfHash(hashOfSearchState(state))).toEqual(state);
  });

  it('leaves empty fields, page 1 and the default page size out', () => {
    expect(hashOfSearchState({ form: EMPTY_FORM, page: 1, pageSize: 20 })).toBe('#/');
    expect(hashOfSearchState({ form: { ...EMPTY_FORM, q: '  sea  ' }, page: 1, pageSize: 20 })).toBe('#/?q=sea');
  });

  it('reads an unusable page or page size as the default, and another page of the app as no search', () => {
    expect(searchStateOfHash('#/?q=x&page=-2&pageSize=7')).toEqual({ form: { ...EMPTY_FORM, q: 'x' }, page: 1, pageSize: 20 });
    expect(searchStateOfHash('#/?page=2.5')).toMatchObject({ page: 1 });
    expect(searchStateOfHash('#/import')).toEqual({ form: EMPTY_FORM, page: 1, pageSize: 20 });
    expect(searchStateOfHash('')).toEqual({ form: EMPTY_FORM, page: 1, pageSize: 20 });
  });
});

describe('dates in the search form', () => {
  it('are days written YYYY-MM-DD that exist on the calendar', () => {
    expect(['2024-02-29', '2023-12-31'].map(isDay)).toEqual([true, true]);
    expect(['2023-02-29', '2024-13-01', '01/05/2024', '2024-5-1', ''].map(isDay)).toEqual([false, false, false, false, false]);
  });

  it('are named when malformed, and From when it is after To', () => {
    expect(dateProblems({ ...EMPTY_FORM, from: 'May 1st' })).toEqual({ from: expect.stringMatching(/YYYY-MM-DD/) });
    expect(dateProblems({ ...EMPTY_FORM, from: '2024-06-02', to: '2024-06-01' })).toEqual({ from: 'From must be on or before To.' });
    expect(dateProblems({ ...EMPTY_FORM, from: '2024-06-01', to: '2024-06-01' })).toEqual({});
  });
});
