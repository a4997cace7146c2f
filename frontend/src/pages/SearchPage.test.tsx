import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Post, SearchResult } from '../api/types';
import { FakeApi, renderSignedIn } from '../test/fakes';
import { SearchPage } from './SearchPage';

const POST: Post = {
  id: 'p-1',
  userId: 'maximiliana_the_third_of_harbourtown',
  dateCreated: '2024-06-01T14:30:00+02:00',
  content: 'Harbour at dawn',
  tags: ['travel'],
};

/** A search API that answers every query with `total` hits (the first page holds POST) and records the queries. */
function searchApi(total = 1) {
  const queries: URLSearchParams[] = [];
  const api = new FakeApi().on('GET', /^\/search\?/, (call) => {
    const query = new URLSearchParams(call.path.slice(call.path.indexOf('?') + 1));
    queries.push(query);
    const result: SearchResult = { total, page: Number(query.get('page')), pageSize: Number(query.get('pageSize')), hits: total ? [POST] : [] };
    return { body: result };
  });
  return { api, queries };
}

const exportButton = () => screen.getByRole('button', { name: /^export results/i });
const lastQuery = (queries: URLSearchParams[]) => Object.fromEntries(queries.at(-1) ?? []);

beforeEach(() => {
  window.location.hash = '';
});
afterEach(() => {
  window.location.hash = '';
});

describe('the search page keeps its search in the URL', () => {
  it('puts a submitted search into the address, page 1 left out', async () => {
    const { api, queries } = searchApi();
    renderSignedIn(<SearchPage />, { api });
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Text'), 'harbour dawn');
    await user.type(screen.getByLabelText('Tags'), 'travel, sea');
    await user.type(screen.getByLabelText('From (UTC)'), '2024-05-01');
    await user.click(screen.getByRole('button', { name: 'Search' }));

    expect(window.location.hash).toBe('#/?q=harbour+dawn&tags=travel%2C+sea&from=2024-05-01');
    await waitFor(() => expect(lastQuery(queries)).toMatchObject({ q: 'harbour dawn', tags: 'travel,sea', from: '2024-05-01', page: '1' }));
  });

  it('opened with a search in the address (a reload), shows that search, its page and page size', async () => {
    window.location.hash = '#/?q=harbour&userId=alice&page=3&pageSize=50';
    const { api, queries } = searchApi(500);
    renderSignedIn(<SearchPage />, { api });

    await waitFor(() => expect(lastQuery(queries)).toEqual({ q: 'harbour', userId: 'alice', page: '3', pageSize: '50' }));
    expect(screen.getByLabelText('Text')).toHaveValue('harbour');
    expect(screen.getByLabelText('Author')).toHaveValue('alice');
    expect(screen.getByRole('combobox', { name: /per page/i })).toHaveValue('50');
    expect(await screen.findByText('Page 3 of 10')).toBeInTheDocument();
  });

  it('goes back to the previous search, form included, with Back', async () => {
    const { api, queries } = searchApi();
    renderSignedIn(<SearchPage />, { api });
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Text'), 'first');
    await user.click(screen.getByRole('button', { name: 'Search' }));
    await user.clear(screen.getByLabelText('Text'));
    await user.type(screen.getByLabelText('Text'), 'second');
    await user.click(screen.getByRole('button', { name: 'Search' }));
    await waitFor(() => expect(lastQuery(queries).q).toBe('second'));

    await act(async () => {
      window.history.back();
      await new Promise((resolve) => window.addEventListener('hashchange', resolve, { once: true }));
    });

    expect(window.location.hash).toBe('#/?q=first');
    await waitFor(() => expect(lastQuery(queries).q).toBe('first'));
    expect(screen.getByLabelText('Text')).toHaveValue('first');
  });

  it('runs the search shown again when Search is pressed without a change', async () => {
    window.location.hash = '#/?q=harbour';
    const { api, queries } = searchApi();
    renderSignedIn(<SearchPage />, { api });
    await waitFor(() => expect(queries).toHaveLength(1));
    await userEvent.setup().click(screen.getByRole('button', { name: 'Search' }));
    await waitFor(() => expect(queries).toHaveLength(2));
    expect(lastQuery(queries).q).toBe('harbour');
    expect(window.location.hash).toBe('#/?q=harbour');
  });

  it('records the next page in the address', async () => {
    window.location.hash = '#/?q=harbour';
    const { api, queries } = searchApi(100);
    renderSignedIn(<SearchPage />, { api });
    await screen.findByText('Page 1 of 5');
    await userEvent.setup().click(screen.getByRole('button', { name: 'Next →' }));
    expect(window.location.hash).toBe('#/?q=harbour&page=2');
    await waitFor(() => expect(lastQuery(queries).page).toBe('2'));
  });
});

