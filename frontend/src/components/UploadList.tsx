import { useState } from 'react';
import type { ImportField, ImportMapping, ImportPreview } from '../api/types';
import type { UploadItem } from '../imports/queue';
import { formatBytes, formatCount } from '../lib/format';
import { Spinner } from './Spinner';

type OnMap = (item: UploadItem, mapping: ImportMapping) => void;
type OnRetry = (item: UploadItem) => void;

/** Each file's journey: checksum, upload bytes, processing (and a column mapping when it needs one), then a green check or a red cross. */
export function UploadList({ items, onMap, onRetry }: { items: UploadItem[]; onMap?: OnMap; onRetry?: OnRetry }) {
  if (items.length === 0) return null;
  return (
    <ul className="upload-list" aria-label="Uploads">
      {items.map((item) => (
        <UploadRow key={item.id} item={item} onMap={onMap} onRetry={onRetry} />
      ))}
    </ul>
  );
}

function UploadRow({ item, onMap, onRetry }: { item: UploadItem; onMap?: OnMap; onRetry?: OnRetry }) {
  const { file } = item;
  return (
    <li className={`upload-item ${item.phase}`} aria-label={file.name}>
      <div className="upload-head">
        <Icon phase={item.phase} />
        <span className="upload-name">{file.name}</span>
        <span className="muted small">{formatBytes(file.size)}</span>
      </div>
      <Progress item={item} />
      <p className="upload-status small" aria-live="polite">
        <StatusText item={item} />
      </p>
      {item.phase === 'needs-mapping' && item.status?.preview && onMap && (
        <MappingForm key={item.status.importId} preview={item.status.preview} onSubmit={(mapping) => onMap(item, mapping)} />
      )}
      {/* Only an import the server ended FAILED can run again; a refused upload is sent again by dropping the file. */}
      {item.phase === 'failed' && item.status?.status === 'FAILED' && onRetry && (
        <button type="button" className="button small" onClick={() => onRetry(item)}>
          Retry
        </button>
      )}
    </li>
  );
}

function Icon({ phase }: { phase: UploadItem['phase'] }) {
  if (phase === 'succeeded')
    return (
      <span className="icon ok" aria-hidden="true">
        ✓
      </span>
    );
  if (phase === 'quarantined' || phase === 'rejected' || phase === 'failed') {
    return (
      <span className="icon bad" aria-hidden="true">
        ✗
      </span>
    );
  }
  if (phase === 'processing') return <Spinner />;
  return (
    <span className="icon pending" aria-hidden="true">
      •
    </span>
  );
}

function Progress({ item }: { item: UploadItem }) {
  const size = Math.max(item.file.size, 1);
  if (item.phase === 'hashing') {
    return <progress max={size} value={item.bytesHashed} aria-label={`Checksum of ${item.file.name}`} />;
  }
  if (item.phase === 'uploading') {
    return <progress max={size} value={item.bytesSent} aria-label={`Upload of ${item.file.name}`} />;
  }
  if (item.phase === 'processing') return <progress aria-label={`Processing of ${item.file.name}`} />;
  return null;
}

const percent = (part: number, whole: number) => `${Math.floor((100 * part) / Math.max(whole, 1))}%`;

