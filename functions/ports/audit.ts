import type { AuditLog } from '../../core/ports';
import { DynamoAuditLog } from '../../adapters/aws/dynamo-audit-log';
import { documents } from './dynamo-documents';
import { required, type PortBuilder } from './port';

export const audit: PortBuilder<AuditLog> = (config) => new DynamoAuditLog(documents(config), required(config.auditTable, 'AUDIT_TABLE'));
