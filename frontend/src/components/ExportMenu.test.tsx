import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { SearchCriteria } from '../api/types';
import { FakeApi, renderSignedIn } from '../test/fakes';
import { ExportMenu } from './ExportMenu';

const ARN = 'arn:aws:states:eu-west-1:000000000000:execution:ferry-export:e-42';
const STATUS_PATH = new RegExp(`^/download-request/${encodeURIComponent(ARN)}$`);
const CRITERIA: SearchCriteria = { q: 'harbour', tags: ['travel'] };
const NOW = Date.parse('2025-01-10T12:00:00Z');
// Links last 72 h from when the file was written, a little before the browser sees it.
const IN_72_HOURS = new Date(NOW + 72 * 3600_000 - 90_000).toISOString();

const acceptingExports = () => new FakeApi().on('POST', /^\/download-request$/, { status: 202, body: { executionArn: ARN } });

async function choose(label: string) {
  const user = userEvent.setup();
  await user.click(screen.getByRole('button', { name: /export results/i }));
  await user.click(screen.getByRole('menuitem', { name: new RegExp(`^${label}`, 'i') }));
}

describe('ExportMenu', () => {
  it('Download polls the execution until it succeeds, then offers the file with its row count and expiry', async () => {
    const api = acceptingExports().on('GET', STATUS_PATH, [
      { body: { executionArn: ARN, status: 'RUNNING' } },
      { body: { executionArn: ARN, status: 'RUNNING' } },
      { body: { executionArn: ARN, status: 'SUCCEEDED', rowCount: 1234, url: 'http://s3.test/e-42.csv', expiresAt: IN_72_HOURS } },
    ]);
    renderSignedIn(<ExportMenu criteria={CRITERIA} total={1234} />, { api, now: () => NOW });

    await choose('Download');

    expect(await screen.findByText(/preparing your file/i)).toBeInTheDocument();
    const link = await screen.findByRole('link', { name: 'Download file' });
    expect(link).toHaveAttribute('href', 'http://s3.test/e-42.csv');
    expect(screen.getByText(/1,234 rows/)).toBeInTheDocument();
    expect(screen.getByText('expires in 71 h')).toBeInTheDocument();
    const [request] = api.callsTo('POST', /^\/download-request$/);
    expect(request?.body).toEqual({ delivery: 'direct', searchCriteria: CRITERIA });
    expect(request?.headers.Authorization).toMatch(/^Bearer .+\..+\..+/);
    expect(api.callsTo('GET', STATUS_PATH)).toHaveLength(3);
  });

  it('Email me a link confirms the export and shows the address from the email claim', async () => {
    const api = acceptingExports().on('GET', STATUS_PATH, { body: { executionArn: ARN, status: 'RUNNING' } });
    renderSignedIn(<ExportMenu criteria={CRITERIA} />, { api });

    await choose('Email me a link');

    const confirmation = await screen.findByText(/we will email a link to/i);
    expect(within(confirmation).getByText('alice@example.com')).toBeInTheDocument();
    expect(api.callsTo('POST', /^\/download-request$/)[0]?.body).toMatchObject({ delivery: 'email' });
  });

  it('Notify me here shows the link the moment the push message arrives (text or binary frame), without polling', async () => {
    const api = acceptingExports();
    const { sockets } = renderSignedIn(<ExportMenu criteria={CRITERIA} />, { api, now: () => NOW });

    await choose('Notify me here');

    await waitFor(() => expect(sockets.opened).toHaveLength(1));
    const socket = sockets.opened[0]!;
    const url = new URL(socket.url);
    expect(`${url.origin}${url.pathname}`).toBe('ws://ferry.test/ws');
    expect(url.searchParams.get('executionArn')).toBe(ARN);
    expect(url.searchParams.get('token')).toMatch(/\./);
    expect(await screen.findByText(/the link will appear here/i)).toBeInTheDocument();

    socket.receive({ type: 'export.ready', executionArn: ARN, url: 'http://s3.test/pushed.csv', expiresAt: IN_72_HOURS, rowCount: 7 }, 'binary');

    expect(await screen.findByRole('link', { name: 'Download file' })).toHaveAttribute('href', 'http://s3.test/pushed.csv');
    expect(screen.getByText(/7 rows/)).toBeInTheDocument();
    expect(api.callsTo('GET', STATUS_PATH)).toHaveLength(0);
    expect(socket.closed).toBe(true);
  });

  it('Notify me here falls back to polling when the socket drops before the message', async () => {
    const api = acceptingExports().on('GET', STATUS_PATH, {
      body: { executionArn: ARN, status: 'SUCCEEDED', rowCount: 3, url: 'http://s3.test/polled.csv', expiresAt: IN_72_HOURS },
    });
    const { sockets } = renderSignedIn(<ExportMenu criteria={CRITERIA} />, { api, now: () => NOW });

    await choose('Notify me here');
    await waitFor(() => expect(sockets.opened).toHaveLength(1));
    sockets.opened[0]!.drop();

    expect(await screen.findByRole('link', { name: 'Download file' })).toHaveAttribute('href', 'http://s3.test/polled.csv');
    expect(api.callsTo('GET', STATUS_PATH).length).toBeGreaterThan(0);
  });

  it('a failed export says so in plain words', async () => {
    const api = acceptingExports();
    const { sockets } = renderSignedIn(<ExportMenu criteria={CRITERIA} />, { api });

    await choose('Notify me here');
    await waitFor(() => expect(sockets.opened).toHaveLength(1));
    sockets.opened[0]!.receive({ type: 'export.failed', executionArn: ARN, error: 'The search service did not answer.' });

    expect(await screen.findByText(/the export failed: the search service did not answer/i)).toBeInTheDocument();
  });

  it('a refused request is explained in plain words, never as raw JSON', async () => {
    const api = new FakeApi().on('POST', /^\/download-request$/, {
      status: 400,
      body: { message: 'searchCriteria.from must be a date' },
    });
    renderSignedIn(<ExportMenu criteria={{ from: 'yesterday' }} />, { api });

    await choose('Download');

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('The export could not start. Please check what you entered. searchCriteria.from must be a date.');
    expect(alert.textContent).not.toMatch(/[{}]/);
  });

  it('opens from the keyboard, moves with the arrow keys and Escape returns focus to the button', async () => {
    renderSignedIn(<ExportMenu criteria={{}} />, { api: acceptingExports() });
    const user = userEvent.setup();
    const button = screen.getByRole('button', { name: /export results/i });

    await user.tab();
    expect(button).toHaveFocus();
    await user.keyboard('{Enter}');
    expect(button).toHaveAttribute('aria-expanded', 'true');
    expect(screen.getByRole('menuitem', { name: /^download/i })).toHaveFocus();
    await user.keyboard('{ArrowDown}');
    expect(screen.getByRole('menuitem', { name: /email me a link/i })).toHaveFocus();
    await user.keyboard('{ArrowUp}{ArrowUp}');
    expect(screen.getByRole('menuitem', { name: /notify me here/i })).toHaveFocus();
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('menu')).not.toBeInTheDocument();
    expect(button).toHaveFocus();
  });

  it('sends the file options chosen: NDJSON compressed, or CSV for Excel; Excel applies to CSV only', async () => {
    const api = acceptingExports().on('GET', STATUS_PATH, { body: { executionArn: ARN, status: 'RUNNING' } });
    renderSignedIn(<ExportMenu criteria={CRITERIA} total={10} />, { api, now: () => NOW });
    const user = userEvent.setup();

    await user.click(screen.getByRole('checkbox', { name: /excel on windows/i }));
    await choose('Download');
    await user.selectOptions(screen.getByRole('combobox', { name: /format/i }), 'ndjson');
    expect(screen.getByRole('checkbox', { name: /excel on windows/i })).toBeDisabled();
    await user.click(screen.getByRole('checkbox', { name: /gzip/i }));
    await choose('Download');

    await waitFor(() => expect(api.callsTo('POST', /^\/download-request$/)).toHaveLength(2));
    const [csv, ndjson] = api.callsTo('POST', /^\/download-request$/);
    expect(csv?.body).toEqual({ delivery: 'direct', searchCriteria: CRITERIA, excel: true });
    expect(ndjson?.body).toEqual({ delivery: 'direct', searchCriteria: CRITERIA, format: 'ndjson', gzip: true });
  });
});
