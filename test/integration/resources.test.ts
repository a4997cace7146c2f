import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, mailMatching, pollUntil, signIn, uploadWithForm, useStack, type UploadForm } from './client';
import { peakFilesInFlight } from './history';
import { startStackProcess, type StackProcess } from './stack-process';
import { clamdMissing, titled } from '../requirements';
import { docx, EICAR, encryptedZip, jpeg, pdf, windowsExecutable } from '../fixtures/resource-files';
import type { CreatedResources, ImportStatusView, QuarantinePage, ResourcePage, ResourceView } from '../../core/contract';

/**
 * Resources through the public protocols only: the HTTP API, the browser's presigned POST to the local S3,
 * the download links it hands back, and (for the batch's concurrency) the local Step Functions history.
 */

let own: StackProcess | undefined;
let alice: string;
let bob: string;
let admin: string;

beforeAll(async () => {
  own = await startStackProcess('it-resources', { SEED_ROWS: '0' });
  useStack(own.info);
  [alice, bob, admin] = await Promise.all([signIn('alice'), signIn('bob'), signIn('admin')]);
});

afterAll(async () => {
  await own?.stop();
});

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** `POST /api/resources` for one file and its upload, as the web app does it. */
async function uploadResource(token: string, fileName: string, bytes: Buffer, contentType: string): Promise<string> {
  const { status, body } = await api<CreatedResources>(token, 'POST', '/resources', {
    fileName,
    size: bytes.length,
    contentType,
    sha256: sha256(bytes),
  });
  if (status !== 201 || !('resourceId' in body)) throw new Error(`POST /resources answered ${status}: ${JSON.stringify(body)}`);
  await uploadWithForm(body.upload as UploadForm, bytes, contentType);
  return body.resourceId;
}

async function resource(token: string, id: string): Promise<ResourceView> {
  const { status, body } = await api<ResourceView>(token, 'GET', `/resources/${id}`);
  if (status !== 200) throw new Error(`GET /resources/${id} answered ${status}: ${JSON.stringify(body)}`);
  return body;
}

const ended = (token: string, id: string) =>
  pollUntil(
    () => resource(token, id),
    (view) => view.status !== 'RUNNING' && view.status !== 'AWAITING_UPLOAD',
  );

async function download(url: string): Promise<Buffer> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`download answered ${res.status}: ${await res.text()}`);
  return Buffer.from(await res.arrayBuffer());
}

describe('POST /api/resources', () => {
  it('answers 400 naming the field, as for imports', async () => {
    const { status, body } = await api<{ field: string }>(alice, 'POST', '/resources', {
      fileName: 'a.pdf',
      size: 0,
      contentType: 'application/pdf',
    });
    expect(status).toBe(400);
    expect(body.field).toBe('size');
  });
});

