import type { ApiClient } from '../api/client';
import type { DeliveryType, ExportOptions, PushMessage, SearchCriteria } from '../api/types';
import { ApiError, plainMessage } from '../lib/errors';
import { nextPollDelay, type PollTiming } from './poll-timing';
import type { ExportRecord, ExportsStore } from './store';

/** The part of a browser WebSocket the tracker uses, so tests can hand in a fake. */
export interface SocketLike {
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** WebSocket.OPEN, spelled out so that fakes need no browser globals. */
const OPEN = 1;

export type OpenSocket = (url: string) => SocketLike;

interface Watch {
  timer?: ReturnType<typeof setTimeout>;
  ping?: ReturnType<typeof setInterval>;
  socket?: SocketLike;
  polling: boolean;
}

/**
 * Starts exports and follows each one to the end: by polling the status route with backoff, or by
 * the push socket with polling as the fallback when the socket errors, closes early or stays silent.
 */
export class ExportTracker {
  private readonly watches = new Map<string, Watch>();
  private disposed = false;

  constructor(
    private readonly deps: {
      api: ApiClient;
      store: ExportsStore;
      openSocket: OpenSocket;
      wsUrl: string;
      token: () => string | undefined;
      timing: PollTiming;
      now?: () => number;
    },
  ) {}

  async request(delivery: DeliveryType, criteria: SearchCriteria, emailedTo?: string, options: ExportOptions = {}): Promise<ExportRecord> {
    const { executionArn, exportId } = await this.deps.api.requestExport(delivery, criteria, options);
    const record: ExportRecord = {
      executionArn,
      ...(exportId ? { exportId } : {}),
      delivery,
      criteria,
      requestedAt: new Date(this.deps.now?.() ?? Date.now()).toISOString(),
      status: 'RUNNING',
      ...(delivery === 'email' && emailedTo ? { emailedTo } : {}),
    };
    this.deps.store.add(record);
    if (delivery === 'push') this.listen(executionArn);
    else this.poll(executionArn);
    return record;
  }

  /** Follows every export still running (after a reload, say). Safe to call repeatedly. */
  resume(): void {
    this.disposed = false;
    for (const record of this.deps.store.list()) {
      // A shared one is not followed here: the status route answers only its owner, the list refreshes it.
      if (record.status === 'RUNNING' && !record.sharedBy && !this.watches.has(record.executionArn)) this.poll(record.executionArn);
    }
  }

  /** Stops every poll and socket; `resume()` picks the running ones up again. */
  dispose(): void {
    this.disposed = true;
    for (const watch of this.watches.values()) this.stopWatch(watch);
    this.watches.clear();
  }

  private listen(executionArn: string, attempt = 0): void {
    const token = this.deps.token();
    const url = new URL(this.deps.wsUrl, globalThis.location?.href);
    url.searchParams.set('token', token ?? '');
    url.searchParams.set('executionArn', executionArn);
    const watch: Watch = { polling: false };
    this.watches.set(executionArn, watch);
    let settled = false;
    let socket: SocketLike;
    try {
      socket = this.deps.openSocket(url.toString());
    } catch {
      this.fallBackToPolling(executionArn);
      return;
    }
    watch.socket = socket;
    watch.timer = setTimeout(() => this.fallBackToPolling(executionArn), this.deps.timing.pushSafetyMs);
    // Any message resets API Gateway's idle timer; with no route for it, the gateway's answer is ignored below.
    watch.ping = setInterval(() => {
      if (socket.readyState === OPEN) socket.send(JSON.stringify({ action: 'ping' }));
    }, this.deps.timing.pingMs);
    socket.onmessage = async (event) => {
      const message = parsePush(await frameText(event.data));
      if (settled || !message || message.executionArn !== executionArn) return;
      settled = true;
      if (message.type === 'export.ready') {
        this.deps.store.update(executionArn, {
          status: 'SUCCEEDED',
          url: message.url,
          expiresAt: message.expiresAt,
          rowCount: message.rowCount,
          checkProblem: undefined,
        });
      } else {
        this.deps.store.update(executionArn, { status: 'FAILED', error: message.error, checkProblem: undefined });
      }
      this.finish(executionArn);
    };
    const dropped = () => {
      if (settled || this.disposed || this.watches.get(executionArn) !== watch) return;
      settled = true;
      this.stopWatch(watch);
      void this.checkThenReconnect(executionArn, watch, attempt);
    };
    socket.onerror = dropped;
    socket.onclose = dropped;
  }

