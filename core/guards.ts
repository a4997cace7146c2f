/** A non-null object whose fields can be read (JSON objects, parsed events, execution input). */
export const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
