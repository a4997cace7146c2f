import { isUtf8 } from 'node:buffer';

/** How many bytes at the end of `bytes` start a UTF-8 sequence that the next chunk completes. */
export function incompleteUtf8Tail(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead byte
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length > back ? back : 0;
  }
  return 0;
}

/**
 * Checks a byte stream chunk by chunk (native check, no decoding) and throws `onInvalid(offset)` at the
 * first chunk that is not UTF-8, so a parser never turns bad bytes into U+FFFD silently.
 */
export class Utf8Validator {
  private carry: Buffer;
  private offset = 0;

  /** `carry`: the incomplete sequence a previous validator of the same stream ended on (`pending`). */
  constructor(
    private readonly onInvalid: (offset: number) => Error,
    carry: Buffer = Buffer.alloc(0),
  ) {
    this.carry = carry;
  }

  /** The bytes of a sequence the next chunk completes (at most 3): what a later validator starts from. */
  get pending(): Buffer {
    return this.carry;
  }

  check(chunk: Buffer): void {
    const bytes = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const whole = bytes.length - incompleteUtf8Tail(bytes);
    if (!isUtf8(bytes.subarray(0, whole))) throw this.onInvalid(this.offset);
    this.offset += whole;
    this.carry = Buffer.from(bytes.subarray(whole));
  }

  /** The stream ended: a sequence left incomplete is invalid. */
  end(): void {
    if (this.carry.length > 0) throw this.onInvalid(this.offset);
  }
}
