import type { Readable } from 'node:stream';
import { FerryError } from '../errors';

/** The antivirus verdict on one uploaded object. */
export type ScanVerdict = { clean: true } | { clean: false; signature: string };

/**
 * The antivirus check of an import. Implementations read `stream` to the end (or until a verdict is
 * certain) and never answer "clean" for data they did not scan: anything they cannot scan throws.
 * Unreachable scanner, timeout, dropped connection → `Transient` (worth retrying);
 * the scanner replied with an error or could not scan completely → `ScanFailed`.
 */
export interface VirusScanner {
  scan(stream: Readable): Promise<ScanVerdict>;
}

/** The scanner answered but could not give a verdict (clamd ERROR reply, limits exceeded). Never retried into "clean". */
export class ScanFailed extends FerryError {}
