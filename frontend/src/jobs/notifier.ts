import type { ExportJobView, ImportJobView, JobPage } from '../api/types';
import type { ExportRecord } from '../exports/store';
import { formatCount } from '../lib/format';

/** One "your job finished" message. */
export interface Toast {
  id: string;
  tone: 'ok' | 'bad' | 'neutral';
  text: string;
  /** Where the job is listed. */
  href: string;
}

export interface JobLists {
  /** The exports as the store loads them (it refreshes the Exports list too). */
  exports: () => Promise<ExportJobView[]>;
  imports: (limit: number) => Promise<JobPage<ImportJobView>>;
  /** The exports this tab follows live (the tracker updates them the moment they end), and their changes. */
  tracked: { list: () => ExportRecord[]; subscribe: (listener: () => void) => () => void };
}

const FINISHED: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'EXPIRED', 'QUARANTINED', 'REJECTED']);
const IMPORTS_WATCHED = 25;

/**
 * Watches the user's exports and imports (polling the server's lists) and raises a toast when one of them
 * reaches a terminal status: started here, in another tab or on another device, wherever the user is in the app.
 * A job first seen already finished raises one only if it was created after the watch began.
 */
export class JobNotifier {
  private readonly seen = new Map<string, string>();
  private readonly listeners = new Set<() => void>();
  private toasts: Toast[] = [];
  private timer?: ReturnType<typeof setTimeout>;
  private stopped = true;
  private since = 0;

  constructor(
    private readonly lists: JobLists,
    private readonly everyMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  private unsubscribe?: () => void;

  /** The first look is one period in: the page has just loaded the lists itself. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.since = this.now();
    this.unsubscribe = this.lists.tracked.subscribe(() => this.observeTracked());
    this.timer = setTimeout(() => void this.check(), this.everyMs);
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
  }

  private observeTracked(): void {
    for (const record of this.lists.tracked.list()) {
      // One started in this tab is named once the server has listed it (its search in words).
      if (!record.exportId || !record.searchSummary) continue;
      const status = record.status === 'FAILED' && record.jobStatus === 'CANCELLED' ? 'CANCELLED' : record.status;
      const job = { searchSummary: record.searchSummary, status, rowCount: record.rowCount, error: record.error };
      this.observe(`export:${record.exportId}`, status, record.requestedAt, () => exportToast(job));
    }
  }

  list = (): Toast[] => this.toasts;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  dismiss(id: string): void {
    this.toasts = this.toasts.filter((toast) => toast.id !== id);
    this.notify();
  }

  /** One look at both lists now (the timer does this on its own). */
  async check(): Promise<void> {
    const [exports, imports] = await Promise.all([
      this.lists.exports().catch(() => undefined),
      this.lists.imports(IMPORTS_WATCHED).then((page) => page.items, () => undefined),
    ]);
    for (const job of exports ?? []) this.observe(`export:${job.exportId}`, job.status, job.createdAt, () => exportToast(job));
    for (const job of imports ?? []) this.observe(`import:${job.importId}`, job.status, job.createdAt, () => importToast(job));
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.check(), this.everyMs);
  }

  private observe(key: string, status: string, createdAt: string, toast: () => Omit<Toast, 'id'>): void {
    const before = this.seen.get(key);
    this.seen.set(key, status);
    if (!FINISHED.has(status) || before === status) return;
    const wasUnderWay = before !== undefined && !FINISHED.has(before);
    const finishedUnseen = before === undefined && Date.parse(createdAt) >= this.since;
    // EXPIRED after SUCCEEDED is the file's end, not the job's: no toast for it.
    if (!wasUnderWay && !finishedUnseen) return;
    this.toasts = [...this.toasts, { id: `${key}:${status}`, ...toast() }];
    this.notify();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}

function exportToast(job: Pick<ExportJobView, 'searchSummary' | 'rowCount' | 'error'> & { status: string }): Omit<Toast, 'id'> {
  const what = `Your export of ${job.searchSummary}`;
  const rows = job.rowCount !== undefined ? ` (${formatCount(job.rowCount)} ${job.rowCount === 1 ? 'row' : 'rows'})` : '';
  if (job.status === 'SUCCEEDED') return { tone: 'ok', text: `${what} is ready${rows}.`, href: '#/exports' };
  if (job.status === 'CANCELLED') return { tone: 'neutral', text: `${what} was cancelled.`, href: '#/exports' };
  return { tone: 'bad', text: `${what} failed${job.error ? `: ${job.error}` : '.'}`, href: '#/exports' };
}

function importToast(job: ImportJobView): Omit<Toast, 'id'> {
  const what = `Your import of ${job.fileName}`;
  if (job.status === 'SUCCEEDED') {
    const rows = job.rowsImported ?? 0;
    return { tone: 'ok', text: `${what} finished: ${formatCount(rows)} ${rows === 1 ? 'row' : 'rows'} imported.`, href: '#/imports' };
  }
  if (job.status === 'CANCELLED') return { tone: 'neutral', text: `${what} was cancelled.`, href: '#/imports' };
  const label = job.status === 'QUARANTINED' ? 'was quarantined' : job.status === 'REJECTED' ? 'was rejected' : job.status === 'EXPIRED' ? 'expired' : 'failed';
  return { tone: 'bad', text: `${what} ${label}${job.reason ? `: ${job.reason}` : '.'}`, href: '#/imports' };
}
