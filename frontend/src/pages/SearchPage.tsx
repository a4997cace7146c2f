import { useCallback, useEffect, useId, useMemo, useRef, useState, type FormEvent } from 'react';
import type { SearchCriteria, SearchResult } from '../api/types';
import { ExportMenu } from '../components/ExportMenu';
import { ExportsPanel } from '../components/ExportsPanel';
import { plainMessage } from '../lib/errors';
import { formatCount, formatUtcDateTime } from '../lib/format';
import {
  EMPTY_FORM,
  PAGE_SIZES,
  dateProblems,
  hashOfSearchState,
  searchStateOfHash,
  type SearchForm,
  type SearchState,
} from '../lib/search-url';
import { useServices } from '../services';

type FormState = SearchForm;

/** Search pages reach at most this deep (the server's result window); exports have no limit. */
const MAX_BROWSABLE_ROWS = 10_000;

export function criteriaOf(form: FormState): SearchCriteria {
  const tags = form.tags
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  return {
    ...(form.q.trim() ? { q: form.q.trim() } : {}),
    ...(tags.length ? { tags } : {}),
    ...(form.userId.trim() ? { userId: form.userId.trim() } : {}),
    ...(form.from.trim() ? { from: form.from.trim() } : {}),
    ...(form.to.trim() ? { to: form.to.trim() } : {}),
  };
}

/**
 * The search the URL holds, and a way to go to another one (a new history entry, so Back returns); going
 * to the search already shown answers false.
 */
