import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { Transient } from '../../core/errors';
import { type ScanVerdict } from '../../core/import/scanner';
import { ScanFailed, ScanTimedOut } from '../../core/errors';
import type { VirusScanner } from '../../core/ports';

const MiB = 1024 * 1024;

export interface ClamdScannerOptions {
  host: string;
  port: number;
  /** Connecting, and any silence while we send data. Default 10 s. */
  timeoutMs?: number;
  /** Waiting for clamd's verdict after the last byte of a range (it scans only then). Default 10 min. */
  replyTimeoutMs?: number;
  /** The whole scan, however clamd stalls (SCAN_TIMEOUT_SECONDS): past it the scan fails closed with ScanTimedOut. Default: none. */
  scanTimeoutMs?: number;
  /**
   * Most bytes sent in one INSTREAM session. Must not exceed clamd's StreamMaxLength (nor MaxFileSize /
   * MaxScanSize); clamd cannot take a stream over 2 GiB at all. Larger objects are scanned in ranges.
   * Default 1900 MiB (infra/local/clamd/clamd.conf.template sets the limits to 2000M).
   */
  maxStreamBytes?: number;
  /**
   * Bytes each range repeats from the end of the previous one, so a signature up to this long that
   * straddles a range boundary is still seen whole by one session. Default 1 MiB.
   */
  overlapBytes?: number;
}

/**
 * VirusScanner over clamd's INSTREAM protocol (TCP): `zINSTREAM\0`, then chunks each prefixed with
 * a 4-byte big-endian length, then a zero-length chunk; clamd answers `stream: OK`,
 * `stream: <signature> FOUND` or `<message> ERROR` and closes the connection.
 *
 * Objects larger than `maxStreamBytes` are scanned as consecutive overlapping ranges
 * [0, L), [L-O, 2L-O), … (L = maxStreamBytes, O = overlapBytes), one session each, reading the input
 * once and holding only the last O bytes to replay. The first infected range decides. Residual risk:
 * whole-file signatures (hash signatures, .hdb/.hsb) and container formats spread over more than one range
 * cannot match, and a pattern longer than O bytes across a boundary can be missed; the import accepts
 * only CSV/NDJSON text (format check), whose threats are byte patterns far shorter than O.
 */
export class ClamdScanner implements VirusScanner {
  private readonly host: string;
  private readonly port: number;
  private readonly timeoutMs: number;
  private readonly replyTimeoutMs: number;
  private readonly scanTimeoutMs: number | undefined;
  readonly maxStreamBytes: number;
  readonly overlapBytes: number;

  constructor(options: ClamdScannerOptions) {
    this.host = options.host;
    this.port = options.port;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.replyTimeoutMs = options.replyTimeoutMs ?? 10 * 60_000;
    this.scanTimeoutMs = options.scanTimeoutMs;
    this.maxStreamBytes = options.maxStreamBytes ?? 1900 * MiB;
    this.overlapBytes = options.overlapBytes ?? MiB;
    if (this.maxStreamBytes > 2 * 1024 * MiB - 1) throw new RangeError('clamd cannot scan a stream of 2 GiB or more');
    if (this.overlapBytes < 0 || this.overlapBytes >= this.maxStreamBytes) {
      throw new RangeError('overlapBytes must be at least 0 and smaller than maxStreamBytes');
    }
  }

  /** Resolves when clamd answers PONG; throws Transient otherwise. */
  async ping(): Promise<void> {
    const socket = await this.connect();
    const reply = new ReplyReader(socket, this.where());
    try {
      socket.write('zPING\0');
      const text = await reply.complete(this.timeoutMs);
      if (text !== 'PONG') throw new Transient(`clamd at ${this.where()} answered PING with "${text}"`);
    } finally {
      socket.destroy();
    }
  }

  async scan(input: Readable): Promise<ScanVerdict> {
    if (this.scanTimeoutMs === undefined) return this.scanWithin(input, { expired: false });
    const deadline = { expired: false, abort: () => undefined as void };
    const timer = setTimeout(() => {
      deadline.expired = true;
      deadline.abort();
    }, this.scanTimeoutMs);
    try {
      return await this.scanWithin(input, deadline);
    } catch (error) {
      if (deadline.expired) {
        throw new ScanTimedOut(`clamd at ${this.where()} gave no verdict within ${this.scanTimeoutMs} ms`, { cause: error });
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** `deadline.abort` is set to end whatever session is open, so a stalled read or write fails at once. */
  private async scanWithin(input: Readable, deadline: { expired: boolean; abort?: () => void }): Promise<ScanVerdict> {
    let session: InstreamSession | undefined;
    deadline.abort = () => {
      session?.abort();
      input.destroy();
    };
    session = await this.openSession();
    if (deadline.expired) session.abort();
    let sent = 0;
    const recent = new RecentBytes(this.overlapBytes);
    try {
      for await (const chunk of input) {
        let data = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
        while (data.length > 0) {
          if (sent === this.maxStreamBytes) {
            const verdict = await session.finish(this.replyTimeoutMs);
            if (!verdict.clean) {
              input.destroy();
              return verdict;
            }
            session = await this.openSession();
            const replay = recent.bytes();
            await session.send(replay);
            sent = replay.length;
          }
          const piece = data.subarray(0, this.maxStreamBytes - sent);
          data = data.subarray(piece.length);
          await session.send(piece);
          recent.push(piece);
          sent += piece.length;
        }
      }
      return await session.finish(this.replyTimeoutMs);
    } catch (error) {
      session.abort();
      input.destroy();
      throw error;
    }
  }

  private where(): string {
    return `${this.host}:${this.port}`;
  }

  private async openSession(): Promise<InstreamSession> {
    const socket = await this.connect();
    const session = new InstreamSession(socket, this.where(), this.timeoutMs);
    await session.start();
    return session;
  }

  private connect(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.host, port: this.port });
      socket.setTimeout(this.timeoutMs, () =>
        socket.destroy(new Transient(`clamd at ${this.where()} did not answer within ${this.timeoutMs} ms`)),
      );
      const onError = (error: Error) =>
        reject(
          error instanceof Transient ? error : new Transient(`clamd at ${this.where()} is unreachable: ${error.message}`, { cause: error }),
        );
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(socket);
      });
    });
  }
}

