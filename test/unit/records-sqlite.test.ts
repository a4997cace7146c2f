import { openRecordsDatabase, SqliteAuditLog, SqliteConnectionRendezvous, SqliteExportProgress } from '../../adapters/local/sqlite-records';
import { SqliteImportRecords } from '../../adapters/local/sqlite-import-records';
import { describeAuditLog } from './specs/audit-log-spec';
import { describeConnectionRendezvous } from './specs/connection-rendezvous-spec';
import { describeExportProgress } from './specs/export-progress-spec';
import { describeImportRecords } from './specs/import-records-spec';

/**
 * The same port specs against the SQLite adapters, until they retire (issue 8: the local stack moves its
 * records to dynalite with the DynamoDB adapters; this file then goes).
 */
const inMemory = () => {
  const db = openRecordsDatabase(':memory:');
  return { db, cleanup: () => db.close() };
};

describeAuditLog('SqliteAuditLog', async () => {
  const { db, cleanup } = inMemory();
  return { port: new SqliteAuditLog(db), cleanup };
});
describeExportProgress('SqliteExportProgress', async () => {
  const { db, cleanup } = inMemory();
  return { port: new SqliteExportProgress(db), cleanup };
});
describeConnectionRendezvous('SqliteConnectionRendezvous', async () => {
  const { db, cleanup } = inMemory();
  return { port: new SqliteConnectionRendezvous(db), cleanup };
});
describeImportRecords('SqliteImportRecords', async () => {
  const { db, cleanup } = inMemory();
  return { port: new SqliteImportRecords(db), cleanup };
});
