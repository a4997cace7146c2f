import { isServerError, isThrottlingError, isTransientError } from '@smithy/service-error-classification';
import { FerryError, Transient } from '../../core/errors';

/**
 * Which AWS SDK errors are worth retrying. Adapters turn these into `Transient`, the error name the
 * ASL Retry blocks match; anything else keeps its own name and goes to the Catch.
 *
 * The SDK's own classifiers decide first (throttling codes and 429, timeouts, dropped connections,
 * the retryable trait, 500/502/503/504, HTTP/2 refused streams), so new SDK codes come with upgrades.
 */

/** Ferry's additions: names some services send with a 4xx or no status, which the SDK lists lack. */
const ALSO_TRANSIENT_NAMES = new Set([
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalServerError',
  'InternalServerErrorException',
  'InternalFailure',
  'InternalError',
  // DynamoDB: a transaction collided with another; retrying is the documented remedy.
  'TransactionConflictException',
]);
/** A connection the peer dropped mid-handshake; the SDK lists ECONNRESET and ECONNREFUSED but not this. */
const ALSO_TRANSIENT_CODES = new Set(['ECONNABORTED']);

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
  // The classifiers read name, code, message, $retryable and $metadata, all optional on this shape.
  const sdkError = error as Parameters<typeof isTransientError>[0];
  if (isThrottlingError(sdkError) || isTransientError(sdkError) || isServerError(sdkError)) return true;
  const { code } = error as SdkErrorShape;
  const name = awsErrorName(error);
  return (name !== undefined && ALSO_TRANSIENT_NAMES.has(name)) || (typeof code === 'string' && ALSO_TRANSIENT_CODES.has(code));
}

/** Rethrows `error`, as `Transient` when retrying may help; domain errors pass through unchanged. */
export function translateAwsError(error: unknown, what: string): never {
  if (error instanceof FerryError) throw error;
  if (isTransientAwsError(error)) {
    throw new Transient(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  throw error;
}
