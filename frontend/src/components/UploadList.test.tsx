import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../lib/sha256';
import { ImportPage } from '../pages/ImportPage';
import type { ImportStatus } from '../api/types';
import { FakeApi, renderSignedIn } from '../test/fakes';

/** A status exactly as the server's contract shapes it (core/contract.ts), so a renamed field fails here. */
const importStatus = (status: Pick<ImportStatus, 'importId' | 'status' | 'checks'> & Partial<ImportStatus>): ImportStatus => ({
  fileName: `${status.importId}.csv`,
  createdAt: '2026-01-01T00:00:00.000Z',
  ...status,
});

const CSV = 'id,userId,dateCreated,content,tags\np1,alice,2025-01-01T00:00:00Z,hello,a\n';
const csvFile = (name = 'posts.csv', content = CSV) => new File([content], name, { type: 'text/csv' });
const presignedPost = (importId: string) => ({
  status: 201,
  body: { importId, upload: { url: 'http://s3.test/uploads', fields: { key: `imports/${importId}/object`, policy: 'p' } } },
});

const itemFor = (name: string) => screen.getByRole('listitem', { name });

async function chooseFiles(...files: File[]) {
  await userEvent.setup().upload(screen.getByLabelText('Choose files'), files);
}

describe('Upload list', () => {
  it('hashes a file, uploads it with real progress, shows processing, then the rows imported and the rejected-rows report', async () => {
    const api = new FakeApi()
      .on('POST', /^\/imports$/, presignedPost('imp-1'))
      .on('POST', /^\/imports\/imp-1\/complete$/, { status: 202, body: {} })
      .on('GET', /^\/imports\/imp-1$/, [
        { body: { importId: 'imp-1', status: 'RUNNING' } },
        {
          body: {
            importId: 'imp-1',
            status: 'SUCCEEDED',
            rowsImported: 1200,
            rowsRejected: 3,
            errorReportUrl: 'http://s3.test/rejected.csv',
          },
        },
      ]);
    const { storage } = renderSignedIn(<ImportPage />, { api });

    await chooseFiles(csvFile());

    await waitFor(() => expect(storage.requests).toHaveLength(1));
    const [create] = api.callsTo('POST', /^\/imports$/);
    expect(create?.body).toEqual({
      fileName: 'posts.csv',
      size: CSV.length,
      contentType: 'text/csv',
      sha256: await sha256Hex(new TextEncoder().encode(CSV)),
      delivery: 'direct',
    });
    const upload = storage.requests[0]!;
    expect(upload.request).toMatchObject({ method: 'POST', url: 'http://s3.test/uploads' });
    const form = upload.request.body as FormData;
    expect([...form.keys()]).toEqual(['key', 'policy', 'file']);

    upload.request.onProgress(Math.floor(CSV.length / 2));
    const item = itemFor('posts.csv');
    expect(await within(item).findByText(/uploading… .* \(49%\)/i)).toBeInTheDocument();
    expect(within(item).getByRole('progressbar', { name: 'Upload of posts.csv' })).toHaveAttribute(
      'value',
      String(Math.floor(CSV.length / 2)),
    );

    upload.answer({ status: 204 });
    expect(await within(item).findByText('Processing…')).toBeInTheDocument();
    expect(await within(item).findByText(/imported 1,200 rows/i)).toBeInTheDocument();
    expect(within(item).getByText(/3 rows were rejected/)).toBeInTheDocument();
    expect(within(item).getByRole('link', { name: /rejected-rows report/ })).toHaveAttribute('href', 'http://s3.test/rejected.csv');
    expect(api.callsTo('POST', /^\/imports\/imp-1\/complete$/)).toHaveLength(1);
  });

  it('shows the preview of a file that needs a column mapping, with a field chooser per column, and imports with the chosen mapping', async () => {
    const preview = {
      columns: ['Author', 'When', 'Text', 'Likes'],
      rows: [['zoë', '2025-01-01T00:00:00Z', 'hello', '3']],
      delimiter: ';' as const,
      encoding: 'windows-1252' as const,
      suggestedMapping: { Author: 'userId' as const, When: null, Text: 'content' as const, Likes: null },
    };
    let mapped = false;
    const api = new FakeApi()
      .on('POST', /^\/imports$/, presignedPost('imp-1'))
      .on('POST', /^\/imports\/imp-1\/complete$/, { status: 202, body: {} })
      .on('POST', /^\/imports\/imp-1\/mapping$/, () => {
        mapped = true;
        return { status: 202, body: { importId: 'imp-1', status: 'RUNNING' } };
      })
      .on('GET', /^\/imports\/imp-1$/, () => ({
        body: mapped
          ? importStatus({
              importId: 'imp-1',
              status: 'SUCCEEDED',
              checks: { antivirus: 'clean', checksum: 'verified', format: 'csv' },
              rowsImported: 1,
              rowsCreated: 1,
              rowsUpdated: 0,
              rowsUnchanged: 0,
              rowsRejected: 0,
            })
          : importStatus({
              importId: 'imp-1',
              status: 'NEEDS_MAPPING',
              checks: { antivirus: 'clean', checksum: 'verified', format: 'csv' },
              preview,
            }),
      }));
    const { storage } = renderSignedIn(<ImportPage />, { api });
    await chooseFiles(csvFile('sheet.csv'));
    await waitFor(() => expect(storage.requests).toHaveLength(1));
    storage.requests[0]!.answer({ status: 204 });

    const item = itemFor('sheet.csv');
    const form = await within(item).findByRole('form', { name: 'Column mapping' });
    expect(within(form).getByRole('cell', { name: 'zoë' })).toBeInTheDocument();
    expect(within(form).getByText(/semicolon-delimited, windows-1252/)).toBeInTheDocument();
    expect(within(form).getByRole('combobox', { name: 'Field for column Author' })).toHaveValue('userId');
    expect(within(form).getByText('Choose a column for dateCreated.')).toBeInTheDocument();
    expect(within(form).getByRole('button', { name: 'Import with this mapping' })).toBeDisabled();

    await userEvent.setup().selectOptions(within(form).getByRole('combobox', { name: 'Field for column When' }), 'dateCreated');
    fireEvent.click(within(form).getByRole('button', { name: 'Import with this mapping' }));

    await waitFor(() => expect(api.callsTo('POST', /^\/imports\/imp-1\/mapping$/)).toHaveLength(1));
    expect(api.callsTo('POST', /^\/imports\/imp-1\/mapping$/)[0]?.body).toEqual({
      mapping: { Author: 'userId', When: 'dateCreated', Text: 'content', Likes: null },
    });
    // What the upsert did with the row, as the status counts it.
    expect(await within(item).findByText('Imported 1 row (1 new, 0 updated, 0 unchanged).')).toBeInTheDocument();
  });

  it("says how many files are ahead while the file waits for its fair share of the engine, then follows it to its rows", async () => {
    const checks = { antivirus: 'pending', checksum: 'pending', format: 'pending' } as const;
    const since = '2026-01-01T00:00:05.000Z';
    const api = new FakeApi()
      .on('POST', /^\/imports$/, presignedPost('imp-1'))
      .on('POST', /^\/imports\/imp-1\/complete$/, { status: 202, body: {} })
      .on('GET', /^\/imports\/imp-1$/, [
        { body: importStatus({ importId: 'imp-1', status: 'RUNNING', checks, waiting: { filesAhead: 3, since } }) },
        { body: importStatus({ importId: 'imp-1', status: 'RUNNING', checks, waiting: { filesAhead: 0, since } }) },
        { body: importStatus({ importId: 'imp-1', status: 'RUNNING', checks }) },
        {
          body: importStatus({
            importId: 'imp-1',
            status: 'SUCCEEDED',
            checks: { antivirus: 'clean', checksum: 'verified', format: 'csv' },
            rowsImported: 1,
            rowsRejected: 0,
          }),
        },
      ]);
    const { storage } = renderSignedIn(<ImportPage />, { api });
    await chooseFiles(csvFile('queued.csv'));
    await waitFor(() => expect(storage.requests).toHaveLength(1));
    storage.requests[0]!.answer({ status: 204 });

    const item = itemFor('queued.csv');
    expect(await within(item).findByText('Waiting: 3 files ahead')).toBeInTheDocument();
    expect(await within(item).findByText('Waiting: next in line')).toBeInTheDocument();
    expect(await within(item).findByText('Processing…')).toBeInTheDocument();
    expect(await within(item).findByText(/Imported 1 row/)).toBeInTheDocument();
  });

  it('offers Retry on a file whose import FAILED, and follows the retried import to its rows imported', async () => {
    let retried = false;
    const checks = { antivirus: 'clean', checksum: 'verified', format: 'csv' } as const;
    const api = new FakeApi()
      .on('POST', /^\/imports$/, presignedPost('imp-1'))
      .on('POST', /^\/imports\/imp-1\/complete$/, { status: 202, body: {} })
      .on('POST', /^\/imports\/imp-1\/retry$/, () => {
        retried = true;
        return { status: 202, body: { executionArn: 'arn:aws:states:us-east-1:1:execution:ferry-import:imp-1-r1' } };
      })
      .on('GET', /^\/imports\/imp-1$/, () => ({
        body: retried
          ? importStatus({ importId: 'imp-1', status: 'SUCCEEDED', checks, rowsImported: 1, rowsRejected: 0 })
          : importStatus({ importId: 'imp-1', status: 'FAILED', checks, reason: 'The search service did not answer.' }),
      }));
    const { storage } = renderSignedIn(<ImportPage />, { api });
    await chooseFiles(csvFile('flaky.csv'));
    await waitFor(() => expect(storage.requests).toHaveLength(1));
    storage.requests[0]!.answer({ status: 204 });

    const item = itemFor('flaky.csv');
    expect(await within(item).findByText(/Import failed: the search service did not answer/)).toBeInTheDocument();
    fireEvent.click(within(item).getByRole('button', { name: 'Retry' }));

    expect(await within(item).findByText(/Imported 1 row/)).toBeInTheDocument();
    expect(api.callsTo('POST', /^\/imports\/imp-1\/retry$/)).toHaveLength(1);
    expect(within(item).queryByRole('button', { name: 'Retry' })).not.toBeInTheDocument();
  });

  it('offers no Retry when the upload itself was refused (the file is dropped again instead)', async () => {
    const api = new FakeApi().on('POST', /^\/imports$/, presignedPost('imp-2'));
    const { storage } = renderSignedIn(<ImportPage />, { api });
    await chooseFiles(csvFile('refused.csv'));
    await waitFor(() => expect(storage.requests).toHaveLength(1));
    storage.requests[0]!.answer({ status: 403 });

    const item = itemFor('refused.csv');
    await waitFor(() => expect(item).toHaveClass('failed'));
    expect(within(item).queryByRole('button', { name: 'Retry' })).not.toBeInTheDocument();
  });

  it('shows a red cross naming the virus when a dropped file is quarantined', async () => {
    const api = new FakeApi()
      .on('POST', /^\/imports$/, presignedPost('imp-eicar'))
      .on('POST', /\/complete$/, { status: 202 })
      .on('GET', /^\/imports\/imp-eicar$/, {
        body: importStatus({
          importId: 'imp-eicar',
          status: 'QUARANTINED',
          checks: { antivirus: 'infected', checksum: 'verified', format: 'csv' },
          reason: 'A virus was found (Eicar-Signature).',
          signature: 'Eicar-Signature',
        }),
      });
    const { storage } = renderSignedIn(<ImportPage />, { api });
    storage.autoAnswer = () => ({ status: 204 });

    fireEvent.drop(screen.getByText('Drag and drop files here'), { dataTransfer: { files: [csvFile('eicar.csv', 'X5O!P%@AP')] } });

    const item = await screen.findByRole('listitem', { name: 'eicar.csv' });
    expect(await within(item).findByText(/quarantined: a virus was found \(Eicar-Signature\)/i)).toBeInTheDocument();
    expect(item).toHaveClass('quarantined');
  });

  it('shows each of several files ending its own way: wrong format and checksum mismatch', async () => {
    let next = 0;
    const api = new FakeApi()
      .on('POST', /^\/imports$/, () => presignedPost(`imp-${++next}`))
      .on('POST', /\/complete$/, { status: 202 })
      .on('GET', /^\/imports\/imp-1$/, {
        body: importStatus({
          importId: 'imp-1',
          status: 'REJECTED',
          checks: { antivirus: 'clean', checksum: 'verified', format: 'unknown' },
          reason: 'Not a CSV or NDJSON file',
        }),
      })
      .on('GET', /^\/imports\/imp-2$/, {
        body: importStatus({ importId: 'imp-2', status: 'REJECTED', checks: { antivirus: 'clean', checksum: 'mismatch', format: 'csv' } }),
      });
    const { storage } = renderSignedIn(<ImportPage />, { api });
    storage.autoAnswer = () => ({ status: 204 });

    await chooseFiles(csvFile('photo.csv'));
    await screen.findByText(/not a csv or ndjson file/i);
    await chooseFiles(csvFile('changed.csv'));

    expect(await within(itemFor('photo.csv')).findByText('Rejected: not a CSV or NDJSON file.')).toBeInTheDocument();
    expect(
      await within(itemFor('changed.csv')).findByText(/rejected: the file changed on the way \(checksum mismatch\)/i),
    ).toBeInTheDocument();
  });

  it('uploads a large file in parts and completes the import with each part’s ETag', async () => {
    const content = '0123456789';
    const api = new FakeApi()
      .on('POST', /^\/imports$/, {
        status: 201,
        body: {
          importId: 'imp-big',
          upload: { partSize: 4, parts: [1, 2, 3].map((n) => ({ partNumber: n, url: `http://s3.test/part/${n}` })) },
        },
      })
      .on('POST', /^\/imports\/imp-big\/complete$/, { status: 202 })
      .on('GET', /^\/imports\/imp-big$/, { body: { importId: 'imp-big', status: 'SUCCEEDED', rowsImported: 1, rowsRejected: 0 } });
    const { storage } = renderSignedIn(<ImportPage />, { api });
    const sizes = new Map<string, number>();
    storage.autoAnswer = (request) => {
      sizes.set(request.url, (request.body as Blob).size);
      return { status: 200, etag: `"etag-${request.url.slice(-1)}"` };
    };

    await chooseFiles(csvFile('big.csv', content));

    expect(await within(itemFor('big.csv')).findByText(/imported 1 row\./i)).toBeInTheDocument();
    expect(Object.fromEntries(sizes)).toEqual({ 'http://s3.test/part/1': 4, 'http://s3.test/part/2': 4, 'http://s3.test/part/3': 2 });
    expect(api.callsTo('POST', /complete$/)[0]?.body).toEqual({
      parts: [
        { partNumber: 1, etag: '"etag-1"' },
        { partNumber: 2, etag: '"etag-2"' },
        { partNumber: 3, etag: '"etag-3"' },
      ],
    });
  });

  it("explains a refused import request in plain words with the server's reason", async () => {
    const api = new FakeApi().on('POST', /^\/imports$/, { status: 400, body: { message: 'size must be greater than 0' } });
    renderSignedIn(<ImportPage />, { api });

    await chooseFiles(csvFile('empty.csv', ''));

    expect(
      await within(itemFor('empty.csv')).findByText('Please check what you entered. size must be greater than 0.'),
    ).toBeInTheDocument();
  });
});
