import { useId, useState, type DragEvent } from 'react';

/** Drag and drop, or choose files: what the Import and Resources pages both take files with. */
export function DropZone({ onFiles, accept }: { onFiles: (files: File[]) => void; accept?: string }) {
  const [dragging, setDragging] = useState(false);
  const id = useId();

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    if (event.dataTransfer.files.length) onFiles(Array.from(event.dataTransfer.files));
  };

  return (
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
        id={`${id}-files`}
        className="visually-hidden-input"
        type="file"
        multiple
        {...(accept ? { accept } : {})}
        onChange={(e) => {
          if (e.target.files?.length) onFiles(Array.from(e.target.files));
          e.target.value = '';
        }}
      />
      <label htmlFor={`${id}-files`} className="button primary">
        Choose files
      </label>
    </div>
  );
}
