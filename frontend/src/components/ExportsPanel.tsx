import { useState, type FormEvent } from 'react';
import type { DeliveryType, ExportProgress, SearchCriteria } from '../api/types';
import type { ExportRecord } from '../exports/store';
import { plainMessage } from '../lib/errors';
import { elapsedText, expiryText, expiryWithDate, formatBytes, formatCount, formatUtcDateTime } from '../lib/format';
import { useExports, useNow, useUser } from '../services';

/** How each delivery is named wherever the app lists exports. */
export const DELIVERY: Record<DeliveryType, string> = { direct: 'Download', email: 'Email link', push: 'Notify here' };

/** The exports beside search: the same list as the Exports page, from the server. */
export function ExportsPanel() {
  return (
    <section className="card exports-panel" aria-labelledby="exports-heading">
      <h2 id="exports-heading">Exports</h2>
      <ExportsList />
      <p className="small">
        <a href="#/exports">All exports</a>
      </p>
    </section>
  );
}

/** The user's exports and those shared with them, with live status and every action the server allows. */
export function ExportsList({ first }: { first?: string }) {
  const all = useExports();
  const now = useNow(15_000);
  if (all.length === 0) return <p className="muted">Exports you start appear here.</p>;
  // The export a link named (`#/exports/{exportId}`) comes first.
  const exports = first ? [...all.filter((r) => r.exportId === first), ...all.filter((r) => r.exportId !== first)] : all;
  return (
    <ul className="export-list">
      {exports.map((record) => (
        <ExportItem key={record.executionArn} record={record} now={now} />
      ))}
    </ul>
  );
}

type Shown = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'EXPIRED';

/** The status to show: the tracker's live one, refined by the job's own (queued, cancelled, expired). */
export function shownStatus(record: ExportRecord, now: number): Shown {
  if (record.status === 'RUNNING') return record.jobStatus === 'QUEUED' ? 'QUEUED' : 'RUNNING';
  if (record.status === 'FAILED') return record.jobStatus === 'CANCELLED' ? 'CANCELLED' : 'FAILED';
  if (record.jobStatus === 'EXPIRED' || (record.expiresAt && expiryText(record.expiresAt, now) === 'expired')) return 'EXPIRED';
  return 'SUCCEEDED';
}

const BADGES: Record<Shown, { className: string; label: string }> = {
  QUEUED: { className: 'running', label: 'Queued' },
  RUNNING: { className: 'running', label: 'Running' },
  SUCCEEDED: { className: 'ready', label: 'Ready' },
  FAILED: { className: 'failed', label: 'Failed' },
  CANCELLED: { className: 'expired', label: 'Cancelled' },
  EXPIRED: { className: 'expired', label: 'Expired' },
};

