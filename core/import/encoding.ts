import iconv from 'iconv-lite';
import { isUtf8 } from 'node:buffer';
import type { ImportEncoding } from '../contract';
import { incompleteUtf8Tail } from './utf8';

/**
 * The text encodings an import file may use, as detected from its first bytes: a byte order mark says
 * UTF-8 or UTF-16; without one, bytes that are valid UTF-8 are UTF-8, and anything else is read as
 * Windows-1252 (what Excel on Windows writes for "CSV"), which gives every byte a character.
 * Decoding and encoding go through iconv-lite, never a hand-written decoder.
 */
export type TextEncoding = ImportEncoding;

export const TEXT_ENCODINGS = ['utf-8', 'utf-8-bom', 'utf-16le', 'utf-16be', 'windows-1252'] as const satisfies readonly TextEncoding[];

const BOMS: ReadonlyArray<{ encoding: TextEncoding; bytes: readonly number[] }> = [
  { encoding: 'utf-8-bom', bytes: [0xef, 0xbb, 0xbf] },
  { encoding: 'utf-16le', bytes: [0xff, 0xfe] },
  { encoding: 'utf-16be', bytes: [0xfe, 0xff] },
];

/** The encoding a byte order mark at the start of `sample` names, and the mark's length. */
export function byteOrderMark(sample: Uint8Array): { encoding: TextEncoding; length: number } | undefined {
  const bom = BOMS.find(({ bytes }) => sample.length >= bytes.length && bytes.every((byte, i) => sample[i] === byte));
  return bom ? { encoding: bom.encoding, length: bom.bytes.length } : undefined;
}

/**
 * The encoding of a file from its first bytes. `truncated` says the file goes on after `sample`, so a
 * multi-byte character cut at its end is not evidence against UTF-8.
 */
export function detectEncoding(sample: Uint8Array, { truncated }: { truncated: boolean }): TextEncoding {
  const bom = byteOrderMark(sample);
  if (bom) return bom.encoding;
  const whole = truncated ? sample.subarray(0, sample.length - incompleteUtf8Tail(sample)) : sample;
  return isUtf8(whole) ? 'utf-8' : 'windows-1252';
}

/** iconv-lite's name for each encoding (it strips a byte order mark when decoding). */
const ICONV_NAME: Record<TextEncoding, string> = {
  'utf-8': 'utf-8',
  'utf-8-bom': 'utf-8',
  'utf-16le': 'utf-16le',
  'utf-16be': 'utf-16be',
  'windows-1252': 'windows-1252',
};

/** How the import status names each encoding. */
export const ENCODING_LABEL: Record<TextEncoding, string> = {
  'utf-8': 'UTF-8',
  'utf-8-bom': 'UTF-8 with BOM',
  'utf-16le': 'UTF-16 LE',
  'utf-16be': 'UTF-16 BE',
  'windows-1252': 'Windows-1252',
};

/** A streaming decoder: bytes in, text out; characters split across chunks are carried over. */
export interface TextDecoderStream {
  write(bytes: Buffer): string;
  end(): string;
}

export function decoderFor(encoding: TextEncoding): TextDecoderStream {
  const decoder = iconv.getDecoder(ICONV_NAME[encoding], { stripBOM: true });
  return { write: (bytes) => decoder.write(bytes), end: () => decoder.end() ?? '' };
}

/** The whole of a sample as text (a cut character at its end becomes U+FFFD; callers cut at a line end). */
export const decodeSample = (sample: Uint8Array, encoding: TextEncoding): string =>
  iconv.decode(Buffer.from(sample.buffer, sample.byteOffset, sample.byteLength), ICONV_NAME[encoding], { stripBOM: true });

/** Text in the encoding, with the byte order mark the encoding implies when `first` (the file's start). */
export const encodeText = (text: string, encoding: TextEncoding, first = false): Buffer =>
  iconv.encode(text, ICONV_NAME[encoding], { addBOM: first && encoding !== 'utf-8' && encoding !== 'windows-1252' });

/** The charset parameter of a Content-Type for the encoding. */
export const charsetOf = (encoding: TextEncoding): string => (encoding === 'utf-8-bom' ? 'utf-8' : encoding);
