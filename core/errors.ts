/**
 * Typed domain errors. `name` is what Step Functions sees as the error name (Lambda's errorType),
 * so statemachines/*.asl.yaml match these in Retry and Catch; the HTTP edge maps them to status codes.
 * Each name is a string literal, not the class's own name, so a minifier renaming classes changes nothing
 * (test/unit/error-names.test.ts checks them against the ASL).
 */
export class FerryError extends Error {
  override readonly name: string = 'FerryError';
}

/** Bad input from a caller; `field` names what was wrong. */
export class InvalidInput extends FerryError {
  override readonly name = 'InvalidInput';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}
export class NotFound extends FerryError {
  override readonly name = 'NotFound';
}
export class Forbidden extends FerryError {
  override readonly name = 'Forbidden';
}
export class Unauthorized extends FerryError {
  override readonly name = 'Unauthorized';
}
/** A failure worth retrying: throttling, a dropped connection, a 5xx from a dependency. */
export class Transient extends FerryError {
  override readonly name = 'Transient';
}
/** The virus scanner answered but could not give a verdict (clamd ERROR reply, limits exceeded). Never retried into "clean". */
export class ScanFailed extends FerryError {
  override readonly name = 'ScanFailed';
}
/** The virus scanner gave no verdict within SCAN_TIMEOUT_SECONDS. Not retried by the workflow: a hung scanner would hold the import that long again. */
export class ScanTimedOut extends FerryError {
  override readonly name = 'ScanTimedOut';
}
/**
 * The uploaded object is no longer the one that arrived (its ETag changed: the still-valid upload form was used
 * again). Checks and processing read only the pinned object, so a swap after arrival rejects the file, never imports it.
 */
export class UploadChanged extends FerryError {
  override readonly name = 'UploadChanged';
}
/**
 * No import slot is free for this file now (core/import/slots.ts): its turn has not come. The workflow retries the
 * ask ("Wait for a processing slot"); it is never a failure of the file until that wait runs out.
 */
export class SlotBusy extends FerryError {
  override readonly name = 'SlotBusy';
}
/** `ExecutionService.start` with a name already used: the execution exists (adapters map their own word for it). */
export class ExecutionAlreadyStarted extends FerryError {
  override readonly name = 'ExecutionAlreadyStarted';
}

/** The request is well-formed but the thing it names is in the wrong state for it (retrying a running execution). */
export class Conflict extends FerryError {
  override readonly name = 'Conflict';
}

export const httpStatusOf = (error: unknown): number => {
  if (error instanceof InvalidInput) return 400;
  if (error instanceof Unauthorized) return 401;
  if (error instanceof Forbidden) return 403;
  if (error instanceof NotFound) return 404;
  if (error instanceof Conflict) return 409;
  return 500;
};
