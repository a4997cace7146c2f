import type { UploadItem } from '../imports/queue';
import { formatBytes, formatCount } from '../lib/format';
import { Spinner } from './Spinner';

/** Each file's journey: checksum, upload bytes, processing, then a green check or a red cross. */
export function UploadList({ items }: { items: UploadItem[] }) {
  if (items.length === 0) return null;
  return (
    <ul className="upload-list" aria-label="Uploads">
      {items.map((item) => (
        <UploadRow key={item.id} item={item} />
      ))}
    </ul>
  );
}

function UploadRow({ item }: { item: UploadItem }) {
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
    </li>
  );
}

function Icon({ phase }: { phase: UploadItem['phase'] }) {
  if (phase === 'succeeded') return <span className="icon ok" aria-hidden="true">✓</span>;
  if (phase === 'quarantined' || phase === 'rejected' || phase === 'failed') {
    return <span className="icon bad" aria-hidden="true">✗</span>;
  }
  if (phase === 'processing') return <Spinner />;
  return <span className="icon pending" aria-hidden="true">•</span>;
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
    case 'processing':
      return <>Processing…</>;
    case 'succeeded': {
      const imported = item.status?.rowsImported ?? 0;
      const rejected = item.status?.rowsRejected ?? 0;
      return (
        <span className="success">
          Imported {formatCount(imported)} {imported === 1 ? 'row' : 'rows'}.
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
