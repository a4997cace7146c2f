import type { ServerResponse } from 'node:http';

/** An S3 error answer: the status and the XML body S3 sends, so SDK clients and browsers read it as they would from AWS. */
export class S3Refusal extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 405 | 412,
    readonly code: 'AccessDenied' | 'SignatureDoesNotMatch' | 'InvalidAccessKeyId' | 'RequestTimeTooSkewed' | 'EntityTooLarge' | 'EntityTooSmall' | 'MalformedPOSTRequest' | 'InvalidArgument' | 'AuthorizationQueryParametersError' | 'PreconditionFailed' | 'NoSuchUpload',
    message: string,
  ) {
    super(message);
  }
}

/** S3's answer to an If-Match (or x-amz-copy-source-if-match) naming another ETag than the object's. */
export const preconditionFailed = () => new S3Refusal(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');

export const accessDenied = (message: string) => new S3Refusal(403, 'AccessDenied', message);
export const policyViolation = (message: string) => accessDenied(`Invalid according to Policy: ${message}`);

const xmlEscape = (text: string) => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

export function sendRefusal(response: ServerResponse, refusal: S3Refusal, resource: string, cors: Record<string, string>): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${refusal.code}</Code><Message>${xmlEscape(refusal.message)}</Message><Resource>${xmlEscape(resource)}</Resource></Error>`;
  if (response.headersSent) {
    response.destroy();
    return;
  }
  // The rest of a refused upload is not read: the connection closes after the answer.
  response.writeHead(refusal.status, { ...cors, 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), connection: 'close' });
  response.end(body);
}
