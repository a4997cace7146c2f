import { useCallback, useEffect, useState } from 'react';
import type { AuditEntry, AuditPage, FailedExecution, QuarantinedFile } from '../api/types';
import { DELIVERY, describeCriteria } from '../components/ExportsPanel';
import { Spinner } from '../components/Spinner';
import { ApiError, plainMessage } from '../lib/errors';
import { formatCount, formatDateTime } from '../lib/format';
import { useServices, useUser } from '../services';

type Load<T> = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; data: T };

function useLoad<T>(load: () => Promise<T>): [Load<T>, () => void] {
  const [value, setValue] = useState<Load<T>>({ state: 'loading' });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let live = true;
    setValue({ state: 'loading' });
    load().then(
      (data) => live && setValue({ state: 'ready', data }),
      (error: unknown) => live && setValue({ state: 'error', message: listProblem(error) }),
    );
    return () => {
      live = false;
    };
  }, [load, attempt]);
  return [value, useCallback(() => setAttempt((a) => a + 1), [])];
}

/** A list that cannot be fetched at all is not "expired" like a missing item: say what is wrong with the list. */
function listProblem(error: unknown): string {
  if (error instanceof ApiError && error.status === 404) return 'This list is not available on this server.';
  return plainMessage(error);
}

const KIND: Record<AuditEntry['kind'], string> = { export: 'Export', import: 'Import' };

/** SUCCEEDED → Succeeded: the workflow's status names, read as words. */
const outcomeText = (outcome: string) => outcome.charAt(0) + outcome.slice(1).toLowerCase().replace(/_/g, ' ');

export function AdminPage() {
  const { user } = useUser();
  if (!user.claims.groups.includes('admin')) {
    return (
      <>
        <h1 tabIndex={-1}>Admin</h1>
        <p className="error" role="alert">
          This page is for administrators. Ask an administrator if you need access.
        </p>
      </>
    );
  }
  return (
    <div className="admin-page stack">
      <h1 tabIndex={-1}>Admin</h1>
      <FailedExecutions />
      <Quarantine />
      <AuditLog />
    </div>
  );
}

function Loading({ what }: { what: string }) {
  return (
    <p className="status-line" role="status">
      <Spinner /> Loading {what}…
    </p>
  );
}

function Problem({ message, retry }: { message: string; retry: () => void }) {
  return (
    <p className="error" role="alert">
      {message}{' '}
      <button type="button" className="button small" onClick={retry}>
        Try again
      </button>
    </p>
  );
}