describe.skipIf(clamdMissing())(titled('resources through the local stack', clamdMissing()), () => {
  it('a JPEG, a PDF and a DOCX are scanned, identified, kept and downloadable byte for byte; the JPEG has a thumbnail', async () => {
    const files = [
      { fileName: 'boundary.jpg', bytes: await jpeg(1200, 900), contentType: 'image/jpeg', type: 'image/jpeg' },
      { fileName: 'deed.pdf', bytes: pdf('Deed of title, parcel 12/4'), contentType: 'application/pdf', type: 'application/pdf' },
      {
        fileName: 'survey.docx',
        bytes: docx('Survey notes'),
        contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
        type: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      },
    ];
    const ids = await Promise.all(files.map((file) => uploadResource(alice, file.fileName, file.bytes, file.contentType)));
    for (const [i, id] of ids.entries()) {
      const file = files[i]!;
      const view = await ended(alice, id);
      expect(view).toMatchObject({
        status: 'SUCCEEDED',
        fileName: file.fileName,
        size: file.bytes.length,
        type: file.type,
        sha256: sha256(file.bytes),
      });
      expect(view.reason).toBeUndefined();
      expect(await download(view.url ?? '')).toEqual(file.bytes);
    }
    const image = await resource(alice, ids[0]!);
    const thumbnail = await sharp(await download(image.thumbnailUrl ?? '')).metadata();
    expect({ format: thumbnail.format, width: thumbnail.width, height: thumbnail.height }).toEqual({
      format: 'webp',
      width: 256,
      height: 192,
    });
    expect((await resource(alice, ids[1]!)).thumbnailUrl).toBeUndefined();

    const list = await api<ResourcePage>(alice, 'GET', '/resources');
    expect(list.status).toBe(200);
    expect(list.body.items.filter((item) => ids.includes(item.resourceId)).map((item) => item.status)).toEqual([
      'SUCCEEDED',
      'SUCCEEDED',
      'SUCCEEDED',
    ]);
  });

  it('the EICAR file named photo.jpg is quarantined, admins are alerted and see it, and nobody gets a link', async () => {
    const id = await uploadResource(alice, 'photo.jpg', Buffer.from(EICAR), 'image/jpeg');
    const view = await ended(alice, id);
    expect(view.status).toBe('QUARANTINED');
    expect(view.reason).toMatch(/malware \(.*Eicar.*\)/i);
    expect(view.url).toBeUndefined();
    const quarantine = await api<QuarantinePage>(admin, 'GET', '/admin/quarantine');
    expect(quarantine.body.items.some((item) => item.importId === id && item.fileName === 'photo.jpg')).toBe(true);
    expect(await mailMatching((mail) => mail.includes(id) && /quarantined/i.test(mail))).toContain(id);
    expect((await api(alice, 'DELETE', `/resources/${id}`)).status).toBe(409);
  });

  it.each([
    [
      'an .exe renamed .pdf',
      'invoice.pdf',
      windowsExecutable(),
      'application/pdf',
      /EXE \(application\/x-msdownload\), which is not a type Ferry accepts/,
    ],
    ['a password-protected ZIP', 'archive.zip', encryptedZip(), 'application/zip', /password-protected/],
    ['an encrypted PDF', 'sealed.pdf', pdf('secret', { encrypt: true }), 'application/pdf', /PDF is encrypted/],
  ])('%s is rejected with the reason', async (_what, fileName, bytes, contentType, reason) => {
    const id = await uploadResource(alice, fileName, bytes, contentType);
    const view = await ended(alice, id);
    expect(view.status).toBe('REJECTED');
    expect(view.reason).toMatch(/^The file was not kept: /);
    expect(view.reason).toMatch(reason);
    expect(view.url).toBeUndefined();
  });

  it("another user's resource is not found: not to read, not to delete; and it is not in their list", async () => {
    const id = await uploadResource(alice, 'private.pdf', pdf('private'), 'application/pdf');
    await ended(alice, id);
    expect((await api(bob, 'GET', `/resources/${id}`)).status).toBe(404);
    expect((await api(bob, 'DELETE', `/resources/${id}`)).status).toBe(404);
    expect((await api<ResourcePage>(bob, 'GET', '/resources')).body.items.some((item) => item.resourceId === id)).toBe(false);
    expect((await api<ResourceView>(alice, 'GET', `/resources/${id}`)).status).toBe(200);
  });

  it('deleting a kept resource removes it from the list and its download link stops working', async () => {
    const bytes = pdf('to be deleted');
    const id = await uploadResource(alice, 'old.pdf', bytes, 'application/pdf');
    const view = await ended(alice, id);
    expect(await download(view.url ?? '')).toEqual(bytes);
    expect((await api(alice, 'DELETE', `/resources/${id}`)).status).toBe(204);
    expect((await api(alice, 'GET', `/resources/${id}`)).status).toBe(404);
    expect((await api<ResourcePage>(alice, 'GET', '/resources')).body.items.some((item) => item.resourceId === id)).toBe(false);
    expect((await fetch(view.url ?? '')).status).toBe(404);
  });

  it('a batch of 100 small resources runs as one execution, at most IMPORT_MAP_CONCURRENCY files at a time, each kept', async () => {
    const files = Array.from({ length: 100 }, (_, i) => ({ fileName: `note-${i + 1}.txt`, bytes: Buffer.from(`Field note ${i + 1}.\n`) }));
    const { status, body } = await api<CreatedResources>(alice, 'POST', '/resources', {
      files: files.map((file) => ({
        fileName: file.fileName,
        size: file.bytes.length,
        contentType: 'text/plain',
        sha256: sha256(file.bytes),
      })),
    });
    expect(status).toBe(201);
    if (!('batchId' in body)) throw new Error('expected a batch');
    expect(body.resources.map((item) => item.fileName)).toEqual(files.map((file) => file.fileName));
    for (let i = 0; i < files.length; i += 20) {
      await Promise.all(
        body.resources.slice(i, i + 20).map((item, j) => uploadWithForm(item.upload as UploadForm, files[i + j]!.bytes, 'text/plain')),
      );
    }
    const batch = await pollUntil(
      async () => (await api<{ status: string; files: ImportStatusView[] }>(alice, 'GET', `/imports/${body.batchId}`)).body,
      (view) => view.status === 'COMPLETED',
      180_000,
    );
    expect(batch.files.map((file) => file.status)).toEqual(files.map(() => 'SUCCEEDED'));
    const views = await Promise.all(body.resources.slice(0, 5).map((item) => resource(alice, item.resourceId)));
    expect(views.map((view) => view.type)).toEqual(views.map(() => 'text/plain'));
    expect(await download(views[0]?.url ?? '')).toEqual(files[0]!.bytes);

    const executionArns = new Set(batch.files.map((file) => file.executionArn));
    expect(executionArns.size).toBe(1);
    const peak = await peakFilesInFlight([...executionArns][0] ?? '', 'Keep resource');
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(10);
  });
});
