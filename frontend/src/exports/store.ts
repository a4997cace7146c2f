import type { DeliveryType, ExportStatus, SearchCriteria } from '../api/types';

/** One export this person asked for, as the Exports panel shows it. */
export interface ExportRecord extends ExportStatus {
  delivery: DeliveryType;
  criteria: SearchCriteria;
  requestedAt: string;
  /** Where the email link went (the email claim), for email deliveries. */
  emailedTo?: string;
  /** A plain-words note while the status cannot be checked; cleared on the next good answer. */
  checkProblem?: string;
}

const MAX_KEPT = 50;

/** This user's exports, kept in localStorage (keyed by user) so a reload keeps the list. */
export class ExportsStore {
  private records: ExportRecord[];
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly storage: Storage,
    private readonly username: string,
  ) {
    this.records = this.load();
  }

  private get key(): string {
    return `ferry.exports.${this.username}`;
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
    this.records = [record, ...this.records.filter((r) => r.executionArn !== record.executionArn)].slice(0, MAX_KEPT);
    this.save();
  }

  update(executionArn: string, patch: Partial<ExportRecord>): void {
    const current = this.get(executionArn);
    if (!current) return;
    const next = { ...current, ...patch };
    if (JSON.stringify(next) === JSON.stringify(current)) return;
    this.records = this.records.map((r) => (r.executionArn === executionArn ? next : r));
    this.save();
  }

  remove(executionArn: string): void {
    this.records = this.records.filter((r) => r.executionArn !== executionArn);
    this.save();
  }

  private load(): ExportRecord[] {
    try {
      const raw: unknown = JSON.parse(this.storage.getItem(this.key) ?? '[]');
      if (!Array.isArray(raw)) return [];
      // Records kept before the delivery was called `delivery` name it `type`.
      return (raw as Array<ExportRecord & { type?: DeliveryType }>)
        .filter((r) => typeof r?.executionArn === 'string')
        .map(({ type, ...r }) => (r.delivery || !type ? r : { ...r, delivery: type }));
    } catch {
      return [];
    }
  }

  private save(): void {
    try {
      this.storage.setItem(this.key, JSON.stringify(this.records));
    } catch {
      // Storage full or blocked: the list still works for this page view.
    }
    for (const listener of this.listeners) listener();
  }
}
