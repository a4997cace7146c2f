import { ExecutionAlreadyStarted } from '../../core/errors';
import type { Readable } from 'node:stream';
import { NotFound, Transient } from '../../core/errors';
import { applyImportChange, type ImportChange, type ImportRecord, type ImportStatus } from '../../core/import/records';
import type { ScanVerdict } from '../../core/import/scanner';
import {
  alice,
  FakeExecutions,
  InMemoryAuditLog,
  InMemoryObjectStore,
  InMemorySearchSource,
  InMemoryRendezvous,
  ManualClock,
  newestFirstPage,
  RecordingMailer,
  RecordingPushChannel,
  SequentialIds,
} from './fakes';
import type { ArrivedUpload, ImportRecords, VirusScanner } from '../../core/ports';
import type { ImportConfig } from '../../core/import/config';

/** In-memory fakes for the import's ports, in the manner of ./fakes.ts. */

export class InMemoryImportRecords implements ImportRecords {
  readonly records = new Map<string, ImportRecord>();

  async create(records: ImportRecord[]): Promise<void> {
    for (const record of records) this.records.set(record.importId, structuredClone(record));
  }

  async get(importId: string): Promise<ImportRecord | undefined> {
    const record = this.records.get(importId);
    return record ? structuredClone(record) : undefined;
  }

  async listBatch(batchId: string): Promise<ImportRecord[]> {
    return [...this.records.values()].filter((record) => record.batchId === batchId).map((record) => structuredClone(record));
  }

  async update(importId: string, change: ImportChange, at: Date): Promise<ImportRecord> {
    const record = this.records.get(importId);
    if (!record) throw new NotFound(`No import ${importId}.`);
    const updated = applyImportChange(record, change, at);
    this.records.set(importId, updated);
    return structuredClone(updated);
  }

  async updateIf(importId: string, change: ImportChange, at: Date, from: readonly ImportStatus[]): Promise<ImportRecord | undefined> {
    const record = this.records.get(importId);
    if (!record) throw new NotFound(`No import ${importId}.`);
    if (!from.includes(record.status)) return undefined;
    return this.update(importId, change, at);
  }

  async markUploaded(importId: string, at: Date, arrived?: ArrivedUpload): Promise<{ record: ImportRecord; batchUploaded: boolean }> {
    const record = this.records.get(importId);
    if (!record) throw new NotFound(`No import ${importId}.`);
    if (!record.uploadedAt) {
      this.records.set(importId, {
        ...record,
        uploadedAt: at.toISOString(),
        ...(arrived ? { uploadedEtag: arrived.etag, uploadedBytes: arrived.bytes } : {}),
        ...(record.status === 'AWAITING_UPLOAD' ? { status: 'RUNNING' } : {}),
      });
    }
    const now = structuredClone(this.records.get(importId) as ImportRecord);
    if (!now.batchId) return { record: now, batchUploaded: true };
    return { record: now, batchUploaded: (await this.listBatch(now.batchId)).every((file) => file.uploadedAt) };
  }

  async delete(importId: string): Promise<void> {
    this.records.delete(importId);
  }

  async listOwnedBy(userId: string, options: { limit: number; cursor?: string }): Promise<{ records: ImportRecord[]; nextCursor?: string }> {
    const all = [...this.records.values()]
      .filter((record) => record.owner.userId === userId && record.kind !== 'resource')
      .sort((a, b) => `${b.createdAt}#${b.importId}`.localeCompare(`${a.createdAt}#${a.importId}`));
    const start = options.cursor ? Number(options.cursor) : 0;
    const records = all.slice(start, start + options.limit).map((record) => structuredClone(record));
    return { records, ...(start + options.limit < all.length ? { nextCursor: String(start + options.limit) } : {}) };
  }

  async listQuarantined(options: { limit: number; cursor?: string }): Promise<{ records: ImportRecord[]; nextCursor?: string }> {
    const quarantined = [...this.records.values()].filter((record) => record.quarantine).map((record) => structuredClone(record));
    const { items, nextCursor } = newestFirstPage(quarantined, (record) => [record.quarantine?.quarantinedAt ?? '', record.importId], options);
    return { records: items, ...(nextCursor ? { nextCursor } : {}) };
  }

  async listResources(
    userId: string,
    options: { limit: number; cursor?: string },
  ): Promise<{ records: ImportRecord[]; nextCursor?: string }> {
    const all = [...this.records.values()]
      .filter((record) => record.kind === 'resource' && record.owner.userId === userId)
      .sort((a, b) => `${b.createdAt}#${b.importId}`.localeCompare(`${a.createdAt}#${a.importId}`));
    const start = options.cursor ? Number(options.cursor) : 0;
    const records = all.slice(start, start + options.limit).map((record) => structuredClone(record));
    return { records, ...(start + options.limit < all.length ? { nextCursor: String(start + options.limit) } : {}) };
  }
}

/** Reads the whole stream, then answers: infected when the bytes contain `infectedMarker`. */
export class FakeScanner implements VirusScanner {
  scanned = 0;
  /** When set, scan() throws it after reading. */
  failure?: Error;

  constructor(private readonly infectedMarker = 'EICAR') {}

  async scan(stream: Readable): Promise<ScanVerdict> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
    this.scanned++;
    if (this.failure) throw this.failure;
    return Buffer.concat(chunks).includes(this.infectedMarker) ? { clean: false, signature: 'Eicar-Test-Signature' } : { clean: true };
  }
}

export const unreachableClamd = () => new Transient('clamd at 127.0.0.1:1 is unreachable: connect ECONNREFUSED');

export const importConfig: ImportConfig = {
  uploadsBucket: 'uploads',
  permanentBucket: 'permanent',
  quarantineBucket: 'quarantine',
  maxImportBytes: 5 * 1024 ** 3,
  importMapConcurrency: 4,
  importMappingTimeoutSeconds: 24 * 3600,
  adminEmail: 'admins@example.com',
  appUrl: 'https://ferry.test',
};

/** Like the SFN adapter: a second start with a name already used throws ExecutionAlreadyStarted. */
export class NamedExecutions extends FakeExecutions {
  override async start(workflow: 'export' | 'import', name: string, input: unknown): Promise<{ executionArn: string }> {
    if (this.started.some((execution) => execution.workflow === workflow && execution.name === name)) {
      throw new ExecutionAlreadyStarted(`Execution Already Exists: ${name}`);
    }
    return super.start(workflow, name, input);
  }
}

/** Every fake the import use-cases take, wired. */
export function makeImportDeps() {
  return {
    config: importConfig,
    imports: new InMemoryImportRecords(),
    objects: new InMemoryObjectStore(),
    search: new InMemorySearchSource(),
    scanner: new FakeScanner(),
    mailer: new RecordingMailer(),
    push: new RecordingPushChannel(),
    rendezvous: new InMemoryRendezvous(),
    executions: new NamedExecutions(),
    audit: new InMemoryAuditLog(),
    clock: new ManualClock(),
    ids: new SequentialIds('imp'),
  };
}
export type ImportDeps = ReturnType<typeof makeImportDeps>;

export { alice };
