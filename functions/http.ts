import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { FerryError, InvalidInput, Unauthorized, httpStatusOf } from '../core/errors';
import type { User } from '../core/model';
import { userFromClaims } from './auth';
import { log } from './log';

export type HttpEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type HttpResult = APIGatewayProxyStructuredResultV2;

export const json = (statusCode: number, body: unknown): HttpResult => ({
  statusCode,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

/** The one table from domain errors to HTTP: known errors keep their message, anything else is a generic 500. */
export function errorResponse(error: unknown, context: Record<string, unknown> = {}): HttpResult {
  const status = httpStatusOf(error);
  if (status === 500 || !(error instanceof FerryError)) {
    log.error({ ...context, err: error }, 'request failed');
    return json(500, { message: 'Something went wrong on our side. Please try again.' });
  }
  const field = error instanceof InvalidInput ? error.field : undefined;
  return json(status, { message: error.message, ...(field ? { field } : {}) });
}

/** The caller, from the claims the JWT authorizer verified (API Gateway in AWS, the local gateway locally). */
export function callerOf(event: HttpEvent): User {
  const claims = event.requestContext?.authorizer?.jwt?.claims;
  if (!claims) throw new Unauthorized('Sign in to continue.');
  return userFromClaims(claims);
}

export function jsonBody(event: HttpEvent): unknown {
  if (!event.body) return {};
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidInput('The request body is not valid JSON.', 'body');
  }
}

/** Path parameters may arrive URL-encoded (an executionArn holds ':'); decode exactly once. */
export function pathParameter(event: HttpEvent, name: string): string {
  const raw = event.pathParameters?.[name];
  if (!raw) throw new InvalidInput(`${name} is required.`, name);
  if (!/%[0-9A-Fa-f]{2}/.test(raw)) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new InvalidInput(`${name} has a malformed %-escape.`, name);
  }
}

/** Wraps a route: the caller's errors become 4xx with a message, the rest a logged 500. */
export const route =
  (fn: (event: HttpEvent) => Promise<HttpResult>) =>
  async (event: HttpEvent): Promise<HttpResult> => {
    try {
      return await fn(event);
    } catch (error) {
      return errorResponse(error, { routeKey: event.routeKey, requestId: event.requestContext?.requestId });
    }
  };