function useSearchUrl(): [SearchState, string, (state: SearchState) => boolean] {
  const [hash, setHash] = useState(() => window.location.hash);
  useEffect(() => {
    const onChange = () => setHash(window.location.hash);
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  const state = useMemo(() => searchStateOfHash(hash), [hash]);
  const go = useCallback((next: SearchState) => {
    const nextHash = hashOfSearchState(next);
    if (nextHash === window.location.hash || (nextHash === '#/' && window.location.hash === '')) return false;
    window.location.hash = nextHash;
    setHash(window.location.hash);
    return true;
  }, []);
  return [state, hash, go];
}

/** Why Export cannot start for this search, in plain words; undefined when it can. */
function exportBlockedBecause(criteria: SearchCriteria, result: SearchResult | undefined, error: string | undefined): string | undefined {
  if (error) return 'Export needs a search that works: fix the search first.';
  if (Object.keys(criteria).length === 0) return 'Search for something first (words, tags, an author or dates), then export what it finds.';
  if (result && result.total === 0) return 'Nothing to export: no posts match this search.';
  return undefined;
}

export function SearchPage() {
  const { api } = useServices();
  const [url, hash, go] = useSearchUrl();
  const { page, pageSize } = url;
  const [form, setForm] = useState<FormState>(url.form);
  const [problems, setProblems] = useState<ReturnType<typeof dateProblems>>({});
  // The URL's search is the one shown: criteria change only when the URL does (submit, Back, reload).
  const criteria = useMemo(() => criteriaOf(url.form), [url.form]);
  const [result, setResult] = useState<SearchResult>();
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string>();
  // Bumped when Search is pressed for the search already shown: it runs again, as before it was in the URL.
  const [runs, setRuns] = useState(0);
  const id = useId();
  const resultsRef = useRef<HTMLElement>(null);

  // Back and Forward bring the form back to the search they show.
  useEffect(() => {
    setForm(url.form);
    setProblems({});
  }, [hash, url.form]);

  useEffect(() => {
    const abort = new AbortController();
    setLoading(true);
    setError(undefined);
    api
      .search(criteria, page, pageSize, abort.signal)
      .then((r) => setResult(r))
      .catch((e: unknown) => {
        if (!abort.signal.aborted) setError(plainMessage(e));
      })
      .finally(() => {
        if (!abort.signal.aborted) setLoading(false);
      });
    return () => abort.abort();
  }, [api, criteria, page, pageSize, runs]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found = dateProblems(form);
    setProblems(found);
    const first = (['from', 'to'] as const).find((name) => found[name]);
    if (first) {
      document.getElementById(`${id}-${first}`)?.focus();
      return;
    }
    if (!go({ form, page: 1, pageSize })) setRuns((n) => n + 1);
  };

  const field = (name: keyof FormState) => ({
    id: `${id}-${name}`,
    name,
    value: form[name],
    onChange: (e: { target: { value: string } }) => setForm((f) => ({ ...f, [name]: e.target.value })),
  });

  // Skeletons as many as the rows they stand in for, so nothing below moves when results arrive.
  const skeletonRows = result && result.hits.length > 0 ? Math.min(result.hits.length, pageSize) : pageSize;
  const pages = result ? Math.max(1, Math.min(Math.ceil(result.total / result.pageSize), Math.floor(MAX_BROWSABLE_ROWS / pageSize))) : 1;
  const capped = result !== undefined && result.total > MAX_BROWSABLE_ROWS;
  const goTo = (p: number) => {
    go({ ...url, page: p });
    resultsRef.current?.focus();
  };
  const blocked = exportBlockedBecause(criteria, loading ? undefined : result, loading ? undefined : error);
  const dateField = (name: 'from' | 'to') => ({
    ...field(name),
    placeholder: 'YYYY-MM-DD',
    autoComplete: 'off',
    'aria-invalid': problems[name] ? true : undefined,
    'aria-describedby': problems[name] ? `${id}-${name}-problem ${id}-dates-hint` : `${id}-dates-hint`,
  });

  return (
    <div className="search-layout">
      <div className="search-main">
        <h1 tabIndex={-1}>Search posts</h1>
        <form className="card search-form" role="search" onSubmit={submit}>
          <div className="field wide">
            <label htmlFor={`${id}-q`}>Text</label>
            <input type="search" placeholder="Words in the post" {...field('q')} />
          </div>
          <div className="field">
            <label htmlFor={`${id}-tags`}>Tags</label>
            <input placeholder="e.g. travel, food" aria-describedby={`${id}-tags-hint`} {...field('tags')} />
            <span id={`${id}-tags-hint`} className="hint small">
              Separate tags with commas
            </span>
          </div>
          <div className="field">
            <label htmlFor={`${id}-userId`}>Author</label>
            <input placeholder="User id" autoComplete="off" {...field('userId')} />
          </div>
          <div className="field">
            <label htmlFor={`${id}-from`}>From (UTC)</label>
            <input {...dateField('from')} />
            {problems.from && (
              <span id={`${id}-from-problem`} className="field-problem small">
                {problems.from}
              </span>
            )}
          </div>
          <div className="field">
            <label htmlFor={`${id}-to`}>To (UTC)</label>
            <input {...dateField('to')} />
            {problems.to && (
              <span id={`${id}-to-problem`} className="field-problem small">
                {problems.to}
              </span>
            )}
          </div>
          <p id={`${id}-dates-hint`} className="hint small dates-hint">
            Dates are YYYY-MM-DD, whole days in UTC (the time zone of the dates below), both included.
          </p>
          <div className="form-actions">
            <button type="submit" className="button primary">
              Search
            </button>
            <button
              type="button"
              className="button"
              onClick={() => {
                setForm(EMPTY_FORM);
                setProblems({});
                go({ form: EMPTY_FORM, page: 1, pageSize });
              }}
            >
              Clear
            </button>
          </div>
        </form>

        <div className="results-toolbar">
          <p className="results-summary" aria-live="polite" aria-atomic="true">
            {loading ? 'Searching…' : error ? '' : result ? `${formatCount(result.total)} ${result.total === 1 ? 'post' : 'posts'} found` : ''}
          </p>
          <ExportMenu criteria={criteria} total={error ? undefined : result?.total} {...(blocked ? { unavailable: blocked } : {})} />
        </div>

        <section ref={resultsRef} tabIndex={-1} className="results" aria-label="Search results" aria-busy={loading}>
          {error ? (
            <p className="error" role="alert">
              The search did not work. {error}
            </p>
          ) : (
            <table className="results-table">
              <thead>
                <tr>
                  <th scope="col">Date (UTC)</th>
                  <th scope="col">Author</th>
                  <th scope="col">Post</th>
                  <th scope="col">Tags</th>
                </tr>
              </thead>
              <tbody>
                {loading || !result
                  ? Array.from({ length: skeletonRows }, (_, i) => (
                      <tr key={i} className="skeleton-row" aria-hidden="true">
                        <td><span className="skeleton" /></td>
                        <td><span className="skeleton" /></td>
                        <td><span className="skeleton" /></td>
                        <td><span className="skeleton" /></td>
                      </tr>
                    ))
                  : result.hits.map((post) => (
                      <tr key={post.id}>
                        <td data-label="Date">
                          <time dateTime={post.dateCreated}>{formatUtcDateTime(post.dateCreated)}</time>
                        </td>
                        <td data-label="Author" className="author-cell">
                          {post.userId}
                        </td>
                        <td data-label="Post" className="content-cell">
                          <span className="clamp">{post.content}</span>
                        </td>
                        <td data-label="Tags">
                          {post.tags.map((tag) => (
                            <span key={tag} className="tag">
                              {tag}
                            </span>
                          ))}
                        </td>
                      </tr>
                    ))}
                {!loading && result && result.hits.length === 0 && (
                  <tr>
                    <td colSpan={4} className="muted">
                      No posts match. Try fewer words or a wider date range.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          )}
        </section>

        <nav className="pagination" aria-label="Result pages">
          <button type="button" className="button" disabled={loading || page <= 1} onClick={() => goTo(page - 1)}>
            ← Previous
          </button>
          <span>
            Page {page} of {formatCount(pages)}
          </span>
          <button type="button" className="button" disabled={loading || page >= pages} onClick={() => goTo(page + 1)}>
            Next →
          </button>
          {capped && (
            <span className="muted small">Browsing stops at {formatCount(MAX_BROWSABLE_ROWS)} posts; export the results to get them all.</span>
          )}
          <label className="page-size">
            Per page{' '}
            <select
              value={pageSize}
              onChange={(e) => go({ ...url, page: 1, pageSize: Number(e.target.value) })}
            >
              {PAGE_SIZES.map((n) => (
                <option key={n}>{n}</option>
              ))}
            </select>
          </label>
        </nav>
      </div>
      <aside className="search-aside">
        <ExportsPanel />
      </aside>
    </div>
  );
}
