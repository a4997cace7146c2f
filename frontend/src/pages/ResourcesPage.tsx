import { useCallback, useEffect, useState } from 'react';
import type { ResourceView } from '../api/types';
import { DropZone } from '../components/DropZone';
import { Spinner } from '../components/Spinner';
import { UploadList } from '../components/UploadList';
import { formatBytes } from '../lib/format';
import { plainMessage } from '../lib/errors';
import { useResourceUploads, useServices, useUser } from '../services';

/**
 * Photos, scanned deeds, PDFs, spreadsheets, audio: each is scanned, checksummed and identified from its
 * bytes before anyone can open it. Uploads show their progress here; the list below is the server's, so
 * it survives reloads and shows the same on every device.
 */
export function ResourcesPage() {
  // While anything is uploading or processing, the list is read again at the polling pace (1 s).
  const { api, timing } = useServices();
  const { resources } = useUser();
  const uploads = useResourceUploads();
  const [items, setItems] = useState<ResourceView[] | undefined>(undefined);
  const [problem, setProblem] = useState<string | undefined>(undefined);

  const refresh = useCallback(async () => {
    try {
      setItems((await api.listResources()).items);
      setProblem(undefined);
    } catch (error) {
      setProblem(plainMessage(error));
    }
  }, [api]);

  const sending = uploads.filter((item) => item.phase !== 'processing' && item.phase !== 'succeeded');
  // Uploaded from this page: the server may not have seen the upload arrive yet.
  const uploadedHere = new Set(uploads.flatMap((item) => (item.phase === 'processing' && item.importId ? [item.importId] : [])));
  const checking = (item: ResourceView) =>
    item.status === 'RUNNING' || (item.status === 'AWAITING_UPLOAD' && uploadedHere.has(item.resourceId));
  const busy = sending.some((item) => item.phase !== 'failed') || (items ?? []).some(checking);
  const uploaded = uploadedHere.size;

  useEffect(() => {
    void refresh();
  }, [refresh, uploaded]);

  useEffect(() => {
    if (!busy) return undefined;
    const timer = setInterval(() => void refresh(), timing.initialMs);
    return () => clearInterval(timer);
  }, [busy, refresh, timing.initialMs]);

  const remove = async (resourceId: string) => {
    try {
      await api.deleteResource(resourceId);
      await refresh();
    } catch (error) {
      setProblem(plainMessage(error));
    }
  };

  return (
    <div className="resources-page">
      <h1 tabIndex={-1}>Resources</h1>
      <p className="muted">
        Photos, scanned documents, PDFs, Office and OpenDocument files, CSV, text and audio. Each file is checked for viruses, checksummed
        and identified from its bytes before it is kept; you can carry on working meanwhile.
      </p>
      <DropZone onFiles={(files) => resources.add(files)} />
      <UploadList items={sending} />
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      {items && items.length === 0 && <p className="muted">No resources yet.</p>}
      {items && items.length > 0 && (
        <ul className="resource-list" aria-label="Resources">
          {items.map((item) => (
            <ResourceRow key={item.resourceId} item={item} checking={checking(item)} onDelete={() => void remove(item.resourceId)} />
          ))}
        </ul>
      )}
    </div>
  );
}

function ResourceRow({ item, checking, onDelete }: { item: ResourceView; checking: boolean; onDelete: () => void }) {
  const kept = item.status === 'SUCCEEDED';
  // An upload that never arrived (the tab closed mid-upload): nothing to check, only to delete.
  const neverArrived = item.status === 'AWAITING_UPLOAD' && !checking;
  return (
    <li className={`resource-item ${item.status.toLowerCase()}`} aria-label={item.fileName}>
      {item.thumbnailUrl ? (
        <img className="resource-thumbnail" src={item.thumbnailUrl} alt={`Thumbnail of ${item.fileName}`} width={64} height={64} />
      ) : (
        <span className="resource-thumbnail none" aria-hidden="true" />
      )}
      <div className="resource-body">
        <div className="upload-head">
          <Outcome status={item.status} checking={checking} />
          <span className="upload-name">{item.fileName}</span>
          <span className="muted small">
            {formatBytes(item.size)}
            {item.type ? ` · ${item.type}` : ''}
          </span>
        </div>
        <p className="upload-status small" aria-live="polite">
          {checking && <>Processing…</>}
          {neverArrived && <>The upload did not finish; delete this and upload the file again.</>}
          {kept && <span className="success">Kept{item.sha256 ? `, SHA-256 ${item.sha256.slice(0, 12)}…` : ''}.</span>}
          {!kept && item.status !== 'RUNNING' && item.status !== 'AWAITING_UPLOAD' && (
            <span className="error">{item.reason ?? 'The file could not be kept.'}</span>
          )}
        </p>
      </div>
      <div className="resource-actions">
        {kept && item.url && (
          <a className="button small" href={item.url} download={item.fileName}>
            Download
          </a>
        )}
        {item.status !== 'QUARANTINED' && item.status !== 'RUNNING' && (
          <button type="button" className="button small" onClick={onDelete} aria-label={`Delete ${item.fileName}`}>
            Delete
          </button>
        )}
      </div>
    </li>
  );
}

function Outcome({ status, checking }: { status: ResourceView['status']; checking: boolean }) {
  if (status === 'SUCCEEDED')
    return (
      <span className="icon ok" aria-label="Kept">
        ✓
      </span>
    );
  if (checking || status === 'RUNNING') return <Spinner />;
  if (status === 'AWAITING_UPLOAD')
    return (
      <span className="icon pending" aria-label="Not uploaded">
        •
      </span>
    );
  return (
    <span className="icon bad" aria-label="Not kept">
      ✗
    </span>
  );
}
