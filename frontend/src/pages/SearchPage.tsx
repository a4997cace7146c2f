import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import type { SearchCriteria, SearchResult } from '../api/types';
import { ExportMenu } from '../components/ExportMenu';
import { ExportsPanel } from '../components/ExportsPanel';
import { plainMessage } from '../lib/errors';
import { formatCount, formatDateTime } from '../lib/format';
import { useServices } from '../services';

interface FormState {
  q: string;
  tags: string;
  userId: string;
  from: string;
  to: string;
}

/** Search pages reach at most this deep (the server's result window); exports have no limit. */
const MAX_BROWSABLE_ROWS = 10_000;

const EMPTY: FormState = { q: '', tags: '', userId: '', from: '', to: '' };

export function criteriaOf(form: FormState): SearchCriteria {
  const tags = form.tags
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  return {
    ...(form.q.trim() ? { q: form.q.trim() } : {}),
    ...(tags.length ? { tags } : {}),
    ...(form.userId.trim() ? { userId: form.userId.trim() } : {}),
    ...(form.from ? { from: form.from } : {}),
    ...(form.to ? { to: form.to } : {}),
  };
}

export function SearchPage() {
  const { api } = useServices();
  const [form, setForm] = useState<FormState>(EMPTY);
  const [criteria, setCriteria] = useState<SearchCriteria>({});
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState(20);
  const [result, setResult] = useState<SearchResult>();
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string>();
  const id = useId();
  const resultsRef = useRef<HTMLElement>(null);

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
  }, [api, criteria, page, pageSize]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setPage(1);
    setCriteria(criteriaOf(form));
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
    setPage(p);
    resultsRef.current?.focus();
  };

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
            <label htmlFor={`${id}-from`}>From</label>
            <input type="date" {...field('from')} />
          </div>
          <div className="field">
            <label htmlFor={`${id}-to`}>To</label>
            <input type="date" {...field('to')} />
          </div>
          <div className="form-actions">
            <button type="submit" className="button primary">
              Search
            </button>
            <button
              type="button"
              className="button"
              onClick={() => {
                setForm(EMPTY);
                setPage(1);
                setCriteria({});
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
          <ExportMenu criteria={criteria} total={result?.total} />
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
                  <th scope="col">Date</th>
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
                          <time dateTime={post.dateCreated}>{formatDateTime(post.dateCreated)}</time>
                        </td>
                        <td data-label="Author">{post.userId}</td>
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
              onChange={(e) => {
                setPage(1);
                setPageSize(Number(e.target.value));
              }}
            >
              {[20, 50, 100].map((n) => (
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
