import { useCallback, useEffect, useRef, useState } from 'react';
import type { ImportJobView, ImportState } from '../api/types';
import { plainMessage } from '../lib/errors';
import { formatBytes, formatCount, formatUtcDateTime } from '../lib/format';
import { useServices } from '../services';

const PAGE = 25;
/** An import in one of these has not ended: it can be cancelled, and the list is checked again for it. */
const UNDER_WAY: ReadonlySet<ImportState> = new Set(['AWAITING_UPLOAD', 'RUNNING', 'NEEDS_MAPPING']);

const STATUS_WORDS: Record<ImportState, { className: string; label: string }> = {
  AWAITING_UPLOAD: { className: 'running', label: 'Waiting for upload' },
  RUNNING: { className: 'running', label: 'Running' },
  NEEDS_MAPPING: { className: 'running', label: 'Needs column mapping' },
  SUCCEEDED: { className: 'ready', label: 'Succeeded' },
  QUARANTINED: { className: 'failed', label: 'Quarantined' },
  REJECTED: { className: 'failed', label: 'Rejected' },
  FAILED: { className: 'failed', label: 'Failed' },
  CANCELLED: { className: 'expired', label: 'Cancelled' },
  EXPIRED: { className: 'expired', label: 'Expired' },
};

/** The user's imports from the server (`GET /api/imports`, page by page), with cancel, delete and retry. */
export function ImportsPage() {
  const { api, timing } = useServices();
  const [items, setItems] = useState<ImportJobView[]>();
  const [cursor, setCursor] = useState<string>();
  const [problem, setProblem] = useState<string>();
  // Once older pages are shown, the cursor is theirs: refreshing the first page leaves it alone.
  const pagedOn = useRef(false);

  const loadFirst = useCallback(async () => {
    try {
      const page = await api.listImports(PAGE);
      // Pages already shown beyond the first are kept; the first page is the newest state.
      setItems((shown) => {
        const fresh = new Set(page.items.map((item) => item.importId));
        const older = (shown ?? []).slice(PAGE).filter((item) => !fresh.has(item.importId));
        return [...page.items, ...older];
      });
      if (!pagedOn.current) setCursor(page.cursor);
      setProblem(undefined);
    } catch (error) {
      setProblem(`Your imports could not be loaded. ${plainMessage(error)}`);
    }
  }, [api]);

  useEffect(() => {
    void loadFirst();
  }, [loadFirst]);

  const anyUnderWay = items?.some((item) => UNDER_WAY.has(item.status)) ?? false;
  useEffect(() => {
    if (!anyUnderWay) return;
    const timer = setInterval(() => void loadFirst(), timing.maxMs);
    return () => clearInterval(timer);
  }, [anyUnderWay, loadFirst, timing.maxMs]);

  const loadMore = async () => {
    if (!cursor) return;
    try {
      const page = await api.listImports(PAGE, cursor);
      pagedOn.current = true;
      setItems((shown) => [...(shown ?? []), ...page.items.filter((item) => !shown?.some((s) => s.importId === item.importId))]);
      setCursor(page.cursor);
    } catch (error) {
      setProblem(`More imports could not be loaded. ${plainMessage(error)}`);
    }
  };

  const act = async (action: () => Promise<unknown>) => {
    setProblem(undefined);
    try {
      await action();
      await loadFirst();
    } catch (error) {
      setProblem(plainMessage(error));
    }
  };
  const remove = (importId: string) =>
    act(async () => {
      await api.deleteImport(importId);
      setItems((shown) => shown?.filter((item) => item.importId !== importId || UNDER_WAY.has(item.status)));
    });

  return (
    <div className="imports-page">
      <h1 tabIndex={-1}>Imports</h1>
      <p className="muted">
        Every file you imported, newest first, kept on the server. Times are in UTC. <a href="#/import">Import more files</a>
      </p>
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      {items === undefined ? (
        <p className="muted">Loading…</p>
      ) : items.length === 0 ? (
        <p className="muted">Files you import appear here.</p>
      ) : (
        <ul className="export-list" aria-label="Imports">
          {items.map((item) => (
            <ImportItem
              key={item.importId}
              item={item}
              onCancel={() => void act(() => api.deleteImport(item.importId))}
              onDelete={() => void remove(item.importId)}
              onRetry={() => void act(() => api.retryImport(item.importId))}
            />
          ))}
        </ul>
      )}
      {cursor && (
        <button type="button" className="button small" onClick={() => void loadMore()}>
          Show older imports
        </button>
      )}
    </div>
  );
}

function ImportItem({ item, onCancel, onDelete, onRetry }: { item: ImportJobView; onCancel: () => void; onDelete: () => void; onRetry: () => void }) {
  const words = STATUS_WORDS[item.status];
  const underWay = UNDER_WAY.has(item.status);
  return (
    <li className="export-item" aria-label={`Import of ${item.fileName}`}>
      <div className="export-head">
        <span className="export-title">{item.fileName}</span>
        <span className={`badge ${words.className}`}>{words.label}</span>
      </div>
      <div className="muted small">
        {formatBytes(item.size)} · {formatUtcDateTime(item.createdAt)}
        {item.finishedAt && <> · ended {formatUtcDateTime(item.finishedAt)}</>}
        {item.dryRun && <> · dry run</>}
      </div>
      <div className="export-body small" aria-live="polite">
        {underWay && <progress aria-label={`Import of ${item.fileName} in progress`} />}
        <RowCounts item={item} />
        {item.reason && item.status !== 'SUCCEEDED' && <span className={item.status === 'CANCELLED' ? 'muted' : 'error'}> {item.reason}</span>}
      </div>
      <div className="export-actions">
        {item.errorReportUrl && (
          <a className="button small" href={item.errorReportUrl} download>
            Rejected-rows report
          </a>
        )}
        {item.status === 'FAILED' && (
          <button type="button" className="button small" aria-label={`Retry ${item.fileName}`} onClick={onRetry}>
            Retry
          </button>
        )}
        {underWay ? (
          <button type="button" className="button small" aria-label={`Cancel ${item.fileName}`} onClick={onCancel}>
            Cancel
          </button>
        ) : (
          <button type="button" className="button small" aria-label={`Delete ${item.fileName}`} onClick={onDelete}>
            Delete
          </button>
        )}
      </div>
    </li>
  );
}

function RowCounts({ item }: { item: ImportJobView }) {
  const parts = [
    item.rowsCreated !== undefined ? `${formatCount(item.rowsCreated)} created` : undefined,
    item.rowsUpdated !== undefined ? `${formatCount(item.rowsUpdated)} updated` : undefined,
    item.rowsUnchanged !== undefined ? `${formatCount(item.rowsUnchanged)} unchanged` : undefined,
    item.rowsRejected !== undefined ? `${formatCount(item.rowsRejected)} rejected` : undefined,
  ].filter(Boolean);
  if (parts.length === 0) return null;
  return <span>Rows: {parts.join(', ')}.</span>;
}
