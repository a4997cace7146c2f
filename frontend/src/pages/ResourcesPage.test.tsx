import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { ResourceView } from '../api/types';
import { ResourcesPage } from './ResourcesPage';
import { FakeApi, renderSignedIn } from '../test/fakes';

/** A resource exactly as the server's contract shapes it (core/contract.ts), so a renamed field fails here. */
const resource = (view: Pick<ResourceView, 'resourceId' | 'fileName' | 'status'> & Partial<ResourceView>): ResourceView => ({
  size: 1234,
  createdAt: '2026-01-01T00:00:00.000Z',
  ...view,
});

const photo = resource({ resourceId: 'r-photo', fileName: 'photo.jpg', status: 'RUNNING' });
const keptPhoto = {
  ...photo,
  status: 'SUCCEEDED' as const,
  type: 'image/jpeg',
  sha256: 'ab'.repeat(32),
  url: 'http://s3.test/photo.jpg',
  thumbnailUrl: 'http://s3.test/photo-thumb.webp',
};
const program = resource({
  resourceId: 'r-exe',
  fileName: 'invoice.pdf',
  status: 'REJECTED',
  reason: 'The file was not kept: the file is EXE (application/x-msdownload), which is not a type Ferry accepts as a resource.',
});

describe('Resources page', () => {
  it('uploads a dropped file with progress, shows Processing…, then ✓ with the thumbnail and a download link, and ✗ with the reason', async () => {
    // What the server lists: before the upload, while the file is checked, once it is kept.
    let items: ResourceView[] = [program];
    const api = new FakeApi()
      .on('POST', /^\/resources$/, {
        status: 201,
        body: { resourceId: 'r-photo', upload: { url: 'http://s3.test/uploads', fields: { key: 'k' } } },
      })
      .on('POST', /^\/resources\/r-photo\/complete$/, () => {
        items = [photo, program];
        return { status: 202, body: {} };
      })
      .on('GET', /^\/resources$/, () => ({ body: { items } }));
    const { storage } = renderSignedIn(<ResourcesPage />, { api });
    expect(await screen.findByText(/which is not a type Ferry accepts/)).toBeInTheDocument();

    await userEvent.setup().upload(screen.getByLabelText('Choose files'), new File(['jpeg bytes'], 'photo.jpg', { type: 'image/jpeg' }));
    await waitFor(() => expect(storage.requests).toHaveLength(1));
    const [create] = api.callsTo('POST', /^\/resources$/);
    expect(create?.body).toMatchObject({ fileName: 'photo.jpg', size: 10, contentType: 'image/jpeg' });
    storage.requests[0]!.request.onProgress(5);
    expect(await screen.findByRole('progressbar', { name: 'Upload of photo.jpg' })).toHaveAttribute('value', '5');
    storage.requests[0]!.answer({ status: 204 });

    const list = await screen.findByRole('list', { name: 'Resources' });
    await waitFor(() => expect(within(list).getByRole('listitem', { name: 'photo.jpg' })).toHaveTextContent('Processing…'));
    items = [keptPhoto, program];
    const row = within(list).getByRole('listitem', { name: 'photo.jpg' });
    await waitFor(() => expect(within(row).getByLabelText('Kept')).toBeInTheDocument());
    expect(within(row).getByRole('img', { name: 'Thumbnail of photo.jpg' })).toHaveAttribute('src', keptPhoto.thumbnailUrl);
    expect(within(row).getByRole('link', { name: 'Download' })).toHaveAttribute('href', keptPhoto.url);
    const refused = within(list).getByRole('listitem', { name: 'invoice.pdf' });
    expect(within(refused).getByLabelText('Not kept')).toBeInTheDocument();
    expect(within(refused).queryByRole('link', { name: 'Download' })).toBeNull();
  });

  it('says an upload that never arrived (another tab, closed mid-upload) did not finish, and offers to delete it', async () => {
    const api = new FakeApi().on('GET', /^\/resources$/, {
      body: { items: [resource({ resourceId: 'r-lost', fileName: 'lost.pdf', status: 'AWAITING_UPLOAD' })] },
    });
    renderSignedIn(<ResourcesPage />, { api });
    const row = await screen.findByRole('listitem', { name: 'lost.pdf' });
    expect(row).toHaveTextContent('The upload did not finish');
    expect(within(row).getByLabelText('Not uploaded')).toBeInTheDocument();
    expect(within(row).getByRole('button', { name: 'Delete lost.pdf' })).toBeInTheDocument();
  });

  it('deletes a resource and reads the list again', async () => {
    let items = [keptPhoto];
    const api = new FakeApi()
      .on('GET', /^\/resources$/, () => ({ body: { items } }))
      .on('DELETE', /^\/resources\/r-photo$/, () => {
        items = [];
        return { status: 204 };
      });
    renderSignedIn(<ResourcesPage />, { api });
    await userEvent.setup().click(await screen.findByRole('button', { name: 'Delete photo.jpg' }));
    expect(await screen.findByText('No resources yet.')).toBeInTheDocument();
    expect(api.callsTo('DELETE', /^\/resources\/r-photo$/)).toHaveLength(1);
  });
});
