import * as z from 'zod';
import { mapLimit } from '../concurrency';
import type { CreatedResources, ResourcePage, ResourceView } from '../contract';
import { Conflict } from '../errors';
import { isRecord } from '../guards';
import { createUploads, MAX_BATCH_FILES, type CreateDeps } from '../import/use-cases';
import { parseCreateImportRequest } from '../import/upload-policy';
import type { User } from '../model';
import type { ImportRecords, ObjectStore } from '../ports';
import { parseInput } from '../validation';
import { quarantinedResourceStays, resourceStillChecked } from './messages';
import { ownedResource, type ResourceRecord } from './records';
import { publicStatusOf } from '../import/records';

/**
 * The resources' HTTP use-cases. Creating one is creating an import of kind `resource`: the same body,
 * the same presigned POST or multipart upload, and the same /parts, /complete and object-created event
 * (core/import/use-cases.ts) start the same workflow; these add the list, the view and delete.
 */

/** Download and thumbnail links in a view: fresh on every read, short-lived. */
export const RESOURCE_LINK_SECONDS = 900;

/** `POST /api/resources`: one file (201 `{resourceId, upload}`) or `{files:[…]}` (201 `{batchId, resources}`). */
export async function createResources(deps: CreateDeps, user: User, body: unknown): Promise<CreatedResources> {
  // The browser shows a resource's ✓ or ✗ as it polls, so unless it asks for mail or push, delivery is `direct`.
  const asked = isRecord(body) && !('delivery' in body) && !('type' in body) ? { ...body, delivery: 'direct' } : body;
  const request = parseCreateImportRequest(asked, { maxImportBytes: deps.config.maxImportBytes, maxBatchFiles: MAX_BATCH_FILES });
  const { batchId, uploads } = await createUploads(deps, user, request, 'resource');
  if (!batchId) {
    const [only] = uploads;
    if (!only) throw new Error('a resource request holds at least one file');
    return { resourceId: only.record.importId, upload: only.instructions };
  }
  return {
    batchId,
    resources: uploads.map(({ record, instructions }) => ({
      resourceId: record.importId,
      fileName: record.fileName,
      upload: instructions,
    })),
  };
}

type ViewDeps = { imports: ImportRecords; objects: ObjectStore; config: { permanentBucket: string } };

/** `GET /api/resources/{resourceId}`: another user's is not found. */
export async function resourceStatus(deps: ViewDeps, user: User, resourceId: string): Promise<ResourceView> {
  return resourceView(deps, await ownedResource(deps.imports, user, resourceId));
}

const ListQuerySchema = z
  .object({ limit: z.coerce.number().int().min(1).max(100).default(50), cursor: z.string().max(2000).optional() })
  .strict();

/** `GET /api/resources?limit&cursor`: the caller's resources, newest first, each with fresh links. */
export async function listResources(deps: ViewDeps, user: User, query: Record<string, string | undefined>): Promise<ResourcePage> {
  const { limit, cursor } = parseInput(ListQuerySchema, query);
  const page = await deps.imports.listResources(user.userId, { limit, ...(cursor ? { cursor } : {}) });
  const items = await mapLimit(page.records as ResourceRecord[], 16, (record) => resourceView(deps, record));
  return { items, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
}

/**
 * `DELETE /api/resources/{resourceId}`: the kept file, its thumbnail, any upload and the record go. A
 * quarantined file stays for the admins, and one being checked waits for its outcome (both 409); the
 * audit log keeps the resource's history either way.
 */
export async function deleteResource(deps: ViewDeps, user: User, resourceId: string): Promise<void> {
  const record = await ownedResource(deps.imports, user, resourceId);
  if (record.status === 'QUARANTINED') throw new Conflict(quarantinedResourceStays);
  // Mid-check, "Keep resource" could be moving the file as it is deleted, leaving a copy nobody owns.
  if (record.status === 'RUNNING') throw new Conflict(resourceStillChecked);
  if (record.upload.method === 'multipart' && record.upload.uploadId && record.status === 'AWAITING_UPLOAD') {
    await deps.objects.abortMultipartUpload(record.upload.bucket, record.upload.key, record.upload.uploadId).catch(() => undefined);
  }
  await deps.objects.delete(record.upload.bucket, record.upload.key);
  if (record.permanentKey) await deps.objects.delete(deps.config.permanentBucket, record.permanentKey);
  if (record.thumbnailKey) await deps.objects.delete(deps.config.permanentBucket, record.thumbnailKey);
  await deps.imports.delete(record.importId);
}

async function resourceView(deps: Omit<ViewDeps, 'imports'>, record: ResourceRecord): Promise<ResourceView> {
  const kept = record.status === 'SUCCEEDED' && record.permanentKey;
  const bucket = deps.config.permanentBucket;
  const [url, thumbnailUrl] = await Promise.all([
    kept && record.permanentKey ? deps.objects.presignGet(bucket, record.permanentKey, RESOURCE_LINK_SECONDS, record.fileName) : undefined,
    kept && record.thumbnailKey ? deps.objects.presignGet(bucket, record.thumbnailKey, RESOURCE_LINK_SECONDS) : undefined,
  ]);
  return {
    resourceId: record.importId,
    fileName: record.fileName,
    status: publicStatusOf(record.status),
    size: record.size,
    ...(record.detectedType ? { type: record.detectedType.mime } : {}),
    ...(record.computedSha256 ? { sha256: record.computedSha256 } : {}),
    ...(url ? { url } : {}),
    ...(thumbnailUrl ? { thumbnailUrl } : {}),
    ...(record.reason ? { reason: record.reason } : {}),
    ...(record.batchId ? { batchId: record.batchId } : {}),
    createdAt: record.createdAt,
    ...(record.uploadedAt ? { uploadedAt: record.uploadedAt } : {}),
    ...(record.finishedAt ? { finishedAt: record.finishedAt } : {}),
  };
}