function Quarantine() {
  const { api } = useServices();
  const [files, reload] = useLoad(useCallback(() => api.quarantine(), [api]));
  return (
    <section className="card" aria-labelledby="quarantine-heading">
      <h2 id="quarantine-heading">Quarantined files</h2>
      {files.state === 'loading' && <Loading what="quarantined files" />}
      {files.state === 'error' && <Problem message={files.message} retry={reload} />}
      {files.state === 'ready' &&
        (files.data.length === 0 ? (
          <p className="muted">Nothing is in quarantine.</p>
        ) : (
          <div className="table-scroll">
            <table className="data-table">
              <thead>
                <tr>
                  <th scope="col">File</th>
                  <th scope="col">Uploaded by</th>
                  <th scope="col">Signature</th>
                  <th scope="col">When</th>
                </tr>
              </thead>
              <tbody>
                {files.data.map((file: QuarantinedFile, i) => (
                  <tr key={file.importId ?? i}>
                    <td data-label="File">{file.fileName ?? file.importId ?? '—'}</td>
                    <td data-label="Uploaded by">{file.username ?? file.userId ?? '—'}</td>
                    <td data-label="Signature">{file.signature ?? '—'}</td>
                    <td data-label="When">{file.quarantinedAt ? formatDateTime(file.quarantinedAt) : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
    </section>
  );
}

function FailedExecutions() {
  const { api } = useServices();
  const [executions, reload] = useLoad(useCallback(() => api.failedExecutions(), [api]));
  // Per failed execution: the Retry in flight, the retry's ARN once started, or the problem.
  const [retry, setRetry] = useState<
    Record<string, { state: 'pending' } | { state: 'started'; executionArn: string } | { state: 'error'; message: string }>
  >({});

  const start = async (execution: FailedExecution) => {
    setRetry((r) => ({ ...r, [execution.executionArn]: { state: 'pending' } }));
    try {
      const { executionArn } = await api.retry(execution.executionArn);
      setRetry((r) => ({ ...r, [execution.executionArn]: { state: 'started', executionArn } }));
    } catch (error) {
      setRetry((r) => ({ ...r, [execution.executionArn]: { state: 'error', message: plainMessage(error) } }));
    }
  };

  return (
    <section className="card" aria-labelledby="failed-heading">
      <h2 id="failed-heading">Failed executions</h2>
      {executions.state === 'loading' && <Loading what="failed executions" />}
      {executions.state === 'error' && <Problem message={executions.message} retry={reload} />}
      {executions.state === 'ready' &&
        (executions.data.length === 0 ? (
          <p className="muted">No failed executions.</p>
        ) : (
          <div className="table-scroll">
            <table className="data-table">
              <thead>
                <tr>
                  <th scope="col">Execution</th>
                  <th scope="col">Failed at</th>
                  <th scope="col">Error</th>
                  <th scope="col">
                    <span className="visually-hidden">Action</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {executions.data.map((execution) => {
                  const attempt = retry[execution.executionArn];
                  const name = shortName(execution.executionArn);
                  return (
                    <tr key={execution.executionArn}>
                      <td data-label="Execution" className="mono" title={execution.executionArn}>
                        {execution.workflow && <strong>{execution.workflow} </strong>}
                        {name}
                      </td>
                      <td data-label="Failed at">{execution.stopDate ? formatDateTime(execution.stopDate) : '—'}</td>
                      <td data-label="Error">{[execution.error, execution.cause].filter(Boolean).join(': ') || '—'}</td>
                      <td aria-live="polite">
                        {attempt?.state === 'started' ? (
                          <span className="success" title={attempt.executionArn}>
                            Retried as <span className="mono">{shortName(attempt.executionArn)}</span>
                          </span>
                        ) : (
                          <>
                            <button
                              type="button"
                              className="button small"
                              disabled={attempt?.state === 'pending'}
                              onClick={() => void start(execution)}
                            >
                              {attempt?.state === 'pending' ? 'Retrying…' : 'Retry'}
                              <span className="visually-hidden"> {name}</span>
                            </button>
                            {attempt?.state === 'error' && <span className="error small"> {attempt.message}</span>}
                          </>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        ))}
    </section>
  );
}

function AuditLog() {
  const { api } = useServices();
  // Cursors of the pages seen so far, so "Newer" can go back without the server keeping state.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const [page, reload] = useLoad<AuditPage>(useCallback(() => api.audit(cursor), [api, cursor]));

  return (
    <section className="card" aria-labelledby="audit-heading">
      <h2 id="audit-heading">Audit log</h2>
      {page.state === 'loading' && <Loading what="the audit log" />}
      {page.state === 'error' && <Problem message={page.message} retry={reload} />}
      {page.state === 'ready' &&
        (page.data.entries.length === 0 ? (
          <p className="muted">No activity recorded yet.</p>
        ) : (
          <div className="table-scroll">
            <table className="data-table">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">What</th>
                  <th scope="col">Rows</th>
                  <th scope="col">Outcome</th>
                </tr>
              </thead>
              <tbody>
                {page.data.entries.map((entry) => (
                  <tr key={entry.id}>
                    <td data-label="When">{formatDateTime(entry.recordedAt ?? entry.requestedAt)}</td>
                    <td data-label="Who">{entry.username ?? entry.userId}</td>
                    <td data-label="What">
                      {KIND[entry.kind] ?? entry.kind}
                      {entry.kind === 'export' && entry.delivery && <> · {DELIVERY[entry.delivery] ?? entry.delivery}</>}
                      {entry.searchCriteria && <div className="muted small">{describeCriteria(entry.searchCriteria)}</div>}
                    </td>
                    <td data-label="Rows">{entry.rowCount !== undefined ? formatCount(entry.rowCount) : '—'}</td>
                    <td data-label="Outcome">
                      {outcomeText(entry.outcome)}
                      {entry.error && <span className="muted small"> {entry.error}</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      <nav className="pagination" aria-label="Audit log pages">
        <button
          type="button"
          className="button"
          disabled={cursors.length <= 1 || page.state === 'loading'}
          onClick={() => setCursors((c) => c.slice(0, -1))}
        >
          ← Newer
        </button>
        <span>Page {cursors.length}</span>
        <button
          type="button"
          className="button"
          disabled={page.state !== 'ready' || !page.data.nextCursor}
          onClick={() => page.state === 'ready' && setCursors((c) => [...c, page.data.nextCursor])}
        >
          Older →
        </button>
      </nav>
    </section>
  );
}

/** `<machine>:<name>` of an execution ARN. */
const shortName = (executionArn: string): string => executionArn.split(':').slice(-2).join(':');
