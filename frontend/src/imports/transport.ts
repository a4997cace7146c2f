/** One upload to storage (a presigned POST or one multipart part), with real bytes-sent progress. */
export interface UploadRequest {
  method: 'POST' | 'PUT';
  url: string;
  body: Blob | FormData;
  onProgress: (bytesSent: number) => void;
  signal?: AbortSignal;
}

export interface UploadResponse {
  status: number;
  /** The part's ETag (multipart uploads need it to complete; the bucket's CORS must expose it). */
  etag?: string;
}

export type SendUpload = (request: UploadRequest) => Promise<UploadResponse>;

/** fetch cannot report upload progress, XMLHttpRequest can. */
export const xhrUpload: SendUpload = (request) =>
  new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(request.method, request.url);
    xhr.upload.onprogress = (event) => request.onProgress(event.loaded);
    xhr.onload = () => resolve({ status: xhr.status, etag: xhr.getResponseHeader('ETag') ?? undefined });
    xhr.onerror = () => reject(new TypeError('The upload could not reach storage.'));
    xhr.onabort = () => reject(new DOMException('Upload cancelled', 'AbortError'));
    request.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(request.body);
  });
