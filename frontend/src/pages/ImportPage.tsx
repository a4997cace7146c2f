import { useId, useRef, useState, type DragEvent } from 'react';
import { UploadList } from '../components/UploadList';
import { useUploads, useUser } from '../services';

export function ImportPage() {
  const { imports } = useUser();
  const items = useUploads();
  const [dragging, setDragging] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);
  const id = useId();
  const finished = items.some((i) => ['succeeded', 'quarantined', 'rejected', 'failed'].includes(i.phase));

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    if (event.dataTransfer.files.length) imports.add(Array.from(event.dataTransfer.files));
  };

  return (
    <div className="import-page">
      <h1 tabIndex={-1}>Import posts</h1>
      <p className="muted">
        CSV or NDJSON files of posts (id, userId, dateCreated, content, tags). Each file is checked for viruses, checksummed and identified
        before its rows are added.
      </p>
      <div
        className={`dropzone${dragging ? ' dragging' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          e.dataTransfer.dropEffect = 'copy';
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <p>Drag and drop files here</p>
        <p className="muted small">or</p>
        <input
          ref={inputRef}
          id={`${id}-files`}
          className="visually-hidden-input"
          type="file"
          multiple
          accept=".csv,.ndjson,.jsonl,text/csv,application/x-ndjson"
          onChange={(e) => {
            if (e.target.files?.length) imports.add(Array.from(e.target.files));
            e.target.value = '';
          }}
        />
        <label htmlFor={`${id}-files`} className="button primary">
          Choose files
        </label>
      </div>
      {finished && (
        <button type="button" className="button small" onClick={() => imports.clearFinished()}>
          Clear finished
        </button>
      )}
      <UploadList items={items} onMap={(item, mapping) => void imports.submitMapping(item.id, mapping)} />
    </div>
  );
}