describe('Export on the search page', () => {
  it('is disabled for an empty search, saying what to do', async () => {
    const { api } = searchApi(50_000);
    renderSignedIn(<SearchPage />, { api });
    await screen.findByText('50,000 posts found');
    expect(exportButton()).toBeDisabled();
    expect(exportButton()).toHaveAccessibleDescription(/search for something first/i);
  });

  it('is disabled when the search matches nothing', async () => {
    window.location.hash = '#/?q=zzz';
    const { api } = searchApi(0);
    renderSignedIn(<SearchPage />, { api });
    await screen.findByText('0 posts found');
    expect(exportButton()).toBeDisabled();
    expect(exportButton()).toHaveAccessibleDescription(/nothing to export/i);
  });

  it('is disabled when the server refuses the search as invalid', async () => {
    window.location.hash = '#/?from=2024-06-02&to=2024-06-01';
    const api = new FakeApi().on('GET', /^\/search\?/, { status: 400, body: { message: 'from: must not be after to', field: 'from' } });
    renderSignedIn(<SearchPage />, { api });
    expect(await screen.findByRole('alert')).toHaveTextContent(/must not be after to/);
    expect(exportButton()).toBeDisabled();
    expect(exportButton()).toHaveAccessibleDescription(/fix the search first/i);
  });

  it('is enabled for a search that found posts', async () => {
    window.location.hash = '#/?q=harbour';
    const { api } = searchApi(12);
    renderSignedIn(<SearchPage />, { api });
    await screen.findByText('12 posts found');
    expect(exportButton()).toBeEnabled();
    expect(exportButton()).toHaveTextContent('Export results (12)');
  });
});

describe('dates on the search page', () => {
  it('are written YYYY-MM-DD in UTC in the date fields and in the table, which both say so', async () => {
    window.location.hash = '#/?q=harbour';
    const { api } = searchApi();
    renderSignedIn(<SearchPage />, { api });
    const table = await screen.findByRole('table');
    expect(within(table).getByRole('columnheader', { name: 'Date (UTC)' })).toBeInTheDocument();
    // 14:30 at +02:00 is 12:30 UTC.
    expect(await within(table).findByText('2024-06-01 12:30 UTC')).toBeInTheDocument();
    for (const label of ['From (UTC)', 'To (UTC)']) {
      expect(screen.getByLabelText(label)).toHaveAttribute('placeholder', 'YYYY-MM-DD');
      expect(screen.getByLabelText(label)).toHaveAccessibleDescription(/YYYY-MM-DD, whole days in UTC/);
    }
  });

  it('that are not days, or a From after the To, are named at the field and nothing is searched', async () => {
    const { api, queries } = searchApi();
    renderSignedIn(<SearchPage />, { api });
    await waitFor(() => expect(queries).toHaveLength(1));
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('To (UTC)'), '2024-02-30');
    await user.click(screen.getByRole('button', { name: 'Search' }));
    expect(screen.getByLabelText('To (UTC)')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByLabelText('To (UTC)')).toHaveAccessibleDescription(/write the date as YYYY-MM-DD/i);
    expect(screen.getByLabelText('To (UTC)')).toHaveFocus();

    await user.clear(screen.getByLabelText('To (UTC)'));
    await user.type(screen.getByLabelText('To (UTC)'), '2024-05-01');
    await user.type(screen.getByLabelText('From (UTC)'), '2024-06-01');
    await user.click(screen.getByRole('button', { name: 'Search' }));
    expect(screen.getByLabelText('From (UTC)')).toHaveAccessibleDescription(/from must be on or before to/i);
    expect(queries).toHaveLength(1);
    expect(window.location.hash).toBe('');
  });
});

describe('the search page styles', () => {
  // Read from the file: vitest hands CSS imports to the test as empty.
  const styles = readFileSync(join(import.meta.dirname, '..', 'styles.css'), 'utf8');
  const withStyles = () => {
    const style = document.createElement('style');
    style.textContent = styles;
    document.head.append(style);
    return () => style.remove();
  };

  it('wrap a long author name in its cell instead of cutting it off', async () => {
    const remove = withStyles();
    try {
      window.location.hash = '#/?q=harbour';
      const { api } = searchApi();
      renderSignedIn(<SearchPage />, { api });
      const cell = await screen.findByText(POST.userId);
      const style = getComputedStyle(cell);
      expect(style.overflow).toBe('visible');
      expect(style.overflowWrap).toBe('anywhere');
    } finally {
      remove();
    }
  });
});
