import type { ImportSlotStore } from '../../core/ports';
import { DynamoImportSlots } from '../../adapters/aws/dynamo-import-slots';
import { documents } from './dynamo-documents';
import { required, type PortBuilder } from './port';

export const importSlots: PortBuilder<ImportSlotStore> = (config) =>
  new DynamoImportSlots(documents(config), required(config.connectionsTable, 'CONNECTIONS_TABLE'));
