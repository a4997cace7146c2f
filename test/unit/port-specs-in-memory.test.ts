import { describeAuditLog } from './specs/audit-log-spec';
import { describeConnectionRendezvous } from './specs/connection-rendezvous-spec';
import { describeExportProgress } from './specs/export-progress-spec';
import { describeImportRecords } from './specs/import-records-spec';
import { InMemoryAuditLog, InMemoryExportProgress, InMemoryRendezvous } from './fakes';
import { InMemoryImportRecords } from './import-fakes';

/**
 * The in-memory fakes the use-case tests run on, held to the same specs as the DynamoDB adapters
 * (adapters-dynamo.test.ts): a use-case test that passes on a fake then means what it says on DynamoDB.
 */
describeAuditLog('InMemoryAuditLog', async () => ({ port: new InMemoryAuditLog() }));
describeExportProgress('InMemoryExportProgress', async () => ({ port: new InMemoryExportProgress() }));
describeConnectionRendezvous('InMemoryRendezvous', async () => ({ port: new InMemoryRendezvous() }));
describeImportRecords('InMemoryImportRecords', async () => ({ port: new InMemoryImportRecords() }));
