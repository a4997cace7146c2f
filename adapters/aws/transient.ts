import { FerryError, Transient } from '../../core/errors';

/**
 * Which AWS SDK errors are worth retrying. Adapters turn these into `Transient`, the error name the
 * ASL Retry blocks match; anything else keeps its own name and goes to the Catch.
 */
const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'LimitExceededException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalServerError',
  'InternalServerErrorException',
  'InternalFailure',
  'InternalError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'TransactionConflictException',
]);

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

export const awsErrorName = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && typeof (error as SdkErrorShape).name === 'string' ? ((error as SdkErrorShape).name as string) : undefined;

export const httpStatusOfAwsError = (error: unknown): number | undefined => {
  const status = typeof error === 'object' && error !== null ? (error as SdkErrorShape).$metadata?.httpStatusCode : undefined;
  return typeof status === 'number' ? status : undefined;
};

export function isTransientAwsError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, $retryable } = error as SdkErrorShape;
  const name = awsErrorName(error);
  if (name && TRANSIENT_NAMES.has(name)) return true;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  if ($retryable) return true;
  const status = httpStatusOfAwsError(error);
  return status === 429 || (status !== undefined && status >= 500);
}

/** Rethrows `error`, as `Transient` when retrying may help; domain errors pass through unchanged. */
export function translateAwsError(error: unknown, what: string): never {
  if (error instanceof FerryError) throw error;
  if (isTransientAwsError(error)) {
    throw new Transient(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  throw error;
}