function ExportItem({ record, now }: { record: ExportRecord; now: number }) {
  const { exports: store } = useUser();
  const [problem, setProblem] = useState<string>();
  const [note, setNote] = useState<string>();
  const [sharing, setSharing] = useState(false);
  const status = shownStatus(record, now);
  const running = status === 'RUNNING' || status === 'QUEUED';
  const owned = !record.sharedBy;
  const rows = record.rowCount !== undefined ? `${formatCount(record.rowCount)} ${record.rowCount === 1 ? 'row' : 'rows'}` : undefined;
  const title = record.searchSummary ?? describeCriteria(record.criteria);
  const badge = BADGES[status];

  const act = async (action: () => Promise<unknown>) => {
    setProblem(undefined);
    setNote(undefined);
    try {
      await action();
    } catch (error) {
      setProblem(plainMessage(error));
    }
  };
  const copyLink = () =>
    act(async () => {
      const url = await store.freshLink(record.executionArn);
      if (!url) throw new Error('The file is no longer available');
      await navigator.clipboard.writeText(url);
      setNote('Link copied.');
    });

  return (
    <li className="export-item" aria-label={`Export of ${title}`}>
      <div className="export-head">
        <span className="export-title">{title}</span>
        <span className={`badge ${badge.className}`}>{badge.label}</span>
      </div>
      <div className="muted small">
        {DELIVERY[record.delivery]} · {formatUtcDateTime(record.requestedAt)}
        {record.emailedTo && <> · to {record.emailedTo}</>}
        {record.sharedBy && <> · shared by {record.sharedBy}</>}
      </div>
      <div className="export-body" aria-live="polite">
        {running && (
          <>
            <RunningProgress progress={record.progress} />
            <span className="small">
              {status === 'QUEUED' ? 'Waiting to start' : `Running for ${elapsedText(record.requestedAt, now)}`}
              {progressText(record.progress) ?? (rows && <>, {rows} so far</>)}
              {record.checkProblem && <> · {record.checkProblem}</>}
            </span>
          </>
        )}
        {(status === 'SUCCEEDED' || status === 'EXPIRED') && (
          <span className="small">
            {[rows, record.bytes !== undefined ? formatBytes(record.bytes) : undefined, record.expiresAt ? expiryWithDate(record.expiresAt, now) : undefined]
              .filter(Boolean)
              .join(' · ')}
          </span>
        )}
        {status === 'FAILED' && <span className="small error">{record.error ?? 'The export failed.'}</span>}
        {status === 'CANCELLED' && <span className="small muted">{record.error ?? 'The export was cancelled.'}</span>}
      </div>
      {owned && record.sharedWith && record.sharedWith.length > 0 && (
        <ul className="share-list small" aria-label="Shared with">
          {record.sharedWith.map((username) => (
            <li key={username}>
              Shared with {username}{' '}
              <button
                type="button"
                className="link-button"
                aria-label={`Stop sharing with ${username}`}
                onClick={() => void act(() => store.unshare(record.executionArn, username))}
              >
                Stop sharing
              </button>
            </li>
          ))}
        </ul>
      )}
      {sharing && (
        <ShareForm
          onShare={(usernames) =>
            act(async () => {
              await store.share(record.executionArn, usernames);
              setSharing(false);
            })
          }
          onClose={() => setSharing(false)}
        />
      )}
      <div className="export-actions">
        {status === 'SUCCEEDED' && record.url && (
          <a className="button primary small" href={record.url} download>
            Download
          </a>
        )}
        {status === 'SUCCEEDED' && record.exportId && (
          <button type="button" className="button small" aria-label={`Copy link of ${title}`} onClick={() => void copyLink()}>
            Copy link
          </button>
        )}
        {owned && record.exportId && !sharing && (status === 'SUCCEEDED' || running) && (
          <button type="button" className="button small" aria-label={`Share ${title}`} onClick={() => setSharing(true)}>
            Share
          </button>
        )}
        {owned && running && record.exportId && (
          <button type="button" className="button small" aria-label={`Cancel ${title}`} onClick={() => void act(() => store.cancel(record.executionArn))}>
            Cancel
          </button>
        )}
        {!running && (
          <button
            type="button"
            className="button small"
            aria-label={`${owned ? 'Delete' : 'Hide'} ${title}`}
            onClick={() => void act(() => store.remove(record.executionArn))}
          >
            {owned ? 'Delete' : 'Hide'}
          </button>
        )}
      </div>
      {note && <p className="small success">{note}</p>}
      {problem && (
        <p className="small error" role="alert">
          {problem}
        </p>
      )}
    </li>
  );
}

function ShareForm({ onShare, onClose }: { onShare: (usernames: string[]) => Promise<void>; onClose: () => void }) {
  const [text, setText] = useState('');
  const usernames = text
    .split(/[\s,]+/)
    .map((name) => name.trim())
    .filter(Boolean);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (usernames.length > 0) void onShare(usernames);
  };
  return (
    <form className="share-form" aria-label="Share export" onSubmit={submit}>
      <label className="small">
        Share with (usernames, comma-separated){' '}
        <input value={text} onChange={(event) => setText(event.target.value)} autoFocus />
      </label>
      <button type="submit" className="button primary small" disabled={usernames.length === 0}>
        Share
      </button>
      <button type="button" className="button small" onClick={onClose}>
        Close
      </button>
    </form>
  );
}

/** Determinate once the export knows how many rows it will write; indeterminate otherwise. */
function RunningProgress({ progress }: { progress?: ExportProgress }) {
  const total = totalOf(progress);
  if (!progress || total === undefined) return <progress aria-label="Export in progress" />;
  return <progress aria-label="Export in progress" max={total} value={progress.rowsWritten} />;
}

/** ", 12,345 of 50,000 rows" (or ", 12,345 rows so far" without a total); undefined before any progress. */
function progressText(progress?: ExportProgress): string | undefined {
  if (!progress) return undefined;
  const total = totalOf(progress);
  const written = formatCount(progress.rowsWritten);
  if (total !== undefined) return `, ${written} of ${formatCount(total)} rows`;
  return `, ${written} ${progress.rowsWritten === 1 ? 'row' : 'rows'} so far`;
}

/** The total may be approximate (OpenSearch counts it), so it is never shown below the rows already written. */
function totalOf(progress?: ExportProgress): number | undefined {
  if (progress?.totalRows === undefined || progress.totalRows <= 0) return undefined;
  return Math.max(progress.totalRows, progress.rowsWritten);
}

export function describeCriteria(criteria: SearchCriteria): string {
  const parts: string[] = [];
  if (criteria.q) parts.push(`“${criteria.q}”`);
  if (criteria.tags?.length) parts.push(`tags ${criteria.tags.join(', ')}`);
  if (criteria.userId) parts.push(`by ${criteria.userId}`);
  if (criteria.from || criteria.to) parts.push(`${criteria.from ?? '…'} to ${criteria.to ?? '…'}`);
  return parts.length ? parts.join(' · ') : 'all posts';
}