/** Collects clamd's reply, which ends with \0 (z-commands) or when clamd closes the connection. */
class ReplyReader {
  private text = '';
  private ended = false;
  private failure: Error | undefined;
  private notify: (() => void) | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly where: string,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => {
      this.text += data;
      if (this.text.includes('\0')) this.wake();
    });
    socket.on('error', (error) => {
      this.failure = error;
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
  }

  /** Whatever clamd has said so far (it speaks early only to refuse the stream). */
  get soFar(): string {
    return this.text.replace(/\0[\s\S]*$/, '').trim();
  }

  get closed(): boolean {
    return this.ended || this.failure !== undefined;
  }

  /** Why the connection ended before we were done: clamd's own words if it said any. */
  earlyEndError(): Error {
    if (this.soFar) return new ScanFailed(`clamd at ${this.where} stopped the scan: ${this.soFar}`);
    const reason = this.failure?.message ?? 'connection closed';
    return new Transient(`clamd at ${this.where} dropped the connection: ${reason}`, { cause: this.failure });
  }

  async complete(timeoutMs: number): Promise<string> {
    this.socket.setTimeout(timeoutMs);
    while (!this.text.includes('\0') && !this.closed) {
      await new Promise<void>((resolve) => (this.notify = resolve));
    }
    if (this.text.includes('\0') || (this.ended && this.soFar)) return this.soFar;
    throw this.earlyEndError();
  }

  private wake(): void {
    const notify = this.notify;
    this.notify = undefined;
    notify?.();
  }
}

class InstreamSession {
  private readonly reply: ReplyReader;

  constructor(
    private readonly socket: Socket,
    private readonly where: string,
    private readonly timeoutMs: number,
  ) {
    this.reply = new ReplyReader(socket, where);
  }

  async start(): Promise<void> {
    await this.write(Buffer.from('zINSTREAM\0'));
  }

  async send(data: Buffer): Promise<void> {
    if (data.length === 0) return;
    const header = Buffer.alloc(4);
    header.writeUInt32BE(data.length);
    await this.write(header, data);
  }

  async finish(replyTimeoutMs: number): Promise<ScanVerdict> {
    await this.write(Buffer.alloc(4));
    const text = await this.reply.complete(replyTimeoutMs);
    this.socket.destroy();
    return parseInstreamReply(text, this.where);
  }

  abort(): void {
    this.socket.destroy();
  }

  private async write(...buffers: Buffer[]): Promise<void> {
    if (this.reply.closed) throw this.reply.earlyEndError();
    this.socket.setTimeout(this.timeoutMs);
    let flushed = true;
    for (const buffer of buffers) flushed = this.socket.write(buffer);
    if (flushed) return;
    await new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        this.socket.off('close', onClose);
        resolve();
      };
      const onClose = () => {
        this.socket.off('drain', onDrain);
        reject(this.reply.earlyEndError());
      };
      this.socket.once('drain', onDrain);
      this.socket.once('close', onClose);
    });
  }
}

const LIMITS_EXCEEDED = /^Heuristics\.Limits\.Exceeded/;

/** clamd's INSTREAM reply → verdict; anything but a clear OK or FOUND fails closed. */
export function parseInstreamReply(reply: string, where = 'clamd'): ScanVerdict {
  const text = reply.replace(/\0/g, '').trim();
  if (text === 'stream: OK') return { clean: true };
  const found = /^stream: (.+) FOUND$/.exec(text);
  if (found?.[1]) {
    const signature = found[1];
    if (LIMITS_EXCEEDED.test(signature)) throw new ScanFailed(`clamd at ${where} could not scan completely: ${signature}`);
    return { clean: false, signature };
  }
  throw new ScanFailed(`clamd at ${where} gave no verdict: ${text || '(empty reply)'}`);
}

/** The last `limit` bytes seen, kept as references to the pieces (no copying until replayed). */
class RecentBytes {
  private pieces: Buffer[] = [];
  private total = 0;

  constructor(private readonly limit: number) {}

  push(piece: Buffer): void {
    if (this.limit === 0) return;
    this.pieces.push(piece);
    this.total += piece.length;
    while (this.pieces.length > 1 && this.total - (this.pieces[0]?.length ?? 0) >= this.limit) {
      this.total -= this.pieces.shift()?.length ?? 0;
    }
  }

  bytes(): Buffer {
    const all = Buffer.concat(this.pieces, this.total);
    return all.subarray(Math.max(0, all.length - this.limit));
  }
}
