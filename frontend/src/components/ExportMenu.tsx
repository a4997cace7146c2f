import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import type { DeliveryType, ExportFormat, ExportOptions, SearchCriteria } from '../api/types';
import type { ExportRecord } from '../exports/store';
import { expiryText, formatCount } from '../lib/format';
import { plainMessage } from '../lib/errors';
import { useExports, useNow, useUser } from '../services';
import { Spinner } from './Spinner';

const CHOICES: { delivery: DeliveryType; label: string; detail: string }[] = [
  { delivery: 'direct', label: 'Download', detail: 'Prepare a CSV file and offer it here' },
  { delivery: 'email', label: 'Email me a link', detail: 'Send a download link to your email' },
  { delivery: 'push', label: 'Notify me here', detail: 'Show the link on this page the moment it is ready' },
];

/**
 * "Export results": the three deliveries, then the latest export's progress in plain words. `unavailable`
 * says why this search cannot be exported (empty, invalid, nothing found); the button is then disabled and says so.
 */
export function ExportMenu({ criteria, total, unavailable }: { criteria: SearchCriteria; total?: number; unavailable?: string }) {
  const { tracker, user } = useUser();
  const exports = useExports();
  const [open, setOpen] = useState(false);
  const [starting, setStarting] = useState<DeliveryType>();
  const [problem, setProblem] = useState<string>();
  const [activeArn, setActiveArn] = useState<string>();
  const [format, setFormat] = useState<ExportFormat>('csv');
  const [excel, setExcel] = useState(false);
  const [gzip, setGzip] = useState(false);
  const options: ExportOptions = { format, ...(excel && format === 'csv' ? { excel: true } : {}), ...(gzip ? { gzip: true } : {}) };
  const buttonRef = useRef<HTMLButtonElement>(null);
  const itemRefs = useRef<(HTMLButtonElement | null)[]>([]);
  const menuId = useId();
  const whyId = useId();
  const active = exports.find((r) => r.executionArn === activeArn);

  useEffect(() => {
    if (open) itemRefs.current[0]?.focus();
  }, [open]);

  const close = (returnFocus: boolean) => {
    setOpen(false);
    if (returnFocus) buttonRef.current?.focus();
  };

  const choose = async (delivery: DeliveryType) => {
    close(true);
    setStarting(delivery);
    setProblem(undefined);
    try {
      const record = await tracker.request(delivery, criteria, user.claims.email, options);
      setActiveArn(record.executionArn);
    } catch (error) {
      setProblem(`The export could not start. ${plainMessage(error)}`);
    } finally {
      setStarting(undefined);
    }
  };

  const onMenuKey = (event: KeyboardEvent) => {
    const items = itemRefs.current.filter((el): el is HTMLButtonElement => el !== null);
    const index = items.indexOf(document.activeElement as HTMLButtonElement);
    const move = (to: number) => {
      event.preventDefault();
      items[(to + items.length) % items.length]?.focus();
    };
    if (event.key === 'ArrowDown') move(index + 1);
    else if (event.key === 'ArrowUp') move(index - 1);
    else if (event.key === 'Home') move(0);
    else if (event.key === 'End') move(items.length - 1);
    else if (event.key === 'Escape') {
      event.preventDefault();
      close(true);
    } else if (event.key === 'Tab') close(false);
  };

  return (
    <div className="export-menu">
      <button
        ref={buttonRef}
        type="button"
        className="button primary"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={menuId}
        disabled={starting !== undefined || unavailable !== undefined}
        aria-describedby={unavailable !== undefined ? whyId : undefined}
        onClick={() => setOpen((o) => !o)}
      >
        {starting ? (
          <>
            <Spinner /> Starting export…
          </>
        ) : (
          <>Export results{total !== undefined ? ` (${formatCount(total)})` : ''} ▾</>
        )}
      </button>
      {unavailable === undefined && (
        <fieldset className="export-options small">
          <legend className="visually-hidden">File options</legend>
          <label>
            Format{' '}
            <select value={format} onChange={(event) => setFormat(event.target.value as ExportFormat)}>
              <option value="csv">CSV</option>
              <option value="ndjson">NDJSON (one JSON object a line)</option>
            </select>
          </label>
          <label title="A byte order mark and Windows line ends, so Excel opens accents correctly">
            <input type="checkbox" checked={excel && format === 'csv'} disabled={format !== 'csv'} onChange={(event) => setExcel(event.target.checked)} /> For
            Excel on Windows
          </label>
          <label>
            <input type="checkbox" checked={gzip} onChange={(event) => setGzip(event.target.checked)} /> Compress (gzip)
          </label>
        </fieldset>
      )}
      {unavailable !== undefined && (
        <p id={whyId} className="hint small export-unavailable">
          {unavailable}
        </p>
      )}
      {open && unavailable === undefined && (
        <div
          id={menuId}
          role="menu"
          aria-label="Export results"
          className="menu"
          onKeyDown={onMenuKey}
          onBlur={(e) => {
            if (!e.currentTarget.contains(e.relatedTarget as Node | null) && e.relatedTarget !== buttonRef.current) close(false);
          }}
        >
          {CHOICES.map((choice, i) => (
            <button
              key={choice.delivery}
              ref={(el) => {
                itemRefs.current[i] = el;
              }}
              type="button"
              role="menuitem"
              tabIndex={-1}
              className="menu-item"
              onClick={() => void choose(choice.delivery)}
            >
              <span className="menu-label">{choice.label}</span>
              <span className="menu-detail">{choice.detail}</span>
            </button>
          ))}
        </div>
      )}
      <div className="export-outcome" aria-live="polite">
        {problem && (
          <p className="error" role="alert">
            {problem}
          </p>
        )}
        {!problem && active && <ExportOutcome record={active} />}
      </div>
    </div>
  );
}

function ExportOutcome({ record }: { record: ExportRecord }) {
  const now = useNow(30_000);
  const rows = record.rowCount !== undefined ? `${formatCount(record.rowCount)} ${record.rowCount === 1 ? 'row' : 'rows'}` : '';
  const where = record.emailedTo ?? 'the email address on your account';

  if (record.status === 'FAILED') {
    return <p className="error">The export failed: {record.error ? record.error : 'something went wrong on our side.'}</p>;
  }
  if (record.delivery === 'email') {
    return record.status === 'SUCCEEDED' ? (
      <p className="success">
        ✓ Sent: a link to your CSV ({rows}) was emailed to <strong>{where}</strong>.
      </p>
    ) : (
      <p className="status-line">
        <Spinner /> Export started. We will email a link to <strong>{where}</strong> when the file is ready.
      </p>
    );
  }
  if (record.status === 'RUNNING') {
    return (
      <p className="status-line">
        <Spinner />{' '}
        {record.delivery === 'push'
          ? 'Preparing your file. The link will appear here the moment it is ready.'
          : 'Preparing your file…'}
        {record.checkProblem && <span className="muted"> {record.checkProblem}</span>}
      </p>
    );
  }
  const expiry = record.expiresAt ? expiryText(record.expiresAt, now) : '';
  if (!record.url || expiry === 'expired') return <p className="muted">This export has expired.</p>;
  return (
    <p className="success ready-line">
      ✓ Your file is ready ({rows}).{' '}
      <a className="button primary" href={record.url} download>
        Download file
      </a>{' '}
      <span className="muted nowrap">{expiry}</span>
    </p>
  );
}
