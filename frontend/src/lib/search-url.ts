/**
 * The search page's state in the URL (`#/?q=…&tags=…&userId=…&from=…&to=…&page=2&pageSize=50`), so a reload
 * keeps the search and Back returns to the previous one. Dates are UTC days written YYYY-MM-DD, as the
 * server reads them and as the results table writes its dates.
 */

export interface SearchForm {
  q: string;
  tags: string;
  userId: string;
  from: string;
  to: string;
}

export interface SearchState {
  form: SearchForm;
  page: number;
  pageSize: number;
}

export const EMPTY_FORM: SearchForm = { q: '', tags: '', userId: '', from: '', to: '' };
export const PAGE_SIZES = [20, 50, 100] as const;
const DEFAULT_PAGE_SIZE = 20;

/** The query part of a `#/?…` hash; empty for any other hash. */
const queryOfHash = (hash: string): URLSearchParams => {
  const at = hash.indexOf('?');
  return new URLSearchParams(hash.startsWith('#/') && at >= 0 ? hash.slice(at + 1) : '');
};

/** What the URL says, with anything unreadable (a page of "x", an unknown page size) back at its default. */
export function searchStateOfHash(hash: string): SearchState {
  const query = queryOfHash(hash);
  const text = (name: keyof SearchForm) => query.get(name) ?? '';
  const page = Number(query.get('page'));
  const pageSize = Number(query.get('pageSize'));
  return {
    form: { q: text('q'), tags: text('tags'), userId: text('userId'), from: text('from'), to: text('to') },
    page: Number.isInteger(page) && page >= 1 ? page : 1,
    pageSize: (PAGE_SIZES as readonly number[]).includes(pageSize) ? pageSize : DEFAULT_PAGE_SIZE,
  };
}

/** The hash of a search state: empty fields, page 1 and the default page size left out. */
export function hashOfSearchState({ form, page, pageSize }: SearchState): string {
  const query = new URLSearchParams();
  for (const name of ['q', 'tags', 'userId', 'from', 'to'] as const) {
    const value = form[name].trim();
    if (value) query.set(name, value);
  }
  if (page !== 1) query.set('page', String(page));
  if (pageSize !== DEFAULT_PAGE_SIZE) query.set('pageSize', String(pageSize));
  const text = query.toString();
  return text ? `#/?${text}` : '#/';
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Is this a real calendar day written YYYY-MM-DD? */
export function isDay(value: string): boolean {
  const match = DAY.exec(value);
  if (!match) return false;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return date.toISOString().slice(0, 10) === value;
}

/** What is wrong with the form's dates, per field, in plain words; empty when nothing is. */
export function dateProblems(form: SearchForm): Partial<Record<'from' | 'to', string>> {
  const problems: Partial<Record<'from' | 'to', string>> = {};
  const from = form.from.trim();
  const to = form.to.trim();
  if (from && !isDay(from)) problems.from = 'Write the date as YYYY-MM-DD, e.g. 2024-05-01.';
  if (to && !isDay(to)) problems.to = 'Write the date as YYYY-MM-DD, e.g. 2024-05-31.';
  if (!problems.from && !problems.to && from && to && from > to) problems.from = 'From must be on or before To.';
  return problems;
}
