import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import WebSocket from 'ws';
import { inject } from 'vitest';
import type { Post } from '../../core/contract';
import type { StackInfo } from './stack-process';

/** A client of the local stack that speaks only its public protocols: HTTP, WebSocket and S3 links. */
let ownStack: StackInfo | undefined;
/** The stack the helpers talk to: the shared one, unless a test file booted its own. */
export const stack = (): StackInfo => ownStack ?? inject('stack');
export const useStack = (info: StackInfo): void => {
  ownStack = info;
};

export async function signIn(username: string, password = 'ferry'): Promise<string> {
  const res = await fetch(`${stack().url}/api/local/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status}`);
  return ((await res.json()) as { idToken: string }).idToken;
}

export async function api<T = unknown>(token: string | undefined, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${stack().url}/api${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

export interface ExportStatusBody {
  executionArn: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  rowCount?: number;
  url?: string;
  expiresAt?: string;
  error?: string;
  progress?: { rowsWritten: number; totalRows?: number };
}

export const statusPath = (executionArn: string) => `/download-request/${encodeURIComponent(executionArn)}`;

export async function pollUntilDone(token: string, executionArn: string, timeoutMs = 120_000): Promise<ExportStatusBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status, body } = await api<ExportStatusBody>(token, 'GET', statusPath(executionArn));
    if (status !== 200) throw new Error(`status ${status}: ${JSON.stringify(body)}`);
    if (body.status !== 'RUNNING') return body;
    if (Date.now() > deadline) throw new Error(`export still running after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export type Row = Record<string, string>;

export async function downloadCsv(url: string): Promise<{ text: string; rows: Row[]; headers: Headers }> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`download failed: ${res.status}`);
  const text = await res.text();
  return { text, rows: parse(text, { columns: true, bom: true }) as Row[], headers: res.headers };
}

/** A post as the search API returns it (the HTTP contract's own type). */
export type { Post } from '../../core/contract';

async function searchPage(token: string, query: Record<string, string>, page: number) {
  const params = new URLSearchParams({ ...query, page: String(page), pageSize: '100' });
  const { status, body } = await api<{ total: number; hits: Post[] }>(token, 'GET', `/search?${params}`);
  if (status !== 200) throw new Error(`search failed: ${status} ${JSON.stringify(body)}`);
  return body;
}

/** Every search hit for the criteria, page by page, as the CSV should hold them (within the 10,000-hit window). */
export async function allSearchHits(token: string, query: Record<string, string>): Promise<Post[]> {
  const hits: Post[] = [];
  for (let page = 1; ; page++) {
    const body = await searchPage(token, query, page);
    hits.push(...body.hits);
    if (hits.length >= body.total || body.hits.length === 0) return hits;
  }
}

/**
 * Every search hit, newest first, for result sets larger than search's paging window: the search is
 * cut into consecutive 30-day `from`/`to` windows, newest first, each paged through in full.
 */
export async function allSearchHitsByWindow(token: string, query: Record<string, string>): Promise<Post[]> {
  const first = await searchPage(token, query, 1);
  const hits: Post[] = [];
  let windowEnd = first.hits[0] ? Date.parse(first.hits[0].dateCreated) : 0;
  const windowMs = 30 * 24 * 3600_000;
  while (hits.length < first.total) {
    const from = windowEnd - windowMs + 1;
    hits.push(...(await allSearchHits(token, { ...query, from: new Date(from).toISOString(), to: new Date(windowEnd).toISOString() })));
    windowEnd = from - 1;
  }
  return hits;
}

/** The first WebSocket message for an export, or an error if the socket closes first. */
export const connectForExport = (token: string, executionArn: string) => connectSocket(token, { executionArn });

/** The first WebSocket message for an import (or a batch), or an error if the socket closes first. */
export const connectForImport = (token: string, importId: string) => connectSocket(token, { importId });

function connectSocket(token: string, subject: Record<string, string>): { socket: WebSocket; message: Promise<Record<string, unknown>> } {
  const query = new URLSearchParams({ token, ...subject });
  const socket = new WebSocket(`${stack().url.replace(/^http/, 'ws')}/ws?${query}`);
  const message = new Promise<Record<string, unknown>>((resolve, reject) => {
    socket.once('message', (data) => resolve(JSON.parse(data.toString()) as Record<string, unknown>));
    socket.once('unexpected-response', (_req, res) => reject(new Error(`websocket refused: ${res.statusCode}`)));
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('websocket closed before a message')));
  });
  return { socket, message };
}

/** Every mail in the local outbox, oldest first (file names sort by time). */
export function outboxMessages(): string[] {
  const dir = join(stack().dataDir, 'outbox');
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir).filter((f) => f.endsWith('.eml')).sort();
  return files.map((f) => readFileSync(join(dir, f), 'utf8'));
}

/**
 * The first mail in the outbox that `matches`, once one is there: a job's mail goes out in the workflow's last
 * states ("Notify user"), after its record already says it ended, so a test that reads the outbox at once races it.
 */
export async function mailMatching(matches: (mail: string) => boolean): Promise<string> {
  const mails = await pollUntil(async () => outboxMessages(), (all) => all.some(matches));
  return mails.find(matches)!;
}

export interface UploadForm {
  method: 'POST';
  url: string;
  fields: Record<string, string>;
}

/** `POST /imports`: the new import and its presigned upload form (anything but 201 throws, naming the answer). */
export async function createImport(token: string, body: Record<string, unknown>) {
  const { status, body: created } = await api<{ importId: string; upload: UploadForm }>(token, 'POST', '/imports', body);
  if (status !== 201) throw new Error(`POST /imports answered ${status}: ${JSON.stringify(created)}`);
  return created;
}

/** What a browser does with the presigned POST: the policy fields, then the file. */
export async function uploadWithForm(form: UploadForm, content: string | Buffer, contentType: string) {
  const data = new FormData();
  for (const [name, value] of Object.entries(form.fields)) data.append(name, value);
  data.append('file', new Blob([typeof content === 'string' ? content : new Uint8Array(content)], { type: contentType }), 'upload');
  const res = await fetch(form.url, { method: 'POST', body: data });
  if (res.status >= 300) throw new Error(`upload failed: ${res.status} ${await res.text()}`);
}

export async function importFile(token: string, content: string | Buffer, options: { type?: string; contentType?: string; sha256?: string } = {}) {
  const contentType = options.contentType ?? 'text/csv';
  const created = await createImport(token, {
    fileName: 'posts.csv',
    size: Buffer.byteLength(content),
    contentType,
    type: options.type ?? 'direct',
    ...(options.sha256 ? { sha256: options.sha256 } : {}),
  });
  await uploadWithForm(created.upload, content, contentType);
  return created.importId;
}


/** Reads until `done` says so; throws with the last value after `timeoutMs`. */
export async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`not done after ${timeoutMs} ms: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
