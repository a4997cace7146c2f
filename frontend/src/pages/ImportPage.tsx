import { DropZone } from '../components/DropZone';
import { UploadList } from '../components/UploadList';
import { useUploads, useUser } from '../services';

export function ImportPage() {
  const { imports } = useUser();
  const items = useUploads();
  const finished = items.some((i) => ['succeeded', 'quarantined', 'rejected', 'failed'].includes(i.phase));

  return (
    <div className="import-page">
      <h1 tabIndex={-1}>Import posts</h1>
      <p className="muted">
        CSV or NDJSON files of posts (id, userId, dateCreated, content, tags). Each file is checked for viruses, checksummed and identified
        before its rows are added.
      </p>
      <DropZone onFiles={(files) => imports.add(files)} accept=".csv,.ndjson,.jsonl,text/csv,application/x-ndjson" />
      {finished && (
        <button type="button" className="button small" onClick={() => imports.clearFinished()}>
          Clear finished
        </button>
      )}
      <UploadList
        items={items}
        onMap={(item, mapping) => void imports.submitMapping(item.id, mapping)}
        onRetry={(item) => void imports.retry(item.id)}
      />
    </div>
  );
}
