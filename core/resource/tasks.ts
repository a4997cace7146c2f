import { Readable } from 'node:stream';
import { importAuditEntry } from '../import/audit';
import type { FileTaskInput } from '../import/job';
import { isFinal, mustGetImport, pinnedUpload } from '../import/records';
import { moveObject, type FileOutcome } from '../import/tasks';
import type { AuditLog, Clock, ImportRecords, ObjectStore } from '../ports';
import { resourceKeyOf, thumbnailKeyOf } from './records';
import { canThumbnail, makeThumbnail } from './thumbnail';

/**
 * The resource's own step of statemachines/import.asl.yaml: "Keep resource", where the Choice sends a
 * clean, allowed, intact resource instead of "Import valid rows" (its identification is in ./identify.ts).
 */

/**
 * "Keep resource": the upload moves to the permanent bucket; an image gets a thumbnail beside it (an
 * image sharp cannot decode is kept without one: the file, not its preview, is what was asked for);
 * SUCCEEDED. Safe to retry: the move finds its copy, the thumbnail is rewritten.
 */
export async function keepResource(
  deps: { imports: ImportRecords; objects: ObjectStore; audit: AuditLog; clock: Clock; config: { permanentBucket: string } },
  input: FileTaskInput,
): Promise<FileOutcome> {
  const record = await mustGetImport(deps.imports, input.importId);
  if (isFinal(record)) return { importId: record.importId, status: record.status };
  const kept = { bucket: deps.config.permanentBucket, key: resourceKeyOf(record) };
  await moveObject(deps.objects, record.upload, kept, pinnedUpload(record));
  let thumbnailKey: string | undefined;
  if (canThumbnail(record.detectedType?.mime)) {
    const thumbnail = await makeThumbnail(await deps.objects.getStream(kept.bucket, kept.key));
    if (thumbnail) {
      thumbnailKey = thumbnailKeyOf(record);
      await deps.objects.putStream(kept.bucket, thumbnailKey, Readable.from([thumbnail]), {
        contentType: 'image/webp',
        metadata: { 'resource-id': record.importId },
      });
    }
  }
  const at = deps.clock.now();
  const updated = await deps.imports.update(
    record.importId,
    { status: 'SUCCEEDED', permanentKey: kept.key, ...(thumbnailKey ? { thumbnailKey } : {}), finishedAt: at.toISOString() },
    at,
  );
  await deps.audit.record(importAuditEntry(updated, 'SUCCEEDED', at, { executionArn: input.executionArn }));
  return { importId: record.importId, status: updated.status };
}
