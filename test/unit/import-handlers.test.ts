import { describe, expect, it } from 'vitest';
import type { User } from '../../core/model';
import { makeHandler as adminQuarantine } from '../../functions/api/admin-quarantine';
import { makeHandler as completeImport } from '../../functions/api/complete-import';
import { makeHandler as createImport } from '../../functions/api/create-import';
import { makeHandler as getImport } from '../../functions/api/get-import';
import type { HttpEvent } from '../../functions/http';
import { makeHandler as onUploadCreated, uploadedObjectOf } from '../../functions/import/on-upload-created';
import { alice, bob } from './fakes';
import { makeImportDeps } from './import-fakes';

const admin: User = { userId: 'user-admin', username: 'admin', email: 'admin@example.com', groups: ['admin'] };

/** An HTTP API (payload 2.0) event as API Gateway's JWT authorizer passes it on. */
const httpEvent = (
  user: User,
  options: { body?: unknown; pathParameters?: Record<string, string>; query?: Record<string, string> } = {},
): HttpEvent =>
  ({
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    isBase64Encoded: false,
    pathParameters: options.pathParameters,
    queryStringParameters: options.query,
    requestContext: {
      requestId: 'req-1',
      authorizer: {
        jwt: {
          claims: {
            sub: user.userId,
            'cognito:username': user.username,
            email: user.email,
            'cognito:groups': `[${user.groups.join(' ')}]`,
          },
          scopes: null,
        },
      },
    },
  }) as unknown as HttpEvent;

const bodyOf = (result: { body?: string }) => JSON.parse(result.body ?? 'null') as Record<string, unknown>;

describe('import HTTP handlers', () => {
  it('POST /api/imports answers 201 with the import id and its upload form', async () => {
    const deps = makeImportDeps();
    const result = await createImport(deps)(
      httpEvent(alice, { body: { fileName: 'a.csv', size: 10, contentType: 'text/csv', type: 'direct' } }),
    );
    expect(result.statusCode).toBe(201);
    expect(bodyOf(result)).toMatchObject({
      importId: expect.any(String),
      upload: { method: 'POST', url: expect.any(String), fields: expect.any(Object) },
    });
  });

  it('POST /api/imports answers 400 naming the bad field', async () => {
    const deps = makeImportDeps();
    const result = await createImport(deps)(
      httpEvent(alice, { body: { fileName: 'a.csv', size: 0, contentType: 'text/csv', type: 'direct' } }),
    );
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toMatchObject({ field: 'size', message: expect.stringContaining('size') });
  });

  it("GET /api/imports/{id} of another user's import answers 404", async () => {
    const deps = makeImportDeps();
    const created = bodyOf(
      await createImport(deps)(httpEvent(alice, { body: { fileName: 'a.csv', size: 10, contentType: 'text/csv', type: 'direct' } })),
    );
    const importId = String(created.importId);

    expect((await getImport(deps)(httpEvent(bob, { pathParameters: { importId } }))).statusCode).toBe(404);
    const own = await getImport(deps)(httpEvent(alice, { pathParameters: { importId } }));
    expect(own.statusCode).toBe(200);
    expect(bodyOf(own)).toMatchObject({ importId, status: 'AWAITING_UPLOAD' });
  });

  it('POST /api/imports/{id}/complete before the upload answers 400', async () => {
    const deps = makeImportDeps();
    const created = bodyOf(
      await createImport(deps)(httpEvent(alice, { body: { fileName: 'a.csv', size: 10, contentType: 'text/csv', type: 'direct' } })),
    );
    const result = await completeImport(deps)(httpEvent(alice, { pathParameters: { importId: String(created.importId) }, body: {} }));
    expect(result.statusCode).toBe(400);
  });

  it('GET /api/admin/quarantine answers 403 to a member and 200 to an admin', async () => {
    const deps = makeImportDeps();
    expect((await adminQuarantine(deps)(httpEvent(alice))).statusCode).toBe(403);
    const result = await adminQuarantine(deps)(httpEvent(admin, { query: { limit: '10' } }));
    expect(result.statusCode).toBe(200);
    expect(bodyOf(result)).toEqual({ items: [] });
  });
});

describe('onUploadCreated', () => {
  it('reads the object from an EventBridge "Object Created" event, its key as the object\'s name, with its ETag and size to pin', () => {
    expect(
      uploadedObjectOf({
        'detail-type': 'Object Created',
        source: 'aws.s3',
        detail: { bucket: { name: 'uploads' }, object: { key: 'uploads/user:1/b/c', size: 10, etag: 'abc123' } },
      }),
    ).toEqual({ bucket: 'uploads', key: 'uploads/user:1/b/c', size: 10, etag: 'abc123' });
  });

  it('starts the execution of the import the upload belongs to', async () => {
    const deps = makeImportDeps();
    const created = bodyOf(
      await createImport(deps)(httpEvent(alice, { body: { fileName: 'a.csv', size: 10, contentType: 'text/csv', type: 'direct' } })),
    );
    const record = await deps.imports.get(String(created.importId));
    deps.objects.put('uploads', record?.upload.key ?? '', '0123456789');

    await onUploadCreated(deps)({
      'detail-type': 'Object Created',
      source: 'aws.s3',
      detail: { bucket: { name: 'uploads' }, object: { key: record?.upload.key ?? '', size: 10 } },
    });
    expect(deps.executions.started.map((execution) => execution.name)).toEqual([created.importId]);
  });
});
