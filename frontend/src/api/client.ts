import { isRecord } from '../config';
import { ApiError, serverMessageOf } from '../lib/errors';
import type {
  AuditPage,
  CreatedImport,
  CreatedResource,
  DeliveryType,
  ExportJobView,
  ExportOptions,
  ExportRequested,
  ExportStatus,
  FailedExecution,
  ImportJobView,
  ImportMapping,
  ImportStatus,
  JobPage,
  QuarantinedFile,
  ResourcePage,
  RetryResponse,
  SearchCriteria,
  SearchResult,
} from './types';

export interface ApiClientOptions {
  apiUrl: string;
  fetch: typeof fetch;
  /** The current ID token, or undefined when signed out. */
  token: () => string | undefined;
  /** Called on any 401 so the app can return to the sign-in page. */
  onUnauthorized: () => void;
}

/** Every call to Ferry's HTTP API, with the bearer token, JSON bodies and errors as ApiError. */
export class ApiClient {
  constructor(private readonly options: ApiClientOptions) {}

  search(criteria: SearchCriteria, page: number, pageSize: number, signal?: AbortSignal): Promise<SearchResult> {
    const query = criteriaQuery(criteria);
    query.set('page', String(page));
    query.set('pageSize', String(pageSize));
    return this.request('GET', `/search?${query}`, undefined, signal);
  }

  /** Only the options that differ from the server's defaults (CSV, no BOM, not compressed) are sent. */
  requestExport(delivery: DeliveryType, searchCriteria: SearchCriteria, options: ExportOptions = {}): Promise<ExportRequested> {
    return this.request('POST', '/download-request', {
      delivery,
      searchCriteria,
      ...(options.format && options.format !== 'csv' ? { format: options.format } : {}),
      ...(options.excel ? { excel: true } : {}),
      ...(options.gzip ? { gzip: true } : {}),
    });
  }

  /** The caller's exports and those shared with them, newest first. */
  listExports(limit: number, cursor?: string): Promise<JobPage<ExportJobView>> {
    return this.request('GET', `/exports?${pageQuery(limit, cursor)}`);
  }

  /** One export, with a freshly signed download link while its file exists. */
  getExport(exportId: string): Promise<ExportJobView> {
    return this.request('GET', `/exports/${encodeURIComponent(exportId)}`);
  }

  shareExport(exportId: string, usernames: string[]): Promise<ExportJobView> {
    return this.request('POST', `/exports/${encodeURIComponent(exportId)}/shares`, { usernames });
  }

  unshareExport(exportId: string, username: string): Promise<unknown> {
    return this.request('DELETE', `/exports/${encodeURIComponent(exportId)}/shares/${encodeURIComponent(username)}`);
  }

  /** The caller's imports, newest first. */
  listImports(limit: number, cursor?: string): Promise<JobPage<ImportJobView>> {
    return this.request('GET', `/imports?${pageQuery(limit, cursor)}`);
  }

  /** Cancels an import that has not ended, or deletes a finished one (its files too). */
  deleteImport(importId: string): Promise<unknown> {
    return this.request('DELETE', `/imports/${encodeURIComponent(importId)}`);
  }

  /** Cancels a running export or deletes a finished one (its file too). */
  deleteExport(exportId: string): Promise<unknown> {
    return this.request('DELETE', `/exports/${encodeURIComponent(exportId)}`);
  }

  exportStatus(executionArn: string): Promise<ExportStatus> {
    return this.request('GET', `/download-request/${encodeURIComponent(executionArn)}`);
  }

  createImport(file: { fileName: string; size: number; contentType: string; sha256?: string }): Promise<CreatedImport> {
    return this.request('POST', '/imports', { ...file, delivery: 'direct' });
  }

  /** Tells the server the upload is done (idempotent); for multipart uploads it carries the part ETags. */
  completeImport(importId: string, parts?: { partNumber: number; etag: string }[]): Promise<unknown> {
    return this.request('POST', `/imports/${encodeURIComponent(importId)}/complete`, parts ? { parts } : {});
  }

