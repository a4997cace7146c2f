import { NotFound } from '../errors';
import { isIssuedId, type ImportRecord } from '../import/records';
import type { User } from '../model';
import type { ImportRecords } from '../ports';

/**
 * A resource is an import record of kind `resource`: the same table, the same upload, the same three
 * checks in the same workflow; only its outcome differs (kept as it is, not imported). So every task
 * that reads "the record" reads both kinds, and quarantine, failure handling and retries serve both.
 */
export type ResourceRecord = ImportRecord & { kind: 'resource' };

export const isResource = (record: ImportRecord | undefined): record is ResourceRecord => record?.kind === 'resource';

/** Where a kept resource and its thumbnail live: built only from ids Ferry issued, never from the file name. */
export const resourceKeyOf = (record: ImportRecord): string => `resources/${record.owner.userId}/${record.importId}/original`;
export const thumbnailKeyOf = (record: ImportRecord): string => `resources/${record.owner.userId}/${record.importId}/thumbnail.webp`;

/** The caller's resource; someone else's, an import, or an odd id are all simply not found. */
export async function ownedResource(imports: ImportRecords, user: User, resourceId: string): Promise<ResourceRecord> {
  const record = isIssuedId(resourceId) ? await imports.get(resourceId) : undefined;
  if (!isResource(record) || record.owner.userId !== user.userId) throw new NotFound('No resource with that id.');
  return record;
}
