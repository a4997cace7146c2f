import { onUploadCreated, type UploadedObject } from '../../core/import/use-cases';
import { getDeps } from '../composition';
import { log } from '../log';

/**
 * S3's object-created event, as EventBridge delivers it in AWS (`detail.bucket.name`, `detail.object.key`)
 * or as an S3 notification (`Records[].s3`), which the local S3 emits. Keys arrive URL-encoded in the latter.
 */
type UploadEvent =
  | { 'detail-type'?: string; detail: { bucket: { name: string }; object: { key: string } } }
  | { Records: Array<{ eventName?: string; s3: { bucket: { name: string }; object: { key: string } } }> };

export function uploadedObjectsOf(event: UploadEvent): UploadedObject[] {
  if ('detail' in event) return [{ bucket: event.detail.bucket.name, key: event.detail.object.key }];
  return event.Records.filter((record) => !record.eventName || record.eventName.startsWith('ObjectCreated')).map((record) => ({
    bucket: record.s3.bucket.name,
    key: decodeURIComponent(record.s3.object.key.replace(/\+/g, ' ')),
  }));
}

/** Starts the import (or, with the last file of a batch, the batch) an upload belongs to. */
export const makeHandler = (deps: Parameters<typeof onUploadCreated>[0]) => async (event: UploadEvent) => {
  for (const object of uploadedObjectsOf(event)) {
    const outcome = await onUploadCreated(deps, object);
    log.info({ bucket: object.bucket, key: object.key, outcome }, 'upload arrived');
  }
};

export const handler = async (event: UploadEvent, _context?: unknown) => makeHandler(await getDeps())(event);
