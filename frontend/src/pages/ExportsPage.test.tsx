import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { ExportJobView, JobPage } from '../api/types';
import { FakeApi, renderSignedIn } from '../test/fakes';
import { ExportsPage } from './ExportsPage';

const NOW = Date.parse('2025-01-10T12:00:00Z');
const arn = (id: string) => `arn:aws:states:eu-west-1:000000000000:execution:ferry-export:${id}`;

/** A job as `GET /api/exports` lists it. */
const job = (exportId: string, patch: Partial<ExportJobView> = {}): ExportJobView => ({
  kind: 'export',
  exportId,
  executionArn: arn(exportId),
  delivery: 'direct',
  searchCriteria: { q: exportId },
  searchSummary: `posts matching "${exportId}"`,
  status: 'SUCCEEDED',
  rowCount: 120,
  bytes: 2_621_440,
  createdAt: '2025-01-10T11:00:00.000Z',
  finishedAt: '2025-01-10T11:01:00.000Z',
  expiresAt: '2025-01-13T11:00:00.000Z',
  owner: 'alice',
  sharedWith: [],
  ...patch,
});

/** The server's list, each finished job's status route (its link) and GET /api/exports/{id} (a fresh link). */
function serve(jobs: ExportJobView[], api = new FakeApi()): FakeApi {
  api.on('GET', /^\/exports\?/, { body: { items: jobs } satisfies JobPage<ExportJobView> });
  for (const j of jobs) {
    api.on('GET', new RegExp(`^/download-request/${encodeURIComponent(j.executionArn!)}$`), {
      body: { executionArn: j.executionArn, status: j.status === 'SUCCEEDED' ? 'SUCCEEDED' : 'RUNNING', url: `http://s3.test/${j.exportId}.csv`, expiresAt: j.expiresAt },
    });
    api.on('GET', new RegExp(`^/exports/${j.exportId}$`), { body: { ...j, url: `http://s3.test/${j.exportId}.csv?fresh` } });
  }
  return api;
}

const item = (id: string) => screen.findByRole('listitem', { name: new RegExp(`"${id}"`) });

