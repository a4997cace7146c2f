import type { StagingSearchSource } from '../../core/ports';
import { createOpenSearchClient, OpenSearchSource } from '../../adapters/aws/opensearch-search';
import { required, type PortBuilder } from './port';

export const search: PortBuilder<StagingSearchSource> = (config) =>
  new OpenSearchSource(createOpenSearchClient(required(config.opensearchUrl, 'OPENSEARCH_URL'), config.region), config.opensearchIndex);
