/**
 * Typed domain errors. `name` is what Step Functions sees as the error name (Lambda's errorType),
 * so statemachines/*.asl.yaml match these in Retry and Catch; the HTTP edge maps them to status codes.
 */
export class FerryError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input from a caller; `field` names what was wrong. */
export class InvalidInput extends FerryError {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}
export class NotFound extends FerryError {}
export class Forbidden extends FerryError {}
export class Unauthorized extends FerryError {}
/** A failure worth retrying: throttling, a dropped connection, a 5xx from a dependency. */
export class Transient extends FerryError {}

export const httpStatusOf = (error: unknown): number => {
  if (error instanceof InvalidInput) return 400;
  if (error instanceof Unauthorized) return 401;
  if (error instanceof Forbidden) return 403;
  if (error instanceof NotFound) return 404;
  return 500;
};
