import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import type { RuntimeConfig } from '../config';
import type { SocketLike } from '../exports/tracker';
import type { UploadRequest, UploadResponse } from '../imports/transport';
import { createServices, ServicesProvider, UserServicesProvider, type Services } from '../services';

export const CONFIG: RuntimeConfig = {
  apiUrl: 'http://ferry.test/api',
  wsUrl: 'ws://ferry.test/ws',
  auth: { mode: 'local' },
};

export interface Call {
  method: string;
  path: string;
  body: unknown;
  headers: Record<string, string>;
}

export interface Reply {
  status?: number;
  body?: unknown;
}

type Handler = (call: Call, match: RegExpMatchArray) => Reply | Promise<Reply>;

/** A fake Ferry API behind an injected `fetch`: routes by method and path, records every call. */
export class FakeApi {
  readonly calls: Call[] = [];
  private readonly routes: { method: string; pattern: RegExp; handler: Handler }[] = [];

  on(method: string, pattern: RegExp, handler: Handler | Reply | Reply[]): this {
    let replies: Handler;
    if (typeof handler === 'function') replies = handler;
    else if (Array.isArray(handler)) {
      // A sequence of answers; the last one repeats.
      const queue = [...handler];
      replies = () => (queue.length > 1 ? queue.shift()! : queue[0]!);
    } else replies = () => handler;
    this.routes.unshift({ method, pattern, handler: replies });
    return this;
  }

  callsTo(method: string, pattern: RegExp): Call[] {
    return this.calls.filter((c) => c.method === method && pattern.test(c.path));
  }

  readonly fetch: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const call: Call = {
      method: init?.method ?? 'GET',
      path: url.pathname.replace(/^\/api/, '') + url.search,
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
      headers: (init?.headers ?? {}) as Record<string, string>,
    };
    this.calls.push(call);
    for (const route of this.routes) {
      const match = call.path.match(route.pattern);
      if (route.method === call.method && match) {
        const reply = await route.handler(call, match);
        return new Response(reply.body === undefined ? null : JSON.stringify(reply.body), {
          status: reply.status ?? 200,
          headers: { 'Content-Type': 'application/json' },
        });
      }
    }
    return new Response(JSON.stringify({ message: `no fake route for ${call.method} ${call.path}` }), { status: 404 });
  };
}

/** A WebSocket stand-in the test drives: deliver a message, drop the connection. */
export class FakeSocket implements SocketLike {
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  closed = false;
  readyState = 1;
  readonly sent: string[] = [];

  constructor(readonly url: string) {}

  send(data: string): void {
    this.sent.push(data);
  }

  receive(message: unknown, frame: 'text' | 'binary' = 'text'): void {
    const text = JSON.stringify(message);
    const data = frame === 'text' ? text : new Blob([text]);
    this.onmessage?.(new MessageEvent('message', { data }));
  }

  drop(): void {
    this.closed = true;
    this.readyState = 3;
    this.onclose?.(new CloseEvent('close', { code: 1006 }));
  }

  close(): void {
    this.closed = true;
    this.readyState = 3;
  }
}

export class FakeSockets {
  readonly opened: FakeSocket[] = [];
  readonly open = (url: string): FakeSocket => {
    const socket = new FakeSocket(url);
    this.opened.push(socket);
    return socket;
  };
}

/** Storage uploads: each request waits until the test answers it, so progress can be observed. */
export class FakeStorage {
  readonly requests: { request: UploadRequest; answer: (response: UploadResponse) => void }[] = [];
  autoAnswer?: (request: UploadRequest) => UploadResponse;

  readonly send = (request: UploadRequest): Promise<UploadResponse> =>
    new Promise((resolve) => {
      if (this.autoAnswer) {
        const size = request.body instanceof Blob ? request.body.size : 0;
        request.onProgress(size);
        resolve(this.autoAnswer(request));
        return;
      }
      this.requests.push({ request, answer: resolve });
    });
}

/** An unsigned JWT with the given claims; the app only decodes, the server verifies. */
export function tokenFor(claims: Record<string, unknown>): string {
  const encode = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  return `${encode({ alg: 'none' })}.${encode(claims)}.signature`;
}

export const ALICE = { sub: 'u-alice', 'cognito:username': 'alice', email: 'alice@example.com', 'cognito:groups': [] };

export const FAST = { initialMs: 5, maxMs: 20, pushSafetyMs: 60_000, pingMs: 300_000, reconnectInitialMs: 5, reconnectMaxMs: 20, maxReconnects: 5 };

export interface Harness {
  api: FakeApi;
  sockets: FakeSockets;
  storage: FakeStorage;
  services: Services;
}

/** Renders `ui` signed in (as alice unless told), with the network faked and polling fast. */
export function renderSignedIn(
  ui: ReactElement,
  options: { claims?: Record<string, unknown>; api?: FakeApi; now?: () => number; timing?: Partial<typeof FAST & { jobsMs: number }> } = {},
): Harness & ReturnType<typeof render> {
  const api = options.api ?? new FakeApi();
  const sockets = new FakeSockets();
  const storage = new FakeStorage();
  sessionStorage.setItem('ferry.idToken', tokenFor(options.claims ?? ALICE));
  const services = createServices(CONFIG, {
    fetch: api.fetch,
    openSocket: sockets.open,
    sendUpload: storage.send,
    timing: { ...FAST, ...options.timing },
    now: options.now,
  });
  const user = services.session.getSnapshot().user;
  if (!user) throw new Error('test token did not sign in');
  const view = render(
    <ServicesProvider services={services}>
      <UserServicesProvider user={user}>{ui}</UserServicesProvider>
    </ServicesProvider>,
  );
  return { api, sockets, storage, services, ...view };
}