  /** Resumes an import waiting in NEEDS_MAPPING with the column mapping the user chose. */
  submitImportMapping(importId: string, mapping: ImportMapping): Promise<unknown> {
    return this.request('POST', `/imports/${encodeURIComponent(importId)}/mapping`, { mapping });
  }

  /** Runs a FAILED import again (a new execution of its failed work); its status is then followed as before. */
  retryImport(importId: string): Promise<RetryResponse> {
    return this.request('POST', `/imports/${encodeURIComponent(importId)}/retry`, {});
  }

  importStatus(importId: string): Promise<ImportStatus> {
    return this.request('GET', `/imports/${encodeURIComponent(importId)}`);
  }

  createResource(file: { fileName: string; size: number; contentType: string; sha256?: string }): Promise<CreatedResource> {
    return this.request('POST', '/resources', file);
  }

  completeResource(resourceId: string, parts?: { partNumber: number; etag: string }[]): Promise<unknown> {
    return this.request('POST', `/resources/${encodeURIComponent(resourceId)}/complete`, parts ? { parts } : {});
  }

  listResources(cursor?: string): Promise<ResourcePage> {
    return this.request('GET', `/resources${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`);
  }

  deleteResource(resourceId: string): Promise<void> {
    return this.request('DELETE', `/resources/${encodeURIComponent(resourceId)}`);
  }

  async quarantine(): Promise<QuarantinedFile[]> {
    return listOf<QuarantinedFile>(await this.request('GET', '/admin/quarantine'), ['items', 'files', 'quarantine']);
  }

  async audit(cursor?: string, limit = 25): Promise<AuditPage> {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor) query.set('cursor', cursor);
    const body = await this.request<unknown>('GET', `/admin/audit?${query}`);
    const entries = listOf<AuditPage['entries'][number]>(body, ['entries', 'items']);
    const nextCursor = isRecord(body) && typeof body.nextCursor === 'string' ? body.nextCursor : undefined;
    return { entries, nextCursor };
  }

  async failedExecutions(): Promise<FailedExecution[]> {
    return listOf<FailedExecution>(await this.request('GET', '/admin/executions?status=FAILED'), ['executions', 'items']);
  }

  /** Starts (or, asked again, names) the new execution that reruns a failed one. */
  retry(executionArn: string): Promise<RetryResponse> {
    return this.request('POST', `/admin/executions/${encodeURIComponent(executionArn)}/retry`, {});
  }

  private async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    const token = this.options.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response: Response;
    try {
      response = await this.options.fetch(`${this.options.apiUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new ApiError(0);
    }
    if (response.status === 401) {
      this.options.onUnauthorized();
      throw new ApiError(401, await serverMessageOf(response));
    }
    if (!response.ok) throw new ApiError(response.status, await serverMessageOf(response));
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

/** The query string of a search: tags comma-separated, empty fields left out. */
export function criteriaQuery(criteria: SearchCriteria): URLSearchParams {
  const query = new URLSearchParams();
  if (criteria.q) query.set('q', criteria.q);
  if (criteria.tags?.length) query.set('tags', criteria.tags.join(','));
  if (criteria.userId) query.set('userId', criteria.userId);
  if (criteria.from) query.set('from', criteria.from);
  if (criteria.to) query.set('to', criteria.to);
  return query;
}

function pageQuery(limit: number, cursor?: string): URLSearchParams {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor) query.set('cursor', cursor);
  return query;
}

/** Admin lists may come bare or wrapped (`{"items":[…]}`); accept both. */
function listOf<T>(body: unknown, keys: string[]): T[] {
  if (Array.isArray(body)) return body as T[];
  if (isRecord(body)) {
    for (const key of keys) {
      const value = body[key];
      if (Array.isArray(value)) return value as T[];
    }
  }
  return [];
}
