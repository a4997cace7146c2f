import type { DeliveryType, ExportJobStatus, ExportJobView, ExportStatus, JobPage, SearchCriteria } from '../api/types';

/** One export this person asked for (or was shared), as the Exports panel shows it. */
export interface ExportRecord extends ExportStatus {
  /** The job id (`GET/DELETE /api/exports/{exportId}`); absent only on records made before the server named it. */
  exportId?: string;
  delivery: DeliveryType;
  criteria: SearchCriteria;
  requestedAt: string;
  /** Where the email link went (the email claim), for email deliveries. */
  emailedTo?: string;
  /** A plain-words note while the status cannot be checked; cleared on the next good answer. */
  checkProblem?: string;
  /** Someone else's export shared with this person: their username. */
  sharedBy?: string;
  /** The job's own status, finer than `status` (QUEUED, CANCELLED, EXPIRED), once the server has listed it. */
  jobStatus?: ExportJobStatus;
  /** The search in words, as the server wrote it. */
  searchSummary?: string;
  /** Size of the file in bytes. */
  bytes?: number;
  fileName?: string;
  finishedAt?: string;
  /** Usernames the owner shared it with. */
  sharedWith?: string[];
}

/** What the store asks of the API. */
export interface ExportsServer {
  listExports(limit: number): Promise<JobPage<ExportJobView>>;
  exportStatus(executionArn: string): Promise<ExportStatus>;
  deleteExport(exportId: string): Promise<unknown>;
  getExport(exportId: string): Promise<ExportJobView>;
  shareExport(exportId: string, usernames: string[]): Promise<ExportJobView>;
  unshareExport(exportId: string, username: string): Promise<unknown>;
}

/** Statuses a job never leaves (EXPIRED aside, which only a finished one reaches). */
export const FINISHED_EXPORT: ReadonlySet<ExportJobStatus> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'EXPIRED']);

const MAX_SHOWN = 50;

/** A job from the server in the panel's words (the old status route's states). */
export function fromJob(job: ExportJobView): ExportRecord | undefined {
  if (!job.executionArn) return undefined;
  const status = job.status === 'QUEUED' || job.status === 'RUNNING' ? 'RUNNING' : job.status === 'SUCCEEDED' || job.status === 'EXPIRED' ? 'SUCCEEDED' : 'FAILED';
  return {
    executionArn: job.executionArn,
    exportId: job.exportId,
    delivery: job.delivery,
    criteria: job.searchCriteria,
    requestedAt: job.createdAt,
    status,
    ...(job.rowCount !== undefined ? { rowCount: job.rowCount } : {}),
    ...(job.expiresAt ? { expiresAt: job.expiresAt } : {}),
    ...(job.error ? { error: job.error } : {}),
    ...(job.progress ? { progress: job.progress } : {}),
    ...(job.shared ? { sharedBy: job.owner } : {}),
    jobStatus: job.status,
    searchSummary: job.searchSummary,
    ...(job.bytes !== undefined ? { bytes: job.bytes } : {}),
    ...(job.fileName ? { fileName: job.fileName } : {}),
    ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}),
    ...(job.sharedWith ? { sharedWith: job.sharedWith } : {}),
  };
}

/**
 * This user's exports, from the server (GET /api/exports), so another device or a cleared browser sees
 * the same list and signing out leaves nothing behind: nothing is kept in the browser's storage.
 */
export class ExportsStore {
  private records: ExportRecord[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly server: ExportsServer,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Lists the server's exports (and answers them, for whoever watches for finished jobs); finished ones
   * still in their time get a fresh link from the status route unless they have one already.
   */
  async load(): Promise<ExportJobView[]> {
    const page = await this.server.listExports(MAX_SHOWN);
    const loaded = page.items
      .map(fromJob)
      .filter((record): record is ExportRecord => record !== undefined)
      .map((record) => {
        const known = this.get(record.executionArn);
        const url = record.status === 'SUCCEEDED' ? known?.url : undefined;
        return { ...record, ...(url ? { url } : {}), ...(known?.emailedTo ? { emailedTo: known.emailedTo } : {}) };
      });
    const known = new Set(loaded.map((record) => record.executionArn));
    // Started in this page view but not listed yet: kept.
    this.records = [...this.records.filter((record) => !known.has(record.executionArn)), ...loaded].slice(0, MAX_SHOWN);
    this.notify();
    await Promise.all(
      loaded
        .filter((record) => record.status === 'SUCCEEDED' && !record.url && record.expiresAt && Date.parse(record.expiresAt) > this.now())
        .map(async (record) => {
          try {
            // The old status route answers only the owner; a shared export's link comes from its job route.
            const { url } = record.sharedBy && record.exportId ? await this.server.getExport(record.exportId) : await this.server.exportStatus(record.executionArn);
            if (url) this.update(record.executionArn, { url });
          } catch {
            // No link this time: the panel shows the export without a download button.
          }
        }),
    );
    return page.items;
  }

  list = (): ExportRecord[] => this.records;

  get(executionArn: string): ExportRecord | undefined {
    return this.records.find((r) => r.executionArn === executionArn);
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  add(record: ExportRecord): void {
    this.records = [record, ...this.records.filter((r) => r.executionArn !== record.executionArn)].slice(0, MAX_SHOWN);
    this.notify();
  }

  update(executionArn: string, patch: Partial<ExportRecord>): void {
    const current = this.get(executionArn);
    if (!current) return;
    const next = { ...current, ...patch };
    if (JSON.stringify(next) === JSON.stringify(current)) return;
    this.records = this.records.map((r) => (r.executionArn === executionArn ? next : r));
    this.notify();
  }

  /** Stops a running export on the server; it stays listed as cancelled. */
  async cancel(executionArn: string): Promise<void> {
    const record = this.get(executionArn);
    if (!record?.exportId || record.sharedBy) return;
    await this.server.deleteExport(record.exportId);
    this.update(executionArn, { status: 'FAILED', jobStatus: 'CANCELLED', error: 'The export was cancelled.', progress: undefined });
  }

  /** A freshly signed download link (GET /api/exports/{exportId}), kept on the record too. */
  async freshLink(executionArn: string): Promise<string | undefined> {
    const record = this.get(executionArn);
    if (!record?.exportId) return record?.url;
    const job = await this.server.getExport(record.exportId);
    if (job.url) this.update(executionArn, { url: job.url });
    return job.url;
  }

  /** Shares the export with these usernames (the server refuses unknown ones, naming them). */
  async share(executionArn: string, usernames: string[]): Promise<void> {
    const record = this.get(executionArn);
    if (!record?.exportId) return;
    const job = await this.server.shareExport(record.exportId, usernames);
    this.update(executionArn, { sharedWith: job.sharedWith ?? [...new Set([...(record.sharedWith ?? []), ...usernames])] });
  }

  async unshare(executionArn: string, username: string): Promise<void> {
    const record = this.get(executionArn);
    if (!record?.exportId) return;
    await this.server.unshareExport(record.exportId, username);
    this.update(executionArn, { sharedWith: (this.get(executionArn)?.sharedWith ?? []).filter((name) => name !== username) });
  }

  /** Deletes the export on the server (cancelling it if it runs; a shared one is only hidden here), then drops it from the list. */
  async remove(executionArn: string): Promise<void> {
    const record = this.get(executionArn);
    if (record?.exportId && !record.sharedBy) await this.server.deleteExport(record.exportId);
    this.records = this.records.filter((r) => r.executionArn !== executionArn);
    this.notify();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}
