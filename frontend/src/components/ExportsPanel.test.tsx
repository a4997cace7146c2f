import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { ExportJobView } from '../api/types';
import type { ExportRecord } from '../exports/store';
import { FakeApi, renderSignedIn } from '../test/fakes';
import { ExportsPanel } from './ExportsPanel';

const NOW = Date.parse('2025-01-10T12:00:00Z');
const hoursFromNow = (h: number) => new Date(NOW + h * 3600_000).toISOString();
const arn = (name: string) => `arn:aws:states:eu-west-1:000000000000:execution:ferry-export:${name}`;

const record = (name: string, patch: Partial<ExportRecord>): ExportRecord => ({
  executionArn: arn(name),
  delivery: 'direct',
  criteria: { q: name },
  requestedAt: hoursFromNow(-1),
  status: 'SUCCEEDED',
  ...patch,
});

/** The server's list (GET /api/exports) holds these; a finished one's fresh link comes from the status route. */
function serve(api: FakeApi, records: ExportRecord[]): FakeApi {
  const items: ExportJobView[] = records.map((r) => ({
    kind: 'export',
    exportId: r.executionArn.split(':').at(-1) ?? '',
    executionArn: r.executionArn,
    delivery: r.delivery,
    searchCriteria: r.criteria,
    searchSummary: `posts matching "${r.criteria.q ?? ''}"`,
    status: r.status,
    createdAt: r.requestedAt,
    owner: 'alice',
    ...(r.rowCount !== undefined ? { rowCount: r.rowCount } : {}),
    ...(r.expiresAt ? { expiresAt: r.expiresAt } : {}),
    ...(r.error ? { error: r.error } : {}),
  }));
  api.on('GET', /^\/exports\?/, { body: { items } });
  api.on('DELETE', /^\/exports\/[^/]+$/, { body: { status: 'DELETED' } });
  for (const r of records.filter((record) => record.status === 'SUCCEEDED')) {
    api.on('GET', new RegExp(`^/download-request/${encodeURIComponent(r.executionArn)}$`), { body: r });
  }
  return api;
}

const itemFor = (name: string) => screen.getByRole('listitem', { name: new RegExp(name) });

