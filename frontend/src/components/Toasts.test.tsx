import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { ExportJobView, ImportJobView, JobPage } from '../api/types';
import { FakeApi, renderSignedIn } from '../test/fakes';
import { Toasts } from './Toasts';

const NOW = Date.parse('2025-01-10T12:00:00Z');
const exportJob = (status: ExportJobView['status'], patch: Partial<ExportJobView> = {}): ExportJobView => ({
  kind: 'export',
  exportId: 'e-1',
  executionArn: 'arn:aws:states:eu-west-1:000000000000:execution:ferry-export:e-1',
  delivery: 'email',
  searchCriteria: { tags: ['travel'] },
  searchSummary: 'posts tagged travel',
  status,
  createdAt: '2025-01-10T11:59:00.000Z',
  owner: 'alice',
  ...patch,
});
const importJob = (status: ImportJobView['status'], patch: Partial<ImportJobView> = {}): ImportJobView => ({
  kind: 'import',
  importId: 'i-1',
  fileName: 'posts.csv',
  status,
  checks: { antivirus: 'clean', checksum: 'verified', format: 'csv' },
  size: 100,
  owner: 'alice',
  createdAt: '2025-01-10T11:59:00.000Z',
  ...patch,
});

/** The lists answer `before` until the test says the jobs moved on, then `after`. */
function lists(before: { exports: ExportJobView[]; imports: ImportJobView[] }, after: { exports: ExportJobView[]; imports: ImportJobView[] }) {
  const state = { moved: false };
  const api = new FakeApi()
    .on('GET', /^\/exports\?/, () => ({ body: { items: (state.moved ? after : before).exports } satisfies JobPage<ExportJobView> }))
    .on('GET', /^\/imports\?/, () => ({ body: { items: (state.moved ? after : before).imports } satisfies JobPage<ImportJobView> }))
    .on('GET', /^\/download-request\//, { body: { status: 'RUNNING' } });
  return { api, state };
}

describe('Toasts', () => {
  it('tells the user when an export or an import of theirs finishes, wherever they are in the app', async () => {
    const { api, state } = lists(
      { exports: [exportJob('RUNNING')], imports: [importJob('RUNNING')] },
      { exports: [exportJob('SUCCEEDED', { rowCount: 1234 })], imports: [importJob('FAILED', { reason: 'The file could not be read.' })] },
    );
    renderSignedIn(<Toasts />, { api, now: () => NOW, timing: { jobsMs: 10 } });

    await waitFor(() => expect(api.callsTo('GET', /^\/imports\?/).length).toBeGreaterThan(0));
    expect(within(screen.getByRole('status', { name: 'Notifications' })).queryAllByRole('link')).toEqual([]);
    state.moved = true;

    const region = screen.getByRole('status', { name: 'Notifications' });
    expect(await within(region).findByRole('link', { name: 'Your export of posts tagged travel is ready (1,234 rows).' })).toHaveAttribute('href', '#/exports');
    expect(await within(region).findByRole('link', { name: 'Your import of posts.csv failed: The file could not be read.' })).toHaveAttribute('href', '#/imports');
  });

  it('says nothing of jobs that had finished before the app opened, and a toast can be dismissed', async () => {
    const { api, state } = lists(
      { exports: [exportJob('SUCCEEDED', { createdAt: '2025-01-09T10:00:00.000Z' })], imports: [importJob('RUNNING', { importId: 'i-2', fileName: 'new.csv' })] },
      { exports: [exportJob('SUCCEEDED', { createdAt: '2025-01-09T10:00:00.000Z' })], imports: [importJob('CANCELLED', { importId: 'i-2', fileName: 'new.csv' })] },
    );
    renderSignedIn(<Toasts />, { api, now: () => NOW, timing: { jobsMs: 10 } });
    await waitFor(() => expect(api.callsTo('GET', /^\/imports\?/).length).toBeGreaterThan(0));
    state.moved = true;

    const region = screen.getByRole('status', { name: 'Notifications' });
    expect(await within(region).findByRole('link', { name: 'Your import of new.csv was cancelled.' })).toBeInTheDocument();
    expect(within(region).getAllByRole('link')).toHaveLength(1);

    await userEvent.setup().click(within(region).getByRole('button', { name: 'Dismiss' }));
    expect(within(region).queryByRole('link')).not.toBeInTheDocument();
  });
});