  /**
   * A socket dropped while the export was pending: the message may have gone to the dead connection, so
   * check the status once, then reconnect with backoff, and after `maxReconnects` poll instead.
   */
  private async checkThenReconnect(executionArn: string, watch: Watch, attempt: number): Promise<void> {
    const timing = this.deps.timing;
    try {
      const status = await this.deps.api.exportStatus(executionArn);
      if (this.disposed || this.watches.get(executionArn) !== watch) return;
      if (status.status !== 'RUNNING') {
        this.deps.store.update(executionArn, {
          status: status.status,
          rowCount: status.rowCount,
          url: status.url,
          expiresAt: status.expiresAt,
          error: status.error,
          progress: undefined,
          checkProblem: undefined,
        });
        return this.finish(executionArn);
      }
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 404)) return this.fallBackToPolling(executionArn);
      // Offline, say: reconnecting below tries again.
    }
    if (this.disposed || this.watches.get(executionArn) !== watch) return;
    if (attempt >= timing.maxReconnects) return this.fallBackToPolling(executionArn);
    watch.timer = setTimeout(
      () => {
        if (!this.disposed && this.watches.get(executionArn) === watch) this.listen(executionArn, attempt + 1);
      },
      Math.min(timing.reconnectMaxMs, timing.reconnectInitialMs * 2 ** attempt),
    );
  }

  private fallBackToPolling(executionArn: string): void {
    const watch = this.watches.get(executionArn);
    if (watch?.polling) return;
    if (watch?.timer) clearTimeout(watch.timer);
    this.poll(executionArn, watch);
  }

  private poll(executionArn: string, existing?: Watch): void {
    const watch: Watch = existing ?? { polling: true };
    watch.polling = true;
    this.watches.set(executionArn, watch);
    let delay = this.deps.timing.initialMs;
    const check = async () => {
      if (this.disposed || this.watches.get(executionArn) !== watch) return;
      try {
        const status = await this.deps.api.exportStatus(executionArn);
        if (this.disposed || this.watches.get(executionArn) !== watch) return;
        this.deps.store.update(executionArn, {
          status: status.status,
          rowCount: status.rowCount,
          url: status.url,
          expiresAt: status.expiresAt,
          error: status.error,
          progress: status.status === 'RUNNING' ? status.progress : undefined,
          checkProblem: undefined,
        });
        if (status.status !== 'RUNNING') return this.finish(executionArn);
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return this.finish(executionArn);
        if (error instanceof ApiError && error.status === 404) {
          this.deps.store.update(executionArn, { status: 'FAILED', error: 'This export is no longer available.' });
          return this.finish(executionArn);
        }
        this.deps.store.update(executionArn, { checkProblem: `Still checking… ${plainMessage(error)}` });
      }
      watch.timer = setTimeout(check, delay);
      delay = nextPollDelay(delay, this.deps.timing);
    };
    watch.timer = setTimeout(check, existing ? 0 : delay);
  }

  private finish(executionArn: string): void {
    const watch = this.watches.get(executionArn);
    if (watch) this.stopWatch(watch);
    this.watches.delete(executionArn);
  }

  private stopWatch(watch: Watch): void {
    if (watch.timer) clearTimeout(watch.timer);
    if (watch.ping) clearInterval(watch.ping);
    if (watch.socket) {
      const socket = watch.socket;
      watch.socket = undefined;
      socket.onclose = socket.onerror = socket.onmessage = null;
      try {
        socket.close();
      } catch {
        // Already closed.
      }
    }
  }
}

/** A frame's text: gateways may send the JSON as a text frame or a binary one (Blob / ArrayBuffer in browsers). */
async function frameText(data: unknown): Promise<string | undefined> {
  if (typeof data === 'string') return data;
  if (data instanceof Blob) return data.text();
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return new TextDecoder().decode(data);
  return undefined;
}

function parsePush(data: string | undefined): PushMessage | undefined {
  if (data === undefined) return undefined;
  try {
    const message = JSON.parse(data) as Partial<PushMessage>;
    if (message.type === 'export.ready' || message.type === 'export.failed') return message as PushMessage;
  } catch {
    // Not ours.
  }
  return undefined;
}
