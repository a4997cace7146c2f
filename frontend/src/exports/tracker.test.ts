import { waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../api/client';
import { FakeApi, FakeSockets } from '../test/fakes';
import { ExportsStore } from './store';
import type { PollTiming } from './poll-timing';
import { ExportTracker } from './tracker';

const ARN = 'arn:aws:states:eu-west-1:000000000000:execution:ferry-export:e-7';
const STATUS_PATH = new RegExp(`^/download-request/${encodeURIComponent(ARN)}$`);
const RUNNING = { body: { executionArn: ARN, status: 'RUNNING' } };
const TIMING: PollTiming = { initialMs: 5, maxMs: 20, pushSafetyMs: 60_000, pingMs: 30, reconnectInitialMs: 10, reconnectMaxMs: 40, maxReconnects: 3 };

const trackers: ExportTracker[] = [];
afterEach(() => trackers.splice(0).forEach((tracker) => tracker.dispose()));

function pushTracker(api: FakeApi) {
  const sockets = new FakeSockets();
  const client = new ApiClient({ apiUrl: 'http://ferry.test/api', fetch: api.fetch, token: () => 'a.b.c', onUnauthorized: () => undefined });
  const store = new ExportsStore(client);
  const tracker = new ExportTracker({
    api: client,
    store,
    openSocket: sockets.open,
    wsUrl: 'ws://ferry.test/ws',
    token: () => 'a.b.c',
    timing: TIMING,
  });
  trackers.push(tracker);
  return { tracker, sockets, store };
}

const accepting = () => new FakeApi().on('POST', /^\/download-request$/, { status: 202, body: { executionArn: ARN } });

describe('the push socket', () => {
  it('sends a ping every pingMs while the export is pending, and stops once the message arrives', async () => {
    const { tracker, sockets, store } = pushTracker(accepting());
    await tracker.request('push', {});
    await waitFor(() => expect(sockets.opened[0]?.sent.length).toBeGreaterThanOrEqual(3));
    const socket = sockets.opened[0]!;
    expect(new Set(socket.sent)).toEqual(new Set([JSON.stringify({ action: 'ping' })]));

    // The gateway's answer to an unrouted ping is not a push message and changes nothing.
    socket.receive({ message: 'Forbidden', connectionId: 'c-1', requestId: 'r-1' });
    expect(store.list()[0]?.status).toBe('RUNNING');
    socket.receive({ type: 'export.ready', executionArn: ARN, url: 'http://s3.test/e-7.csv', expiresAt: '2030-01-01T00:00:00Z', rowCount: 2 });
    await waitFor(() => expect(store.list()[0]?.status).toBe('SUCCEEDED'));
    const pings = socket.sent.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(socket.sent).toHaveLength(pings);
  });

  it('after a drop checks the status once, then reconnects with backoff and takes the link from the new socket', async () => {
    const api = accepting().on('GET', STATUS_PATH, RUNNING);
    const { tracker, sockets, store } = pushTracker(api);
    await tracker.request('push', {});
    sockets.opened[0]!.drop();

    await waitFor(() => expect(sockets.opened).toHaveLength(2));
    expect(api.callsTo('GET', STATUS_PATH)).toHaveLength(1);
    expect(new URL(sockets.opened[1]!.url).searchParams.get('executionArn')).toBe(ARN);
    sockets.opened[1]!.receive({ type: 'export.ready', executionArn: ARN, url: 'http://s3.test/again.csv', expiresAt: '2030-01-01T00:00:00Z', rowCount: 5 });

    await waitFor(() => expect(store.list()[0]).toMatchObject({ status: 'SUCCEEDED', url: 'http://s3.test/again.csv', rowCount: 5 }));
    expect(api.callsTo('GET', STATUS_PATH)).toHaveLength(1);
  });

  it('waits longer before each reconnect, and after maxReconnects drops takes the link from the status route without another socket', async () => {
    const api = accepting().on('GET', STATUS_PATH, RUNNING);
    const { tracker, sockets, store } = pushTracker(api);
    await tracker.request('push', {});
    const openedAt: number[] = [Date.now()];
    for (let n = 1; n <= TIMING.maxReconnects; n++) {
      sockets.opened[n - 1]!.drop();
      await waitFor(() => expect(sockets.opened).toHaveLength(n + 1));
      openedAt.push(Date.now());
    }
    const gaps = openedAt.slice(1).map((at, i) => at - openedAt[i]!);
    expect(gaps[1]!).toBeGreaterThanOrEqual(18); // 10 ms, then 20 ms, then 40 ms
    expect(gaps[2]!).toBeGreaterThanOrEqual(38);

    api.on('GET', STATUS_PATH, { body: { executionArn: ARN, status: 'SUCCEEDED', rowCount: 1, url: 'http://s3.test/polled.csv', expiresAt: '2030-01-01T00:00:00Z' } });
    sockets.opened[TIMING.maxReconnects]!.drop();
    await waitFor(() => expect(store.list()[0]).toMatchObject({ status: 'SUCCEEDED', url: 'http://s3.test/polled.csv' }));
    expect(sockets.opened).toHaveLength(TIMING.maxReconnects + 1);
  });
});
