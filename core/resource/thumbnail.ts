import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Images sharp's prebuilt libvips reads (BMP and HEIC are kept without a thumbnail). */
const THUMBNAIL_TYPES: ReadonlySet<string> = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/tiff', 'image/avif']);

export const canThumbnail = (mime: string | undefined): boolean => mime !== undefined && THUMBNAIL_TYPES.has(mime);

/** Longest side of a thumbnail, in pixels. */
export const THUMBNAIL_PIXELS = 256;

/**
 * A small WebP of an image (EXIF orientation applied, never enlarged), streamed through sharp. sharp is
 * loaded on first use, so only the task that keeps resources pays its start-up (measured in README).
 * A decompression bomb is refused by sharp's pixel limit rather than decoded (and gets no thumbnail).
 */
export async function makeThumbnail(image: Readable): Promise<Buffer | undefined> {
  // Outside the catch: a bundle without sharp's native binary must fail the task, not skip every thumbnail.
  const { default: sharp } = await import('sharp');
  const resize = sharp({ limitInputPixels: 100_000_000, failOn: 'error' })
    .rotate()
    .resize(THUMBNAIL_PIXELS, THUMBNAIL_PIXELS, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 70 });
  try {
    const [, thumbnail] = await Promise.all([pipeline(image, resize), resize.toBuffer()]);
    return thumbnail;
  } catch {
    // An image sharp cannot decode (cut short, or a type it does not read) is kept without a preview.
    return undefined;
  }
}
