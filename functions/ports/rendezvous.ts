import type { ConnectionRendezvous } from '../../core/ports';
import { DynamoConnectionRendezvous } from '../../adapters/aws/dynamo-rendezvous';
import { documents } from './dynamo-documents';
import { required, type PortBuilder } from './port';

export const rendezvous: PortBuilder<ConnectionRendezvous> = (config) =>
  new DynamoConnectionRendezvous(documents(config), required(config.connectionsTable, 'CONNECTIONS_TABLE'));
