import { QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { InvalidInput } from '../../core/errors';
import { decodeKeyCursor, encodeCursor } from '../list-cursor';
import { awsErrorName } from './transient';

/**
 * One page of a newest-first index query, shaped as the list ports promise (and the SQLite lists gave):
 * a cursor only when more items follow. DynamoDB answers a page filled exactly to `Limit` with a
 * LastEvaluatedKey even when nothing follows, which showed the admin pages a Next button onto an empty
 * page; asking for one item more tells the two apart. A cursor that is not one of ours (wrong attributes,
 * another partition) is InvalidInput on `cursor`, not the ValidationException DynamoDB answers it with.
 */
export async function newestFirstIndexPage(
  documents: DynamoDBDocumentClient,
  query: Omit<QueryCommandInput, 'Limit' | 'ExclusiveStartKey' | 'ScanIndexForward'>,
  keyAttributes: readonly string[],
  options: { limit: number; cursor?: string },
): Promise<{ items: Record<string, unknown>[]; nextCursor?: string }> {
  const limit = Math.max(1, Math.floor(options.limit));
  const start = options.cursor ? startKey(options.cursor, keyAttributes) : undefined;
  let out;
  try {
    out = await documents.send(
      new QueryCommand({ ...query, ScanIndexForward: false, Limit: limit + 1, ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
  } catch (error) {
    if (start && awsErrorName(error) === 'ValidationException') throw notOurs();
    throw error;
  }
  const items = out.Items ?? [];
  const page = items.slice(0, limit);
  const last = page.at(-1);
  // More than `limit` came back: the next page starts after this page's last item. Fewer, with a
  // LastEvaluatedKey: the 1 MB response cap cut the page short, so more may follow from there.
  const next = items.length > limit && last ? keyOf(last, keyAttributes) : out.LastEvaluatedKey;
  return { items: page, ...(next ? { nextCursor: encodeCursor(next) } : {}) };
}

const notOurs = () => new InvalidInput('The cursor is not one this list gave out.', 'cursor');

function startKey(cursor: string, keyAttributes: readonly string[]): Record<string, unknown> {
  const key = decodeKeyCursor(cursor);
  const attributes = Object.keys(key);
  const exact = attributes.length === keyAttributes.length && keyAttributes.every((name) => typeof key[name] === 'string');
  if (!exact) throw notOurs();
  return key;
}

const keyOf = (item: Record<string, unknown>, keyAttributes: readonly string[]): Record<string, unknown> =>
  Object.fromEntries(keyAttributes.map((name) => [name, item[name]]));
