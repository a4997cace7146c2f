import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { newestFirstPage, type NewestFirstList } from './sqlite-pages';
import type { AuditEntry, AuditLog, ConnectionRendezvous, ExportProgress, ExportProgressSnapshot } from '../../core/ports';

/**
 * The local stack's records (audit trail, connection rendezvous, export progress) in one SQLite file. Each
 * rendezvous half is one INSERT … ON CONFLICT … RETURNING statement: atomic, so the second arrival
 * sees both halves, even with several processes on the file (WAL, busy timeout).
 */
export function openRecordsDatabase(file: string): DatabaseSync {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new DatabaseSync(file);
  db.exec(`
    PRAGMA journal_mode = WAL;
    PRAGMA busy_timeout = 5000;
    PRAGMA synchronous = NORMAL;
    CREATE TABLE IF NOT EXISTS audit_entries (
      id TEXT PRIMARY KEY,
      recorded_at TEXT NOT NULL,
      entry TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS audit_entries_newest_first ON audit_entries (recorded_at DESC, id DESC);
    CREATE TABLE IF NOT EXISTS rendezvous (
      execution_arn TEXT PRIMARY KEY,
      connection_id TEXT,
      task_token TEXT,
      updated_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS connections (
      connection_id TEXT PRIMARY KEY,
      execution_arn TEXT NOT NULL,
      connected_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS export_progress (
      export_id TEXT PRIMARY KEY,
      rows_written INTEGER NOT NULL,
      total_rows INTEGER,
      updated_at TEXT NOT NULL
    );
  `);
  return db;
}

const AUDIT_LIST: NewestFirstList = { table: 'audit_entries', sortColumn: 'recorded_at', idColumn: 'id', jsonColumn: 'entry' };

export class SqliteAuditLog implements AuditLog {
  constructor(private readonly db: DatabaseSync) {}

  async record(entry: AuditEntry): Promise<void> {
    // Same id, same entry: a retried task replaces rather than duplicates.
    this.db
      .prepare('INSERT OR REPLACE INTO audit_entries (id, recorded_at, entry) VALUES (?, ?, ?)')
      .run(entry.id, entry.recordedAt, JSON.stringify(entry));
  }

  async list(options: { limit: number; cursor?: string }): Promise<{ entries: AuditEntry[]; nextCursor?: string }> {
    const { items, nextCursor } = newestFirstPage<AuditEntry>(this.db, AUDIT_LIST, options);
    return { entries: items, ...(nextCursor ? { nextCursor } : {}) };
  }
}

export class SqliteConnectionRendezvous implements ConnectionRendezvous {
  constructor(private readonly db: DatabaseSync) {}

  async attachConnection(executionArn: string, connectionId: string): Promise<{ taskToken?: string }> {
    const now = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO connections (connection_id, execution_arn, connected_at) VALUES (?, ?, ?)
         ON CONFLICT (connection_id) DO UPDATE SET execution_arn = excluded.execution_arn, connected_at = excluded.connected_at`,
      )
      .run(connectionId, executionArn, now);
    const row = this.db
      .prepare(
        `INSERT INTO rendezvous (execution_arn, connection_id, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (execution_arn) DO UPDATE SET connection_id = excluded.connection_id, updated_at = excluded.updated_at
         RETURNING task_token`,
      )
      .get(executionArn, connectionId, now) as { task_token: string | null } | undefined;
    return row?.task_token ? { taskToken: row.task_token } : {};
  }

  async attachTaskToken(executionArn: string, taskToken: string): Promise<{ connectionId?: string }> {
    const row = this.db
      .prepare(
        `INSERT INTO rendezvous (execution_arn, task_token, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (execution_arn) DO UPDATE SET task_token = excluded.task_token, updated_at = excluded.updated_at
         RETURNING connection_id`,
      )
      .get(executionArn, taskToken, new Date().toISOString()) as { connection_id: string | null } | undefined;
    return row?.connection_id ? { connectionId: row.connection_id } : {};
  }

  async connectionOf(executionArn: string): Promise<string | undefined> {
    const row = this.db.prepare('SELECT connection_id FROM rendezvous WHERE execution_arn = ?').get(executionArn) as
      { connection_id: string | null } | undefined;
    return row?.connection_id ?? undefined;
  }

  async detachConnection(connectionId: string): Promise<void> {
    const row = this.db.prepare('DELETE FROM connections WHERE connection_id = ? RETURNING execution_arn').get(connectionId) as
      { execution_arn: string } | undefined;
    if (!row) return;
    // Only if it is still the execution's current connection: the browser may have reconnected.
    this.db
      .prepare('UPDATE rendezvous SET connection_id = NULL, updated_at = ? WHERE execution_arn = ? AND connection_id = ?')
      .run(new Date().toISOString(), row.execution_arn, connectionId);
  }
}

/** One row per export, replaced at each record. */
export class SqliteExportProgress implements ExportProgress {
  constructor(private readonly db: DatabaseSync) {}

  async record(exportId: string, progress: ExportProgressSnapshot): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO export_progress (export_id, rows_written, total_rows, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (export_id) DO UPDATE SET rows_written = excluded.rows_written, total_rows = excluded.total_rows, updated_at = excluded.updated_at`,
      )
      .run(exportId, progress.rowsWritten, progress.totalRows ?? null, progress.updatedAt);
  }

  async get(exportId: string): Promise<ExportProgressSnapshot | undefined> {
    const row = this.db.prepare('SELECT rows_written, total_rows, updated_at FROM export_progress WHERE export_id = ?').get(exportId) as
      { rows_written: number; total_rows: number | null; updated_at: string } | undefined;
    if (!row) return undefined;
    return { rowsWritten: row.rows_written, ...(row.total_rows !== null ? { totalRows: row.total_rows } : {}), updatedAt: row.updated_at };
  }
}
