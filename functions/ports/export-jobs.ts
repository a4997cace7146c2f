import type { ExportRecords } from '../../core/ports';
import { DynamoExportRecords } from '../../adapters/aws/dynamo-export-records';
import { documents } from './dynamo-documents';
import { required, type PortBuilder } from './port';

export const exportJobs: PortBuilder<ExportRecords> = (config) =>
  new DynamoExportRecords(documents(config), required(config.jobsTable, 'JOBS_TABLE'));
