import type { ExportProgress } from '../../core/ports';
import { DynamoExportProgress } from '../../adapters/aws/dynamo-export-progress';
import { documents } from './dynamo-documents';
import { required, type PortBuilder } from './port';

export const exportProgress: PortBuilder<ExportProgress> = (config) =>
  new DynamoExportProgress(documents(config), required(config.connectionsTable, 'CONNECTIONS_TABLE'));