describe('the Exports page', () => {
  it('shows each export from the server: the search in words, rows, size, and the expiry as a UTC date with the time left', async () => {
    renderSignedIn(<ExportsPage />, { api: serve([job('river')]), now: () => NOW });

    const river = await item('river');
    expect(within(river).getByText('posts matching "river"', { selector: '.export-title' })).toBeInTheDocument();
    expect(within(river).getByText('120 rows · 2.5 MB · expires 2025-01-13 11:00 UTC (in 71 h)')).toBeInTheDocument();
    expect(await within(river).findByRole('link', { name: 'Download' })).toHaveAttribute('href', 'http://s3.test/river.csv');
    expect(within(river).getByText('Ready')).toBeInTheDocument();
  });

  it('an export shared with me names its owner and can be downloaded, but not shared, cancelled or deleted', async () => {
    const api = serve([job('bobs', { owner: 'bob', shared: true, sharedWith: undefined })]);
    // The old status route answers only the owner.
    api.on('GET', /^\/download-request\//, { status: 404, body: { message: 'No export with that executionArn.' } });
    renderSignedIn(<ExportsPage />, { api, now: () => NOW });

    const shared = await item('bobs');
    expect(within(shared).getByText(/shared by bob/)).toBeInTheDocument();
    expect(await within(shared).findByRole('link', { name: 'Download' })).toHaveAttribute('href', 'http://s3.test/bobs.csv?fresh');
    expect(within(shared).queryByRole('button', { name: /^share/i })).not.toBeInTheDocument();
    expect(within(shared).queryByRole('button', { name: /^delete/i })).not.toBeInTheDocument();
    expect(within(shared).getByRole('button', { name: /^hide/i })).toBeInTheDocument();
  });

  it('shares an export with the usernames typed, lists them, and stops sharing with one', async () => {
    const api = serve([job('river')])
      .on('POST', /^\/exports\/river\/shares$/, (call) => ({ body: job('river', { sharedWith: (call.body as { usernames: string[] }).usernames }) }))
      .on('DELETE', /^\/exports\/river\/shares\/bob$/, { body: { exportId: 'river', sharedWith: ['carol'] } });
    renderSignedIn(<ExportsPage />, { api, now: () => NOW });
    const user = userEvent.setup();

    const river = await item('river');
    await user.click(within(river).getByRole('button', { name: /^share/i }));
    await user.type(within(river).getByRole('textbox', { name: /share with/i }), 'bob, carol');
    await user.click(within(river).getByRole('button', { name: 'Share' }));

    expect(api.callsTo('POST', /^\/exports\/river\/shares$/)[0]?.body).toEqual({ usernames: ['bob', 'carol'] });
    const sharedWith = await within(river).findByRole('list', { name: 'Shared with' });
    expect(within(sharedWith).getAllByRole('listitem').map((li) => li.textContent)).toEqual(['Shared with bob Stop sharing', 'Shared with carol Stop sharing']);

    await user.click(within(river).getByRole('button', { name: 'Stop sharing with bob' }));
    await waitFor(() => expect(within(river).queryByText(/Shared with bob/)).not.toBeInTheDocument());
    expect(api.callsTo('DELETE', /^\/exports\/river\/shares\/bob$/)).toHaveLength(1);
  });

  it('says why a share was refused, in the server\'s words', async () => {
    const api = serve([job('river')]).on('POST', /^\/exports\/river\/shares$/, { status: 400, body: { message: 'No such user: nobody.', field: 'usernames' } });
    renderSignedIn(<ExportsPage />, { api, now: () => NOW });
    const user = userEvent.setup();

    const river = await item('river');
    await user.click(within(river).getByRole('button', { name: /^share/i }));
    await user.type(within(river).getByRole('textbox', { name: /share with/i }), 'nobody');
    await user.click(within(river).getByRole('button', { name: 'Share' }));

    expect(await within(river).findByRole('alert')).toHaveTextContent('No such user: nobody.');
  });

  it('cancels a running export (DELETE /api/exports/{id}); it then shows as cancelled, with nothing to download', async () => {
    const running = job('slow', { status: 'RUNNING', rowCount: undefined, bytes: undefined, expiresAt: undefined, finishedAt: undefined });
    let cancelled = false;
    const api = serve([running]).on('DELETE', /^\/exports\/slow$/, () => {
      cancelled = true;
      return { body: { exportId: 'slow', status: 'CANCELLED' } };
    });
    // The old status route, as the server answers it before and after the cancel.
    api.on('GET', new RegExp(`^/download-request/${encodeURIComponent(arn('slow'))}$`), () => ({
      body: cancelled ? { executionArn: arn('slow'), status: 'FAILED', error: 'The export was cancelled.' } : { executionArn: arn('slow'), status: 'RUNNING' },
    }));
    renderSignedIn(<ExportsPage />, { api, now: () => NOW });

    const slow = await item('slow');
    expect(within(slow).getByText('Running')).toBeInTheDocument();
    await userEvent.setup().click(within(slow).getByRole('button', { name: /^cancel/i }));

    expect(await within(slow).findByText('Cancelled')).toBeInTheDocument();
    expect(within(slow).getByText('The export was cancelled.')).toBeInTheDocument();
    expect(within(slow).queryByRole('link', { name: 'Download' })).not.toBeInTheDocument();
    expect(api.callsTo('DELETE', /^\/exports\/slow$/)).toHaveLength(1);
  });

  it('copies a freshly signed link (GET /api/exports/{id}) to the clipboard', async () => {
    const api = serve([job('river')]);
    renderSignedIn(<ExportsPage />, { api, now: () => NOW });
    const user = userEvent.setup();

    const river = await item('river');
    await user.click(within(river).getByRole('button', { name: /^copy link/i }));

    expect(await within(river).findByText('Link copied.')).toBeInTheDocument();
    expect(await navigator.clipboard.readText()).toBe('http://s3.test/river.csv?fresh');
  });

  it('opened from the email link (#/exports/{id}), lists that export first', async () => {
    window.location.hash = '#/exports/second';
    try {
      renderSignedIn(<ExportsPage />, { api: serve([job('first'), job('second')]), now: () => NOW });
      await item('second');
      expect(screen.getAllByRole('listitem').filter((li) => li.classList.contains('export-item'))[0]).toHaveAccessibleName(/"second"/);
    } finally {
      window.location.hash = '';
    }
  });
});
