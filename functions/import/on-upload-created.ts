import { onUploadCreated, type UploadedObject } from '../../core/import/use-cases';
import { wired } from '../composition';
import { clock } from '../ports/clock';
import { executions } from '../ports/executions';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { log } from '../log';

/**
 * S3's "Object Created" event as EventBridge delivers it, in AWS and from the local S3 alike
 * (infra/local/local-eventbridge.ts): one object per event, its key as the object's name.
 */
export interface ObjectCreatedEvent {
  'detail-type': 'Object Created';
  source: 'aws.s3';
  detail: { bucket: { name: string }; object: { key: string; size?: number; etag?: string } };
}

export function uploadedObjectOf(event: ObjectCreatedEvent): UploadedObject {
  const { key, size, etag } = event.detail.object;
  return { bucket: event.detail.bucket.name, key, ...(etag !== undefined ? { etag } : {}), ...(size !== undefined ? { size } : {}) };
}

/** Starts the import (or, with the last file of a batch, the batch) an upload belongs to; deletes a late one. */
export const makeHandler = (deps: Parameters<typeof onUploadCreated>[0]) => async (event: ObjectCreatedEvent) => {
  const object = uploadedObjectOf(event);
  const outcome = await onUploadCreated(deps, object);
  log.info({ bucket: object.bucket, key: object.key, outcome }, 'upload arrived');
};

export const handler = wired({ imports, executions, clock, objects }, makeHandler);
