import { pathToFileURL } from 'node:url';
import { OpenSearchSource, createOpenSearchClient, stagingIndexOf, versionedIndexOf } from '../../adapters/aws/opensearch-search';

/**
 * `npm run search:init`: creates the versioned posts index (strict mapping) with its alias, unless it exists.
 * Run once per stage after the search stack and before the first import (infra/aws/README.md, deploy order);
 * running it again does nothing. It sends exactly HEAD /<alias>-v<N> and, when that is 404, PUT /<alias>-v<N>,
 * then the same for the imports' staging index <alias>-staging-v<N>
 * (IAM: infra/aws/search-init-policy.json; OpenSearch role: `ferry_search_init` in opensearch-security.json).
 *
 *   OPENSEARCH_URL=https://<endpoint> [OPENSEARCH_INDEX=posts] AWS_REGION=<region> npm run search:init
 */
export async function initSearchIndex(url: string, alias: string, region: string): Promise<string> {
  const source = new OpenSearchSource(createOpenSearchClient(url, region), alias);
  const outcome = await source.ensureIndex();
  const staging = await source.ensureStagingIndex();
  const said = (o: 'created' | 'exists') => (o === 'created' ? 'created' : 'already there');
  return `${versionedIndexOf(alias)} (alias ${alias}): ${said(outcome)}; ${stagingIndexOf(alias)} (imports' staging): ${said(staging)}`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const url = process.env.OPENSEARCH_URL;
  if (!url) {
    console.error('usage: OPENSEARCH_URL=https://<endpoint> [OPENSEARCH_INDEX=posts] npm run search:init');
    process.exitCode = 1;
  } else {
    initSearchIndex(url, process.env.OPENSEARCH_INDEX || 'posts', process.env.AWS_REGION ?? 'us-east-1').then(
      (message) => console.log(message),
      (error: unknown) => {
        console.error(error instanceof Error ? error.message : error);
        process.exitCode = 1;
      },
    );
  }
}
