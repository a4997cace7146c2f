import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
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

const keep = (username: string, records: ExportRecord[]) =>
  localStorage.setItem(`ferry.exports.${username}`, JSON.stringify(records));

const itemFor = (name: string) => screen.getByRole('listitem', { name: new RegExp(name) });

describe('ExportsPanel', () => {
  it('shows each export with its row count, a download button while the link is valid, and the time left', () => {
    keep('alice', [
      record('fresh', { rowCount: 1234, url: 'http://s3.test/fresh.csv', expiresAt: hoursFromNow(71.5) }),
      record('old', { rowCount: 10, url: 'http://s3.test/old.csv', expiresAt: hoursFromNow(-2) }),
      record('broken', { status: 'FAILED', error: 'The search service did not answer.' }),
    ]);
    renderSignedIn(<ExportsPanel />, { now: () => NOW });

    const fresh = itemFor('fresh');
    expect(within(fresh).getByText(/1,234 rows · expires in 71 h/)).toBeInTheDocument();
    expect(within(fresh).getByRole('link', { name: 'Download' })).toHaveAttribute('href', 'http://s3.test/fresh.csv');

    const old = itemFor('old');
    expect(within(old).getByText(/expired/)).toBeInTheDocument();
    expect(within(old).queryByRole('link', { name: 'Download' })).not.toBeInTheDocument();

    const broken = itemFor('broken');
    expect(within(broken).getByText('Failed')).toBeInTheDocument();
    expect(within(broken).getByText('The search service did not answer.')).toBeInTheDocument();
  });

  it('shows progress for a running export and polls its status until the file is ready', async () => {
    keep('alice', [record('running', { status: 'RUNNING', requestedAt: new Date(NOW - 12_000).toISOString() })]);
    const statusPath = new RegExp(`^/download-request/${encodeURIComponent(arn('running'))}$`);
    const api = new FakeApi().on('GET', statusPath, [
      { body: { executionArn: arn('running'), status: 'RUNNING' } },
      { body: { executionArn: arn('running'), status: 'SUCCEEDED', rowCount: 50_000, url: 'http://s3.test/r.csv', expiresAt: hoursFromNow(72) } },
    ]);
    renderSignedIn(<ExportsPanel />, { api, now: () => NOW });

    const running = itemFor('running');
    expect(within(running).getByRole('progressbar', { name: 'Export in progress' })).toBeInTheDocument();
    expect(within(running).getByText(/running for 12 s/i)).toBeInTheDocument();

    expect(await within(running).findByRole('link', { name: 'Download' })).toHaveAttribute('href', 'http://s3.test/r.csv');
    expect(within(running).queryByRole('progressbar')).not.toBeInTheDocument();
    expect(within(running).getByText(/50,000 rows/)).toBeInTheDocument();
    expect(api.callsTo('GET', statusPath)).toHaveLength(2);
    const kept = JSON.parse(localStorage.getItem('ferry.exports.alice') ?? '[]') as ExportRecord[];
    expect(kept[0]).toMatchObject({ status: 'SUCCEEDED', rowCount: 50_000 });
  });

  it('shows how many rows a running export has written out of how many, on a determinate bar', async () => {
    keep('alice', [record('counting', { status: 'RUNNING', requestedAt: new Date(NOW - 5_000).toISOString() })]);
    const statusPath = new RegExp(`^/download-request/${encodeURIComponent(arn('counting'))}$`);
    // The server moves on only when the test has seen the previous answer, however fast the panel polls.
    const answers = [
      { body: { executionArn: arn('counting'), status: 'RUNNING' } },
      { body: { executionArn: arn('counting'), status: 'RUNNING', progress: { rowsWritten: 12_345, totalRows: 50_000 } } },
      { body: { executionArn: arn('counting'), status: 'RUNNING', progress: { rowsWritten: 40_000 } } },
      { body: { executionArn: arn('counting'), status: 'SUCCEEDED', rowCount: 50_000, url: 'http://s3.test/c.csv', expiresAt: hoursFromNow(72) } },
    ];
    let stage = 0;
    const api = new FakeApi().on('GET', statusPath, () => answers[stage]!);
    renderSignedIn(<ExportsPanel />, { api, now: () => NOW });

    const counting = itemFor('counting');
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
    keep('alice', [record('gone', { status: 'RUNNING' })]);
    const api = new FakeApi().on('GET', /^\/download-request\//, { status: 404, body: { message: 'not found' } });
    renderSignedIn(<ExportsPanel />, { api, now: () => NOW });

    expect(await within(itemFor('gone')).findByText('This export is no longer available.')).toBeInTheDocument();
  });

  it("keeps each user's exports apart", () => {
    keep('bob', [record('bobs-export', { rowCount: 1, url: 'http://s3.test/b.csv', expiresAt: hoursFromNow(10) })]);
    renderSignedIn(<ExportsPanel />, { now: () => NOW });

    expect(screen.getByText('Exports you start appear here.')).toBeInTheDocument();
    expect(screen.queryByText(/bobs-export/)).not.toBeInTheDocument();
  });

  it('removes a finished export from the list', async () => {
    keep('alice', [record('done', { rowCount: 1, url: 'http://s3.test/d.csv', expiresAt: hoursFromNow(10) })]);
    renderSignedIn(<ExportsPanel />, { now: () => NOW });

    await userEvent.setup().click(within(itemFor('done')).getByRole('button', { name: /remove/i }));

    await waitFor(() => expect(screen.getByText('Exports you start appear here.')).toBeInTheDocument());
    expect(localStorage.getItem('ferry.exports.alice')).toBe('[]');
  });
});
