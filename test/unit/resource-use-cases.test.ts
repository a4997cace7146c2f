import { Readable } from 'node:stream';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { CreatedResources } from '../../core/contract';
import { Conflict, NotFound } from '../../core/errors';
import {
  computeChecksum,
  identifyImportFormat,
  quarantineFile,
  rejectFile,
  scanForViruses,
  type CheckResults,
} from '../../core/import/tasks';
import { onUploadCreated } from '../../core/import/use-cases';
import { keepResource } from '../../core/resource/tasks';
import { createResources, deleteResource, listResources, resourceStatus } from '../../core/resource/use-cases';
import type { User } from '../../core/model';
import { alice, bob } from './fakes';
import { makeImportDeps, type ImportDeps } from './import-fakes';
import { EICAR, jpeg, pdf, windowsExecutable } from '../fixtures/resource-files';

const single = (created: CreatedResources) => {
  if (!('resourceId' in created)) throw new Error('expected one resource');
  return created;
};

/** Creates a resource, "uploads" its bytes where the upload form points, and announces the upload. */
async function uploaded(deps: ImportDeps, fileName: string, bytes: Buffer, user: User = alice) {
  const created = single(await createResources(deps, user, { fileName, size: bytes.length, contentType: 'application/octet-stream' }));
  const record = await deps.imports.get(created.resourceId);
  await deps.objects.putStream(record!.upload.bucket, record!.upload.key, Readable.from([bytes]), {
    contentType: 'application/octet-stream',
  });
  await onUploadCreated(deps, record!.upload);
  return created.resourceId;
}

/** The workflow's three checks, as "Check the uploaded file" runs them. */
async function check(deps: ImportDeps, importId: string): Promise<CheckResults> {
  const input = { importId, executionArn: 'arn:test' };
  const [antivirus, checksum, format] = await Promise.all([
    scanForViruses(deps, input),
    computeChecksum(deps, input),
    identifyImportFormat(deps, input),
  ]);
  if ('ranges' in antivirus || 'progress' in checksum) throw new Error('a resource this small is scanned and checksummed whole');
  return { antivirus, checksum, format };
}

