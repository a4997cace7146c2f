import type { ExportJobStatus } from '../../core/contract';
import { NotFound } from '../../core/errors';
import { applyExportChange, type ExportChange, type ExportRecord, type ExportRecordPage, type JobPerson } from '../../core/export/records';
import type { ExportRecords, UserDirectory } from '../../core/ports';

/** In-memory fakes of the job ports, held to the same spec as the DynamoDB adapter (specs/export-records-spec.ts). */

const newestFirst = (a: ExportRecord, b: ExportRecord) => `${b.createdAt}#${b.exportId}`.localeCompare(`${a.createdAt}#${a.exportId}`);

function page<T>(all: T[], options: { limit: number; cursor?: string }): { items: T[]; nextCursor?: string } {
  const start = options.cursor ? Number(options.cursor) : 0;
  const items = all.slice(start, start + options.limit);
  return { items, ...(start + options.limit < all.length ? { nextCursor: String(start + options.limit) } : {}) };
}

export class InMemoryExportRecords implements ExportRecords {
  readonly records = new Map<string, ExportRecord>();

  async create(record: ExportRecord): Promise<void> {
    this.records.set(record.exportId, structuredClone({ ...record, sharedWith: [] }));
    if (record.sharedWith.length > 0) await this.share(record.exportId, record.sharedWith);
  }

  async get(exportId: string): Promise<ExportRecord | undefined> {
    const record = this.records.get(exportId);
    return record ? structuredClone(record) : undefined;
  }

  async update(exportId: string, change: ExportChange, at: Date, from?: readonly ExportJobStatus[]): Promise<ExportRecord | undefined> {
    const record = this.existing(exportId);
    if (from && !from.includes(record.status)) return undefined;
    const updated = applyExportChange(record, change, at);
    this.records.set(exportId, updated);
    return structuredClone(updated);
  }

  async share(exportId: string, people: JobPerson[]): Promise<ExportRecord> {
    const record = this.existing(exportId);
    for (const person of people) {
      if (person.userId === record.owner.userId || record.sharedWith.some((p) => p.userId === person.userId)) continue;
      record.sharedWith.push({ ...person });
    }
    return structuredClone(record);
  }

  async unshare(exportId: string, userId: string): Promise<ExportRecord> {
    const record = this.existing(exportId);
    record.sharedWith = record.sharedWith.filter((person) => person.userId !== userId);
    return structuredClone(record);
  }

  async delete(exportId: string): Promise<void> {
    this.records.delete(exportId);
  }

  async listVisibleTo(userId: string, options: { limit: number; cursor?: string }): Promise<ExportRecordPage> {
    const visible = [...this.records.values()]
      .filter((record) => record.owner.userId === userId || record.sharedWith.some((p) => p.userId === userId))
      .sort(newestFirst);
    const { items, nextCursor } = page(visible, options);
    return {
      records: items.map((record) => ({ record: structuredClone(record), sharedWithViewer: record.owner.userId !== userId })),
      ...(nextCursor ? { nextCursor } : {}),
    };
  }

  async listAll(options: { limit: number; cursor?: string; status?: ExportJobStatus; ownerUsername?: string }) {
    const all = [...this.records.values()]
      .filter((record) => !options.status || record.status === options.status)
      .filter((record) => !options.ownerUsername || record.owner.username === options.ownerUsername)
      .sort(newestFirst);
    const { items, nextCursor } = page(all, options);
    return { records: items.map((record) => structuredClone(record)), ...(nextCursor ? { nextCursor } : {}) };
  }

  private existing(exportId: string): ExportRecord {
    const record = this.records.get(exportId);
    if (!record) throw new NotFound(`No export ${exportId}.`);
    return record;
  }
}

/** A fixed set of people. */
export class FixedUserDirectory implements UserDirectory {
  constructor(private readonly people: JobPerson[]) {}

  async findByUsernames(usernames: readonly string[]): Promise<JobPerson[]> {
    return this.people.filter((person) => usernames.includes(person.username));
  }
}