describe('ExportsPanel', () => {
  it('shows each export with its row count, a download button while the link is valid, and the time left', async () => {
    const api = serve(new FakeApi(), [
      record('fresh', { rowCount: 1234, url: 'http://s3.test/fresh.csv', expiresAt: hoursFromNow(71.5) }),
      record('old', { rowCount: 10, url: 'http://s3.test/old.csv', expiresAt: hoursFromNow(-2) }),
      record('broken', { status: 'FAILED', error: 'The search service did not answer.' }),
    ]);
    renderSignedIn(<ExportsPanel />, { api, now: () => NOW });

    const fresh = await screen.findByRole('listitem', { name: /fresh/ });
    expect(within(fresh).getByText('1,234 rows · expires 2025-01-13 11:30 UTC (in 71 h)')).toBeInTheDocument();
    expect(await within(fresh).findByRole('link', { name: 'Download' })).toHaveAttribute('href', 'http://s3.test/fresh.csv');

    const old = itemFor('old');
    expect(within(old).getByText(/expired/)).toBeInTheDocument();
    expect(within(old).queryByRole('link', { name: 'Download' })).not.toBeInTheDocument();

    const broken = itemFor('broken');
    expect(within(broken).getByText('Failed')).toBeInTheDocument();
    expect(within(broken).getByText('The search service did not answer.')).toBeInTheDocument();
  });

  it('shows progress for a running export and polls its status until the file is ready', async () => {
    const statusPath = new RegExp(`^/download-request/${encodeURIComponent(arn('running'))}$`);
    const api = serve(new FakeApi(), [record('running', { status: 'RUNNING', requestedAt: new Date(NOW - 12_000).toISOString() })]).on('GET', statusPath, [
      { body: { executionArn: arn('running'), status: 'RUNNING' } },
      { body: { executionArn: arn('running'), status: 'SUCCEEDED', rowCount: 50_000, url: 'http://s3.test/r.csv', expiresAt: hoursFromNow(72) } },
    ]);
    renderSignedIn(<ExportsPanel />, { api, now: () => NOW });

    const running = await screen.findByRole('listitem', { name: /running/ });
    expect(within(running).getByRole('progressbar', { name: 'Export in progress' })).toBeInTheDocument();
    expect(within(running).getByText(/running for 12 s/i)).toBeInTheDocument();

    expect(await within(running).findByRole('link', { name: 'Download' })).toHaveAttribute('href', 'http://s3.test/r.csv');
    expect(within(running).queryByRole('progressbar')).not.toBeInTheDocument();
    expect(within(running).getByText(/50,000 rows/)).toBeInTheDocument();
    expect(api.callsTo('GET', statusPath).length).toBeGreaterThanOrEqual(2);
    // Nothing of the user is kept in the browser: the list is the server's.
    expect(localStorage.getItem('ferry.exports.alice')).toBeNull();
  });

  it('shows how many rows a running export has written out of how many, on a determinate bar', async () => {
    const statusPath = new RegExp(`^/download-request/${encodeURIComponent(arn('counting'))}$`);
    // The server moves on only when the test has seen the previous answer, however fast the panel polls.
    const answers = [
      { body: { executionArn: arn('counting'), status: 'RUNNING' } },
      { body: { executionArn: arn('counting'), status: 'RUNNING', progress: { rowsWritten: 12_345, totalRows: 50_000 } } },
      { body: { executionArn: arn('counting'), status: 'RUNNING', progress: { rowsWritten: 40_000 } } },
      { body: { executionArn: arn('counting'), status: 'SUCCEEDED', rowCount: 50_000, url: 'http://s3.test/c.csv', expiresAt: hoursFromNow(72) } },
    ];
    let stage = 0;
    const api = serve(new FakeApi(), [record('counting', { status: 'RUNNING', requestedAt: new Date(NOW - 5_000).toISOString() })]).on(
      'GET',
      statusPath,
      () => answers[stage]!,
    );
    renderSignedIn(<ExportsPanel />, { api, now: () => NOW });

    const counting = await screen.findByRole('listitem', { name: /counting/ });
    // Before any progress: the indeterminate bar (no value).
    expect(within(counting).getByRole('progressbar', { name: 'Export in progress' })).not.toHaveAttribute('value');

    stage = 1;
    expect(await within(counting).findByText(/12,345 of 50,000 rows/)).toBeInTheDocument();
    const bar = within(counting).getByRole('progressbar', { name: 'Export in progress' });
    expect(bar).toHaveAttribute('max', '50000');
    expect(bar).toHaveAttribute('value', '12345');

    // Without a total, the count so far on an indeterminate bar.
    stage = 2;
    expect(await within(counting).findByText(/40,000 rows so far/)).toBeInTheDocument();
    expect(within(counting).getByRole('progressbar', { name: 'Export in progress' })).not.toHaveAttribute('value');

    stage = 3;
    expect(await within(counting).findByRole('link', { name: 'Download' })).toHaveAttribute('href', 'http://s3.test/c.csv');
    expect(within(counting).queryByRole('progressbar')).not.toBeInTheDocument();
    expect(within(counting).queryByText(/of 50,000 rows/)).not.toBeInTheDocument();
  });

  it('marks an export the server no longer knows as unavailable instead of spinning forever', async () => {
    const api = serve(new FakeApi(), [record('gone', { status: 'RUNNING' })]).on('GET', /^\/download-request\//, {
      status: 404,
      body: { message: 'not found' },
    });
    renderSignedIn(<ExportsPanel />, { api, now: () => NOW });

    expect(await within(await screen.findByRole('listitem', { name: /gone/ })).findByText('This export is no longer available.')).toBeInTheDocument();
  });

  it('keeps nothing in the browser: a list left in localStorage by an older version is ignored and removed', async () => {
    localStorage.setItem('ferry.exports.alice', JSON.stringify([record('bobs-export', { rowCount: 1, url: 'http://s3.test/b.csv', expiresAt: hoursFromNow(10) })]));
    const api = serve(new FakeApi(), []);
    renderSignedIn(<ExportsPanel />, { api, now: () => NOW });

    expect(screen.getByText('Exports you start appear here.')).toBeInTheDocument();
    await waitFor(() => expect(localStorage.getItem('ferry.exports.alice')).toBeNull());
    expect(screen.queryByText(/bobs-export/)).not.toBeInTheDocument();
  });

  it('removing a finished export deletes it on the server and drops it from the list', async () => {
    const api = serve(new FakeApi(), [record('done', { rowCount: 1, url: 'http://s3.test/d.csv', expiresAt: hoursFromNow(10) })]);
    renderSignedIn(<ExportsPanel />, { api, now: () => NOW });

    await userEvent.setup().click(within(await screen.findByRole('listitem', { name: /done/ })).getByRole('button', { name: /delete/i }));

    await waitFor(() => expect(screen.getByText('Exports you start appear here.')).toBeInTheDocument());
    expect(api.callsTo('DELETE', /^\/exports\/done$/)).toHaveLength(1);
  });
});
