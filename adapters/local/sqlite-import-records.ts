import type { DatabaseSync } from 'node:sqlite';
import { NotFound } from '../../core/errors';
import { applyImportChange, type ImportChange, type ImportRecord } from '../../core/import/records';
import { newestFirstPage, type NewestFirstList } from './sqlite-pages';
import type { ImportRecords } from '../../core/ports';

/**
 * Import records in the local stack's records.db (open it with openRecordsDatabase): one row per
 * import holding the record as JSON, plus the columns the lists need. Every change is a
 * read-modify-write inside BEGIN IMMEDIATE, so the three parallel checks of one file, and the files
 * of a batch arriving together, never lose each other's writes, even across processes.
 */
const QUARANTINE_LIST: NewestFirstList = {
  table: 'imports',
  sortColumn: 'quarantined_at',
  idColumn: 'import_id',
  jsonColumn: 'record',
  where: 'quarantined_at IS NOT NULL',
};

export class SqliteImportRecords implements ImportRecords {
  constructor(private readonly db: DatabaseSync) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS imports (
        import_id      TEXT PRIMARY KEY,
        batch_id       TEXT,
        position       INTEGER NOT NULL,
        status         TEXT NOT NULL,
        uploaded_at    TEXT,
        quarantined_at TEXT,
        record         TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS imports_by_batch ON imports (batch_id, position) WHERE batch_id IS NOT NULL;
      CREATE INDEX IF NOT EXISTS imports_quarantined ON imports (quarantined_at DESC, import_id DESC) WHERE quarantined_at IS NOT NULL;
    `);
  }

  async create(records: ImportRecord[]): Promise<void> {
    const insert = this.db.prepare(
      'INSERT INTO imports (import_id, batch_id, position, status, uploaded_at, quarantined_at, record) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.transaction(() => records.forEach((record, position) => insert.run(...this.columns(record, position))));
  }

  async get(importId: string): Promise<ImportRecord | undefined> {
    const row = this.db.prepare('SELECT record FROM imports WHERE import_id = ?').get(importId) as { record: string } | undefined;
    return row ? (JSON.parse(row.record) as ImportRecord) : undefined;
  }

  async listBatch(batchId: string): Promise<ImportRecord[]> {
    const rows = this.db.prepare('SELECT record FROM imports WHERE batch_id = ? ORDER BY position').all(batchId) as Array<{
      record: string;
    }>;
    return rows.map((row) => JSON.parse(row.record) as ImportRecord);
  }

  async update(importId: string, change: ImportChange, at: Date): Promise<ImportRecord> {
    return this.transaction(() => this.write(applyImportChange(this.mustGet(importId), change, at)));
  }

  async markUploaded(importId: string, at: Date): Promise<{ record: ImportRecord; batchUploaded: boolean }> {
    return this.transaction(() => {
      let record = this.mustGet(importId);
      if (!record.uploadedAt) {
        record = {
          ...record,
          uploadedAt: at.toISOString(),
          updatedAt: at.toISOString(),
          ...(record.status === 'AWAITING_UPLOAD' ? { status: 'RUNNING' as const } : {}),
        };
        this.write(record);
      }
      if (!record.batchId) return { record, batchUploaded: true };
      const waiting = this.db
        .prepare('SELECT count(*) AS n FROM imports WHERE batch_id = ? AND uploaded_at IS NULL')
        .get(record.batchId) as { n: number };
      return { record, batchUploaded: waiting.n === 0 };
    });
  }

  async listQuarantined(options: { limit: number; cursor?: string }): Promise<{ records: ImportRecord[]; nextCursor?: string }> {
    const { items, nextCursor } = newestFirstPage<ImportRecord>(this.db, QUARANTINE_LIST, options);
    return { records: items, ...(nextCursor ? { nextCursor } : {}) };
  }

  private mustGet(importId: string): ImportRecord {
    const row = this.db.prepare('SELECT record FROM imports WHERE import_id = ?').get(importId) as { record: string } | undefined;
    if (!row) throw new NotFound(`No import ${importId}.`);
    return JSON.parse(row.record) as ImportRecord;
  }

  private write(record: ImportRecord): ImportRecord {
    this.db
      .prepare('UPDATE imports SET status = ?, uploaded_at = ?, quarantined_at = ?, record = ? WHERE import_id = ?')
      .run(record.status, record.uploadedAt ?? null, record.quarantine?.quarantinedAt ?? null, JSON.stringify(record), record.importId);
    return record;
  }

  private columns(record: ImportRecord, position: number) {
    return [
      record.importId,
      record.batchId ?? null,
      position,
      record.status,
      record.uploadedAt ?? null,
      record.quarantine?.quarantinedAt ?? null,
      JSON.stringify(record),
    ] as const;
  }

  private transaction<T>(work: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }
}