const bytesOf = async (deps: ImportDeps, bucket: string, key: string) => {
  const chunks: Buffer[] = [];
  for await (const chunk of await deps.objects.getStream(bucket, key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

describe('resources', () => {
  it('a resource is created like an import (same upload form), recorded as kind resource, and starts the import workflow', async () => {
    const deps = makeImportDeps();
    const created = single(await createResources(deps, alice, { fileName: 'deed.pdf', size: 100, contentType: 'application/pdf' }));
    expect(created.upload.method).toBe('POST');
    expect((await deps.imports.get(created.resourceId))?.kind).toBe('resource');
    expect(await resourceStatus(deps, alice, created.resourceId)).toMatchObject({
      status: 'AWAITING_UPLOAD',
      fileName: 'deed.pdf',
      size: 100,
    });
    await uploaded(deps, 'deed.pdf', pdf());
    expect(deps.executions.started.map((execution) => execution.workflow)).toEqual(['import']);
  });

  it('a batch answers one entry per file under one batchId', async () => {
    const deps = makeImportDeps();
    const created = await createResources(deps, alice, {
      files: [
        { fileName: 'a.jpg', size: 10, contentType: 'image/jpeg' },
        { fileName: 'b.pdf', size: 20, contentType: 'application/pdf' },
      ],
    });
    if (!('batchId' in created)) throw new Error('expected a batch');
    expect(created.resources.map((resource) => resource.fileName)).toEqual(['a.jpg', 'b.pdf']);
    expect((await deps.imports.listBatch(created.batchId)).every((record) => record.kind === 'resource')).toBe(true);
  });

  it('a clean JPEG is identified, kept in the permanent bucket byte for byte with a WebP thumbnail, and listed with fresh links', async () => {
    const deps = makeImportDeps();
    const image = await jpeg(800, 600);
    const id = await uploaded(deps, 'photo.jpg', image);
    const checks = await check(deps, id);
    expect(checks.format).toMatchObject({ format: 'resource', type: { mime: 'image/jpeg' } });
    await keepResource(deps, { importId: id, executionArn: 'arn:test' });

    const view = await resourceStatus(deps, alice, id);
    expect(view).toMatchObject({ status: 'SUCCEEDED', type: 'image/jpeg', sha256: checks.checksum.sha256, size: image.length });
    expect(view.url).toContain(`resources/${alice.userId}/${id}/original`);
    expect(view.thumbnailUrl).toContain('thumbnail.webp');
    expect(await bytesOf(deps, 'permanent', `resources/${alice.userId}/${id}/original`)).toEqual(image);
    const thumbnail = await sharp(await bytesOf(deps, 'permanent', `resources/${alice.userId}/${id}/thumbnail.webp`)).metadata();
    expect({ format: thumbnail.format, width: thumbnail.width, height: thumbnail.height }).toEqual({
      format: 'webp',
      width: 256,
      height: 192,
    });
    expect(await deps.objects.head('uploads', (await deps.imports.get(id))!.upload.key)).toBeUndefined();

    const page = await listResources(deps, alice, {});
    expect(page.items.map((item) => item.resourceId)).toEqual([id]);
    expect(page.items[0]?.thumbnailUrl).toBeDefined();
  });

  it('a PDF is kept without a thumbnail; keeping again (a retried task) changes nothing', async () => {
    const deps = makeImportDeps();
    const id = await uploaded(deps, 'deed.pdf', pdf());
    await check(deps, id);
    await keepResource(deps, { importId: id, executionArn: 'arn:test' });
    await keepResource(deps, { importId: id, executionArn: 'arn:test' });
    const view = await resourceStatus(deps, alice, id);
    expect(view).toMatchObject({ status: 'SUCCEEDED', type: 'application/pdf' });
    expect(view.thumbnailUrl).toBeUndefined();
  });

  it('a JPEG cut short is still kept (the file is what was asked for), without a thumbnail', async () => {
    const deps = makeImportDeps();
    const image = await jpeg(400, 300);
    const id = await uploaded(deps, 'cut.jpg', image.subarray(0, Math.floor(image.length / 3)));
    await check(deps, id);
    await keepResource(deps, { importId: id, executionArn: 'arn:test' });
    const view = await resourceStatus(deps, alice, id);
    expect(view).toMatchObject({ status: 'SUCCEEDED', type: 'image/jpeg' });
    expect(view.thumbnailUrl).toBeUndefined();
  });

  it('an executable renamed .pdf is rejected with the reason, and its upload deleted', async () => {
    const deps = makeImportDeps();
    const id = await uploaded(deps, 'invoice.pdf', windowsExecutable());
    const checks = await check(deps, id);
    expect(checks.format.format).toBe('unknown');
    await rejectFile(deps, { importId: id, executionArn: 'arn:test', checks });
    const view = await resourceStatus(deps, alice, id);
    expect(view.status).toBe('REJECTED');
    expect(view.reason).toBe(
      'The file was not kept: the file is EXE (application/x-msdownload), which is not a type Ferry accepts as a resource.',
    );
    expect(view.url).toBeUndefined();
  });

  it('an infected file is quarantined, the admins alerted, and it cannot be deleted by its owner', async () => {
    const deps = makeImportDeps();
    const id = await uploaded(deps, 'photo.jpg', Buffer.from(EICAR));
    const checks = await check(deps, id);
    expect(checks.antivirus.clean).toBe(false);
    await quarantineFile(deps, { importId: id, executionArn: 'arn:test', signature: 'Eicar-Test-Signature' });
    const view = await resourceStatus(deps, alice, id);
    expect(view.status).toBe('QUARANTINED');
    expect(view.reason).toContain('nobody can download it');
    expect(deps.mailer.sent.map((mail) => mail.to)).toEqual(['admins@example.com']);
    await expect(deleteResource(deps, alice, id)).rejects.toBeInstanceOf(Conflict);
  });

  it('a resource still being checked cannot be deleted yet (409); once refused it can', async () => {
    const deps = makeImportDeps();
    const id = await uploaded(deps, 'invoice.pdf', windowsExecutable());
    await expect(deleteResource(deps, alice, id)).rejects.toBeInstanceOf(Conflict);
    const checks = await check(deps, id);
    await rejectFile(deps, { importId: id, executionArn: 'arn:test', checks });
    await deleteResource(deps, alice, id);
    await expect(resourceStatus(deps, alice, id)).rejects.toBeInstanceOf(NotFound);
  });

  it("another user's resource, an import, or an odd id are not found; each user lists only their own", async () => {
    const deps = makeImportDeps();
    const id = await uploaded(deps, 'deed.pdf', pdf());
    await uploaded(deps, 'bob.pdf', pdf(), bob);
    await expect(resourceStatus(deps, bob, id)).rejects.toBeInstanceOf(NotFound);
    await expect(deleteResource(deps, bob, id)).rejects.toBeInstanceOf(NotFound);
    await expect(resourceStatus(deps, alice, 'x'.repeat(65))).rejects.toBeInstanceOf(NotFound);
    expect((await listResources(deps, alice, {})).items.map((item) => item.fileName)).toEqual(['deed.pdf']);
  });

  it('deleting a kept resource removes the file, its thumbnail and the record', async () => {
    const deps = makeImportDeps();
    const id = await uploaded(deps, 'photo.jpg', await jpeg(64, 64));
    await check(deps, id);
    await keepResource(deps, { importId: id, executionArn: 'arn:test' });
    await deleteResource(deps, alice, id);
    await expect(resourceStatus(deps, alice, id)).rejects.toBeInstanceOf(NotFound);
    expect([...deps.objects.objects.keys()].filter((key) => key.includes(id))).toEqual([]);
    expect((await listResources(deps, alice, {})).items).toEqual([]);
  });

  it('lists newest first, a page at a time', async () => {
    const deps = makeImportDeps();
    for (const name of ['one.txt', 'two.txt', 'three.txt']) {
      await createResources(deps, alice, { fileName: name, size: 5, contentType: 'text/plain' });
      deps.clock.advance(1000);
    }
    const first = await listResources(deps, alice, { limit: '2' });
    expect(first.items.map((item) => item.fileName)).toEqual(['three.txt', 'two.txt']);
    const second = await listResources(deps, alice, { limit: '2', cursor: first.nextCursor });
    expect(second.items.map((item) => item.fileName)).toEqual(['one.txt']);
    expect(second.nextCursor).toBeUndefined();
  });
});