function StatusText({ item }: { item: UploadItem }) {
  const size = item.file.size;
  switch (item.phase) {
    case 'queued':
      return <>Waiting to start…</>;
    case 'hashing':
      return <>Computing checksum… {percent(item.bytesHashed, size)}</>;
    case 'uploading':
      return (
        <>
          Uploading… {formatBytes(item.bytesSent)} of {formatBytes(size)} ({percent(item.bytesSent, size)})
        </>
      );
    case 'processing': {
      // Its turn for the engine's fair share has not come (IMPORT_SLOTS): say how many files go first.
      const waiting = item.status?.waiting;
      if (waiting)
        return (
          <>
            Waiting: {waiting.filesAhead === 0 ? 'next in line' : `${formatCount(waiting.filesAhead)} ${waiting.filesAhead === 1 ? 'file' : 'files'} ahead`}
          </>
        );
      return <>Processing…</>;
    }
    case 'needs-mapping':
      return (
        <>
          Its columns are not post fields: choose which field each column fills, then import.
          {item.message && <span className="error"> {item.message}</span>}
        </>
      );
    case 'succeeded': {
      const imported = item.status?.rowsImported ?? 0;
      const rejected = item.status?.rowsRejected ?? 0;
      const { rowsCreated, rowsUpdated, rowsUnchanged } = item.status ?? {};
      // What the upsert did with the imported rows: new posts, edited ones, and ones already as in the file.
      const split =
        rowsCreated !== undefined && rowsUpdated !== undefined && rowsUnchanged !== undefined
          ? ` (${formatCount(rowsCreated)} new, ${formatCount(rowsUpdated)} updated, ${formatCount(rowsUnchanged)} unchanged)`
          : '';
      return (
        <span className="success">
          {item.status?.dryRun ? 'Dry run: would import' : 'Imported'} {formatCount(imported)} {imported === 1 ? 'row' : 'rows'}
          {split}.
          {rejected > 0 && (
            <>
              {' '}
              {formatCount(rejected)} {rejected === 1 ? 'row was' : 'rows were'} rejected
              {item.status?.errorReportUrl ? (
                <>
                  {': '}
                  <a href={item.status.errorReportUrl} download>
                    download the rejected-rows report
                  </a>
                </>
              ) : (
                '.'
              )}
            </>
          )}
        </span>
      );
    }
    default:
      return <span className="error">{item.message}</span>;
  }
}

const FIELDS: ImportField[] = ['id', 'userId', 'dateCreated', 'content', 'tags'];
const DELIMITER_NAMES: Record<string, string> = { ',': 'comma', ';': 'semicolon', '\t': 'tab', '|': 'pipe' };

/** The preview as a table with a field chooser above each column, starting from the server's suggestion. */
function MappingForm({ preview, onSubmit }: { preview: ImportPreview; onSubmit: (mapping: ImportMapping) => void }) {
  const [mapping, setMapping] = useState<ImportMapping>(() => ({ ...preview.suggestedMapping }));
  const chosen = Object.values(mapping).filter((field): field is ImportField => field !== null);
  const missing = (['userId', 'dateCreated', 'content'] as const).filter((field) => !chosen.includes(field));
  const twice = FIELDS.filter((field) => chosen.filter((f) => f === field).length > 1);
  const problem =
    missing.length > 0
      ? `Choose a column for ${missing.join(', ')}.`
      : twice.length > 0
        ? `${twice.join(', ')} is chosen twice.`
        : undefined;
  return (
    <form
      className="mapping-form"
      aria-label="Column mapping"
      onSubmit={(event) => {
        event.preventDefault();
        if (!problem) onSubmit(mapping);
      }}
    >
      <p className="muted small">
        {DELIMITER_NAMES[preview.delimiter] ?? preview.delimiter}-delimited, {preview.encoding}; the first {preview.rows.length} rows:
      </p>
      <div className="table-scroll">
        <table className="preview-table">
          <thead>
            <tr>
              {preview.columns.map((column) => (
                <th key={column} scope="col">
                  <label>
                    <span>{column}</span>
                    <select
                      aria-label={`Field for column ${column}`}
                      value={mapping[column] ?? ''}
                      onChange={(event) => setMapping({ ...mapping, [column]: (event.target.value || null) as ImportField | null })}
                    >
                      <option value="">Leave out</option>
                      {FIELDS.map((field) => (
                        <option key={field} value={field}>
                          {field}
                        </option>
                      ))}
                    </select>
                  </label>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {preview.rows.map((row, i) => (
              <tr key={i}>
                {preview.columns.map((column, j) => (
                  <td key={column}>{row[j] ?? ''}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {problem && <p className="error small">{problem}</p>}
      <button type="submit" className="button primary small" disabled={problem !== undefined}>
        Import with this mapping
      </button>
    </form>
  );
}
