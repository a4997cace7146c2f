import type { ApiClient } from '../api/client';
import { isMultipart, type CreatedImport, type ImportMapping, type ImportStatus, type MultipartUpload, type PresignedPost } from '../api/types';
import { ApiError, plainMessage } from '../lib/errors';
import { hashFile } from '../lib/hashFile';
import { nextPollDelay, type PollTiming } from '../exports/poll-timing';
import type { SendUpload } from './transport';

export type UploadPhase =
  'queued' | 'hashing' | 'uploading' | 'processing' | 'needs-mapping' | 'succeeded' | 'quarantined' | 'rejected' | 'failed';

export interface UploadItem {
  id: string;
  file: File;
  phase: UploadPhase;
  bytesHashed: number;
  bytesSent: number;
  sha256?: string;
  importId?: string;
  status?: ImportStatus;
  /** The plain-words outcome or problem. */
  message?: string;
}

/**
 * Where the queue's files go: imports (the default) or resources (the same upload, under /api/resources).
 * `follow: false` ends an item at "processing" once its upload is in, for a page that lists outcomes itself.
 */
export interface UploadTarget {
  create(file: { fileName: string; size: number; contentType: string; sha256: string }): Promise<{ id: string; upload: CreatedImport['upload'] }>;
  complete(id: string, parts?: { partNumber: number; etag: string }[]): Promise<unknown>;
  follow: boolean;
}

export const importTarget = (api: ApiClient): UploadTarget => ({
  create: async (file) => {
    const created = await api.createImport(file);
    return { id: created.importId, upload: created.upload };
  },
  complete: (id, parts) => api.completeImport(id, parts),
  follow: true,
});

export const resourceTarget = (api: ApiClient): UploadTarget => ({
  create: async (file) => {
    const created = await api.createResource(file);
    return { id: created.resourceId, upload: created.upload };
  },
  complete: (id, parts) => api.completeResource(id, parts),
  follow: false,
});

/** Files uploading at once; each file's parts also go up in parallel. */
const FILES_IN_PARALLEL = 3;
const PARTS_IN_PARALLEL = 4;
const DONE: UploadPhase[] = ['succeeded', 'quarantined', 'rejected', 'failed'];

/**
 * Takes dropped files through hash → create import → upload → processing → outcome, a few at a
 * time, and publishes each file's progress for the upload list.
 */
export class ImportQueue {
  private items: UploadItem[] = [];
  private readonly listeners = new Set<() => void>();
  private running = 0;
  private nextId = 1;
  private abort = new AbortController();

  private readonly target: UploadTarget;

  constructor(
    private readonly deps: { api: ApiClient; send: SendUpload; timing: PollTiming; target?: UploadTarget },
  ) {
    this.target = deps.target ?? importTarget(deps.api);
  }

  list = (): UploadItem[] => this.items;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  add(files: Iterable<File>): void {
    for (const file of files) {
      this.items = [...this.items, { id: `u${this.nextId++}`, file, phase: 'queued', bytesHashed: 0, bytesSent: 0 }];
    }
    this.emit();
    this.pump();
  }

  clearFinished(): void {
    this.items = this.items.filter((item) => !DONE.includes(item.phase));
    this.emit();
  }

  /** Stops uploads and status checks in flight (the page is going away). */
  dispose(): void {
    this.abort.abort();
    this.abort = new AbortController();
  }

  private pump(): void {
    while (this.running < FILES_IN_PARALLEL) {
      const next = this.items.find((item) => item.phase === 'queued');
      if (!next) return;
      this.running++;
      this.patch(next.id, { phase: 'hashing' });
      void this.process(next.id).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async process(id: string): Promise<void> {
    const signal = this.abort.signal;
    const file = this.item(id).file;
    try {
      const sha256 = await hashFile(file, (bytesHashed) => this.patch(id, { bytesHashed }), signal);
      this.patch(id, { sha256, phase: 'uploading' });
      const created = await this.target.create({
        fileName: file.name,
        size: file.size,
        contentType: contentTypeOf(file),
        sha256,
      });
      this.patch(id, { importId: created.id });
      if (isMultipart(created.upload)) {
        const parts = await this.uploadParts(id, file, created.upload, signal);
        await this.target.complete(created.id, parts);
      } else {
        await this.uploadForm(id, file, created.upload, signal);
        // The object-created event normally starts processing; this idempotent call covers stores without events.
        await this.target.complete(created.id).catch(() => undefined);
      }
      this.patch(id, { phase: 'processing', bytesSent: file.size });
      if (this.target.follow) await this.followStatus(id, created.id, signal);
    } catch (error) {
      if (signal.aborted) return;
      this.patch(id, { phase: 'failed', message: plainMessage(error) });
    }
  }

  private async uploadForm(id: string, file: File, upload: PresignedPost, signal: AbortSignal): Promise<void> {
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append('file', file);
    const response = await this.deps.send({
      method: 'POST',
      url: upload.url,
      body: form,
      signal,
      onProgress: (sent) => this.patch(id, { bytesSent: Math.min(sent, file.size) }),
    });
    if (response.status < 200 || response.status >= 300) throw uploadRefused(response.status);
  }

  private async uploadParts(
    id: string,
    file: File,
    upload: MultipartUpload,
    signal: AbortSignal,
  ): Promise<{ partNumber: number; etag: string }[]> {
    const sentByPart = new Map<number, number>();
    const done: { partNumber: number; etag: string }[] = [];
    const queue = [...upload.parts].sort((a, b) => a.partNumber - b.partNumber);
    const worker = async () => {
      for (let part = queue.shift(); part; part = queue.shift()) {
        const start = (part.partNumber - 1) * upload.partSize;
        const response = await this.deps.send({
          method: 'PUT',
          url: part.url,
          body: file.slice(start, start + upload.partSize),
          signal,
          onProgress: (sent) => {
            sentByPart.set(part!.partNumber, sent);
            let total = 0;
            for (const bytes of sentByPart.values()) total += bytes;
            this.patch(id, { bytesSent: Math.min(total, file.size) });
          },
        });
        if (response.status < 200 || response.status >= 300) throw uploadRefused(response.status);
        if (!response.etag) throw new Error('Storage did not confirm a part of the upload. Please try again.');
        done.push({ partNumber: part.partNumber, etag: response.etag });
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARTS_IN_PARALLEL, queue.length) }, worker));
    return done.sort((a, b) => a.partNumber - b.partNumber);
  }

