import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { ImportJobView, JobPage } from '../api/types';
import { FakeApi, renderSignedIn } from '../test/fakes';
import { ImportsPage } from './ImportsPage';

/** An import as `GET /api/imports` lists it. */
const job = (importId: string, patch: Partial<ImportJobView> = {}): ImportJobView => ({
  kind: 'import',
  importId,
  fileName: `${importId}.csv`,
  status: 'SUCCEEDED',
  checks: { antivirus: 'clean', checksum: 'verified', format: 'csv' },
  size: 2048,
  owner: 'alice',
  createdAt: '2025-01-10T11:00:00.000Z',
  finishedAt: '2025-01-10T11:00:30.000Z',
  ...patch,
});

const page = (items: ImportJobView[], cursor?: string): { body: JobPage<ImportJobView> } => ({ body: { items, ...(cursor ? { cursor } : {}) } });
const item = (importId: string) => screen.findByRole('listitem', { name: `Import of ${importId}.csv` });

describe('the Imports page', () => {
  it('lists the imports from the server with status, size, the rows created, updated, unchanged and rejected, and the error report', async () => {
    const api = new FakeApi().on(
      'GET',
      /^\/imports\?/,
      page([
        job('posts', { rowsImported: 7, rowsCreated: 4, rowsUpdated: 2, rowsUnchanged: 1, rowsRejected: 3, errorReportUrl: 'http://s3.test/report.csv' }),
        job('broken', { status: 'FAILED', reason: 'The file could not be read.', rowsImported: 0 }),
      ]),
    );
    renderSignedIn(<ImportsPage />, { api });

    const posts = await item('posts');
    expect(within(posts).getByText('Succeeded')).toBeInTheDocument();
    expect(within(posts).getByText(/2\.0 KB · 2025-01-10 11:00 UTC/)).toBeInTheDocument();
    expect(within(posts).getByText('Rows: 4 created, 2 updated, 1 unchanged, 3 rejected.')).toBeInTheDocument();
    expect(within(posts).getByRole('link', { name: 'Rejected-rows report' })).toHaveAttribute('href', 'http://s3.test/report.csv');
    expect(within(posts).getByRole('button', { name: 'Delete posts.csv' })).toBeInTheDocument();

    const broken = await item('broken');
    expect(within(broken).getByText('Failed')).toBeInTheDocument();
    expect(within(broken).getByText(/The file could not be read\./)).toBeInTheDocument();
    expect(within(broken).getByRole('button', { name: 'Retry broken.csv' })).toBeInTheDocument();
  });

  it('cancels an import under way (DELETE /api/imports/{id}); the list then says CANCELLED', async () => {
    let cancelled = false;
    const api = new FakeApi()
      .on('GET', /^\/imports\?/, () =>
        page([cancelled ? job('big', { status: 'CANCELLED', reason: 'The import was cancelled.', rowsImported: 0, finishedAt: '2025-01-10T11:02:00.000Z' }) : job('big', { status: 'RUNNING', finishedAt: undefined })]),
      )
      .on('DELETE', /^\/imports\/big$/, () => {
        cancelled = true;
        return { body: { importId: 'big', status: 'CANCELLED' } };
      });
    renderSignedIn(<ImportsPage />, { api });

    const big = await item('big');
    expect(within(big).getByRole('progressbar')).toBeInTheDocument();
    await userEvent.setup().click(within(big).getByRole('button', { name: 'Cancel big.csv' }));

    expect(await within(big).findByText('Cancelled')).toBeInTheDocument();
    expect(within(big).getByText(/The import was cancelled\./)).toBeInTheDocument();
    expect(within(big).queryByRole('button', { name: /^cancel/i })).not.toBeInTheDocument();
    expect(api.callsTo('DELETE', /^\/imports\/big$/)).toHaveLength(1);
  });

  it('deletes a finished import and drops it from the list', async () => {
    let deleted = false;
    const api = new FakeApi()
      .on('GET', /^\/imports\?/, () => page(deleted ? [] : [job('done')]))
      .on('DELETE', /^\/imports\/done$/, () => {
        deleted = true;
        return { body: { importId: 'done', status: 'DELETED' } };
      });
    renderSignedIn(<ImportsPage />, { api });

    await userEvent.setup().click(within(await item('done')).getByRole('button', { name: 'Delete done.csv' }));

    expect(await screen.findByText('Files you import appear here.')).toBeInTheDocument();
  });

  it('shows older imports page by page with the cursor the server gave', async () => {
    const api = new FakeApi().on('GET', /^\/imports\?/, (call) =>
      call.path.includes('cursor=c1') ? page([job('older')]) : page([job('newer')], 'c1'),
    );
    renderSignedIn(<ImportsPage />, { api });

    await item('newer');
    await userEvent.setup().click(screen.getByRole('button', { name: 'Show older imports' }));

    await item('older');
    expect(screen.getAllByRole('listitem').map((li) => li.getAttribute('aria-label'))).toEqual(['Import of newer.csv', 'Import of older.csv']);
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Show older imports' })).not.toBeInTheDocument());
    expect(api.callsTo('GET', /^\/imports\?limit=25&cursor=c1$/)).toHaveLength(1);
  });
});
