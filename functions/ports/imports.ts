import type { ImportRecords } from '../../core/ports';
import { DynamoImportRecords } from '../../adapters/aws/dynamo-import-records';
import { documents } from './dynamo-documents';
import { required, type PortBuilder } from './port';

export const imports: PortBuilder<ImportRecords> = (config) =>
  new DynamoImportRecords(documents(config), required(config.importsTable, 'IMPORTS_TABLE'));