  private async followStatus(id: string, importId: string, signal: AbortSignal): Promise<void> {
    let delay = this.deps.timing.initialMs;
    for (;;) {
      await sleep(delay, signal);
      delay = nextPollDelay(delay, this.deps.timing);
      let status: ImportStatus;
      try {
        status = await this.deps.api.importStatus(importId);
      } catch (error) {
        if (error instanceof ApiError && (error.status === 0 || error.status >= 500)) continue;
        throw error;
      }
      if (status.status === 'AWAITING_UPLOAD' || status.status === 'RUNNING') {
        this.patch(id, { status, phase: 'processing' });
        continue;
      }
      // Waits for the user's column mapping (submitMapping); the status then runs on.
      if (status.status === 'NEEDS_MAPPING') {
        this.patch(id, { status, phase: 'needs-mapping' });
        continue;
      }
      this.patch(id, { status, ...outcomeOf(status) });
      return;
    }
  }

  /** Sends the column mapping for a file waiting in NEEDS_MAPPING; its status is followed on as before. */
  async submitMapping(id: string, mapping: ImportMapping): Promise<void> {
    const { importId } = this.item(id);
    if (!importId) return;
    try {
      await this.deps.api.submitImportMapping(importId, mapping);
      this.patch(id, { phase: 'processing', message: undefined });
    } catch (error) {
      this.patch(id, { message: plainMessage(error) });
    }
  }

  /** Retries a file whose import FAILED on the server (not one whose upload failed) and follows its status again. */
  async retry(id: string): Promise<void> {
    const { importId, status } = this.item(id);
    if (!importId || status?.status !== 'FAILED') return;
    const signal = this.abort.signal;
    try {
      await this.deps.api.retryImport(importId);
      this.patch(id, { phase: 'processing', message: undefined });
      await this.followStatus(id, importId, signal);
    } catch (error) {
      if (signal.aborted) return;
      this.patch(id, { phase: 'failed', message: plainMessage(error) });
    }
  }

  private item(id: string): UploadItem {
    const item = this.items.find((i) => i.id === id);
    if (!item) throw new Error(`No upload ${id}`);
    return item;
  }

  private patch(id: string, patch: Partial<UploadItem>): void {
    this.items = this.items.map((item) => (item.id === id ? { ...item, ...patch } : item));
    this.emit();
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}

/** The server decides the format from the bytes; this is only the declared type it checks against the policy. */
export function contentTypeOf(file: File): string {
  if (file.type) return file.type;
  const extension = file.name.toLowerCase().split('.').pop();
  if (extension === 'csv') return 'text/csv';
  if (extension === 'ndjson' || extension === 'jsonl') return 'application/x-ndjson';
  if (extension === 'json') return 'application/json';
  return 'application/octet-stream';
}

export function outcomeOf(status: ImportStatus): { phase: UploadPhase; message: string } {
  const why = status.reason;
  switch (status.status) {
    case 'SUCCEEDED':
      return { phase: 'succeeded', message: '' };
    case 'QUARANTINED': {
      const signature = status.signature;
      return {
        phase: 'quarantined',
        message: `Quarantined: a virus was found${signature ? ` (${signature})` : ''}. Nothing was imported and the administrators have been told.`,
      };
    }
    case 'REJECTED':
      return { phase: 'rejected', message: `Rejected: ${why ? lowerFirst(why) : rejectionFromChecks(status)}` };
    case 'CANCELLED':
      return { phase: 'failed', message: 'Cancelled: nothing was imported.' };
    case 'EXPIRED':
      return {
        phase: 'rejected',
        message: `Expired: ${why ? lowerFirst(why) : 'no column mapping arrived in time, so nothing was imported.'}`,
      };
    default:
      return { phase: 'failed', message: `Import failed: ${why ? lowerFirst(why) : 'something went wrong while processing the file.'}` };
  }
}

function rejectionFromChecks(status: ImportStatus): string {
  if (status.checks?.checksum === 'mismatch') return 'the file changed on the way (checksum mismatch).';
  if (status.checks?.format === 'unknown') return 'this is not a CSV or NDJSON file of posts.';
  return 'the file could not be accepted.';
}

const lowerFirst = (text: string) => {
  const trimmed = text.trim();
  const sentence = trimmed[0] ? trimmed[0].toLowerCase() + trimmed.slice(1) : trimmed;
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
};

const uploadRefused = (status: number) =>
  new Error(
    status === 403
      ? 'Storage refused the upload (the upload link may have expired or the file does not match what was announced).'
      : `Storage refused the upload (HTTP ${status}). Please try again.`,
  );

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const stop = () => {
      clearTimeout(timer);
      reject(new DOMException('Stopped', 'AbortError'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', stop);
      resolve();
    }, ms);
    signal.addEventListener('abort', stop, { once: true });
  });
