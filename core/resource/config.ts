/** The configuration values the resource use-cases read (a subset of functions/config.ts). */
export interface ResourceConfig {
  /** The allowlist (RESOURCE_TYPES): MIME types, or `type/*` for a whole family. */
  resourceTypes: readonly string[];
}

/** Common images, PDF, Office and OpenDocument files, CSV, plain text and audio. */
export const DEFAULT_RESOURCE_TYPES: readonly string[] = [
  'image/jpeg',
  'image/png',
  'image/gif',
  'image/webp',
  'image/tiff',
  'image/bmp',
  'image/heic',
  'image/avif',
  'application/pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  'application/msword',
  'application/vnd.ms-excel',
  'application/vnd.ms-powerpoint',
  'application/vnd.oasis.opendocument.text',
  'application/vnd.oasis.opendocument.spreadsheet',
  'application/vnd.oasis.opendocument.presentation',
  'text/csv',
  'text/plain',
  'audio/*',
];

/** RESOURCE_TYPES as written in the environment: comma- or space-separated; unset or empty: the default. */
export function parseResourceTypes(value: string | undefined): readonly string[] {
  const types = (value ?? '')
    .split(/[\s,]+/)
    .map((type) => type.trim().toLowerCase())
    .filter((type) => type !== '');
  for (const type of types) {
    if (!/^[a-z0-9.+-]+\/([a-z0-9.+-]+|\*)$/.test(type)) throw new Error(`RESOURCE_TYPES: "${type}" is not a MIME type or type/*`);
  }
  return types.length > 0 ? types : DEFAULT_RESOURCE_TYPES;
}

/** Whether the allowlist lets a detected MIME type in. */
export function isAllowedType(allowlist: readonly string[], mime: string): boolean {
  const family = `${mime.split('/')[0] ?? ''}/*`;
  return allowlist.includes(mime) || allowlist.includes(family);
}
