import type { DeliveryType, ExportProgress, SearchCriteria } from '../api/types';
import type { ExportRecord } from '../exports/store';
import { elapsedText, expiryText, formatCount, formatDateTime } from '../lib/format';
import { useExports, useNow, useUser } from '../services';

/** How each delivery is named wherever the app lists exports. */
export const DELIVERY: Record<DeliveryType, string> = { direct: 'Download', email: 'Email link', push: 'Notify here' };

/** This session's exports with live status; the tracker keeps running ones up to date. */
export function ExportsPanel() {
  const exports = useExports();
  const { exports: store } = useUser();
  const now = useNow(15_000);

  return (
    <section className="card exports-panel" aria-labelledby="exports-heading">
      <h2 id="exports-heading">Exports</h2>
      {exports.length === 0 ? (
        <p className="muted">Exports you start appear here.</p>
      ) : (
        <ul className="export-list">
          {exports.map((record) => (
            <ExportItem key={record.executionArn} record={record} now={now} onRemove={() => store.remove(record.executionArn)} />
          ))}
        </ul>
      )}
    </section>
  );
}

function ExportItem({ record, now, onRemove }: { record: ExportRecord; now: number; onRemove: () => void }) {
  const expiry = record.expiresAt ? expiryText(record.expiresAt, now) : '';
  const expired = expiry === 'expired';
  const rows = record.rowCount !== undefined ? `${formatCount(record.rowCount)} ${record.rowCount === 1 ? 'row' : 'rows'}` : undefined;
  const title = describeCriteria(record.criteria);

  return (
    <li className="export-item" aria-label={`Export of ${title}`}>
      <div className="export-head">
        <span className="export-title">{title}</span>
        <StatusBadge record={record} expired={expired} />
      </div>
      <div className="muted small">
        {DELIVERY[record.delivery]} · {formatDateTime(record.requestedAt)}
        {record.emailedTo && <> · to {record.emailedTo}</>}
      </div>
      <div className="export-body" aria-live="polite">
        {record.status === 'RUNNING' && (
          <>
            <RunningProgress progress={record.progress} />
            <span className="small">
              Running for {elapsedText(record.requestedAt, now)}
              {progressText(record.progress) ?? (rows && <>, {rows} so far</>)}
              {record.checkProblem && <> · {record.checkProblem}</>}
            </span>
          </>
        )}
        {record.status === 'SUCCEEDED' && (
          <span className="small">
            {rows}
            {expiry && <> · {expiry}</>}
          </span>
        )}
        {record.status === 'FAILED' && <span className="small error">{record.error ?? 'The export failed.'}</span>}
      </div>
      <div className="export-actions">
        {record.status === 'SUCCEEDED' && record.url && !expired && (
          <a className="button primary small" href={record.url} download>
            Download
          </a>
        )}
        {record.status !== 'RUNNING' && (
          <button type="button" className="button small" onClick={onRemove}>
            Remove<span className="visually-hidden"> {title}</span>
          </button>
        )}
      </div>
    </li>
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

function StatusBadge({ record, expired }: { record: ExportRecord; expired: boolean }) {
  if (record.status === 'RUNNING') return <span className="badge running">Running</span>;
  if (record.status === 'FAILED') return <span className="badge failed">Failed</span>;
  if (expired) return <span className="badge expired">Expired</span>;
  return <span className="badge ready">Ready</span>;
}

export function describeCriteria(criteria: SearchCriteria): string {
  const parts: string[] = [];
  if (criteria.q) parts.push(`“${criteria.q}”`);
  if (criteria.tags?.length) parts.push(`tags ${criteria.tags.join(', ')}`);
  if (criteria.userId) parts.push(`by ${criteria.userId}`);
  if (criteria.from || criteria.to) parts.push(`${criteria.from ?? '…'} to ${criteria.to ?? '…'}`);
  return parts.length ? parts.join(' · ') : 'all posts';
}
