import { createServer, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ClamdScanner, parseInstreamReply } from '../../adapters/clamd/clamd-scanner';
import { Transient } from '../../core/errors';
import { ScanFailed, ScanTimedOut } from '../../core/errors';

/**
 * The INSTREAM protocol as ClamdScanner speaks it, against a scripted stand-in for clamd that records
 * every session byte for byte. (import-clamd.test.ts runs the real clamd.)
 */

type Reply = string | 'close-without-reply' | 'never-answer';

interface FakeClamd {
  port: number;
  /** The payload of each INSTREAM session, reassembled from its length-prefixed chunks. */
  sessions: Buffer[];
  /** Raw bytes received per connection (to check the framing itself). */
  wire: Buffer[];
  close(): Promise<void>;
}

async function fakeClamd(reply: (payload: Buffer, session: number) => Reply): Promise<FakeClamd> {
  const sessions: Buffer[] = [];
  const wire: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let received = Buffer.alloc(0);
    const index = wire.push(received) - 1;
    socket.on('data', (data: Buffer) => {
      received = Buffer.concat([received, data]);
      wire[index] = received;
      if (received.toString('latin1') === 'zPING\0') return void socket.end('PONG\0');
      if (!received.subarray(0, 10).equals(Buffer.from('zINSTREAM\0'))) return;
      const chunks: Buffer[] = [];
      for (let at = 10; at + 4 <= received.length;) {
        const length = received.readUInt32BE(at);
        if (length === 0) {
          const session = sessions.push(Buffer.concat(chunks)) - 1;
          const answer = reply(sessions[session] ?? Buffer.alloc(0), session);
          if (answer === 'close-without-reply') socket.destroy();
          else if (answer !== 'never-answer') socket.end(`${answer}\0`);
          return;
        }
        if (at + 4 + length > received.length) return;
        chunks.push(received.subarray(at + 4, at + 4 + length));
        at += 4 + length;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    sessions,
    wire,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const bytes = (length: number): Buffer => Buffer.from(Array.from({ length }, (_, i) => i % 251));
const chunked = (data: Buffer, size: number): Readable =>
  Readable.from(
    (function* () {
      for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
    })(),
  );

let clamd: FakeClamd | undefined;
afterEach(async () => {
  await clamd?.close();
  clamd = undefined;
});

describe('ClamdScanner speaking INSTREAM', () => {
  it('sends zINSTREAM\\0, each chunk with a 4-byte big-endian length, then a zero-length chunk', async () => {
    clamd = await fakeClamd(() => 'stream: OK');
    const scanner = new ClamdScanner({ host: '127.0.0.1', port: clamd.port });
    await expect(scanner.scan(Readable.from([Buffer.from('abc'), Buffer.from('defgh')]))).resolves.toEqual({ clean: true });
    expect(clamd.wire[0]).toEqual(
      Buffer.concat([
        Buffer.from('zINSTREAM\0'),
        Buffer.from([0, 0, 0, 3]),
        Buffer.from('abc'),
        Buffer.from([0, 0, 0, 5]),
        Buffer.from('defgh'),
        Buffer.alloc(4),
      ]),
    );
  });

  it('returns the signature clamd names in a FOUND reply', async () => {
    clamd = await fakeClamd(() => 'stream: Win.Test.EICAR_HDB-1 FOUND');
    const scanner = new ClamdScanner({ host: '127.0.0.1', port: clamd.port });
    await expect(scanner.scan(Readable.from([Buffer.from('x')]))).resolves.toEqual({ clean: false, signature: 'Win.Test.EICAR_HDB-1' });
  });

  it('splits an object over maxStreamBytes into sessions that each repeat the last overlapBytes of the previous one', async () => {
    clamd = await fakeClamd(() => 'stream: OK');
    const scanner = new ClamdScanner({ host: '127.0.0.1', port: clamd.port, maxStreamBytes: 100, overlapBytes: 10 });
    const data = bytes(250);
    await expect(scanner.scan(chunked(data, 7))).resolves.toEqual({ clean: true });
    expect(clamd.sessions).toEqual([data.subarray(0, 100), data.subarray(90, 190), data.subarray(180, 250)]);
  });

  it('opens no further session after an infected range, and stops reading the object', async () => {
    clamd = await fakeClamd((_, session) => (session === 0 ? 'stream: Test.Sig FOUND' : 'stream: OK'));
    const scanner = new ClamdScanner({ host: '127.0.0.1', port: clamd.port, maxStreamBytes: 100, overlapBytes: 10 });
    const input = chunked(bytes(1000), 50);
    await expect(scanner.scan(input)).resolves.toEqual({ clean: false, signature: 'Test.Sig' });
    expect(clamd.sessions).toHaveLength(1);
    expect(input.destroyed).toBe(true);
  });

  it('an object of exactly maxStreamBytes is one session', async () => {
    clamd = await fakeClamd(() => 'stream: OK');
    const scanner = new ClamdScanner({ host: '127.0.0.1', port: clamd.port, maxStreamBytes: 100, overlapBytes: 10 });
    await scanner.scan(chunked(bytes(100), 30));
    expect(clamd.sessions).toHaveLength(1);
  });

  it('an ERROR reply fails the scan with ScanFailed', async () => {
    clamd = await fakeClamd(() => 'INSTREAM size limit exceeded. ERROR');
    const scanner = new ClamdScanner({ host: '127.0.0.1', port: clamd.port });
    await expect(scanner.scan(Readable.from([Buffer.from('x')]))).rejects.toBeInstanceOf(ScanFailed);
  });

  it('a limits-exceeded heuristic is a failed scan, not an infection and not clean', async () => {
    clamd = await fakeClamd(() => 'stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND');
    const scanner = new ClamdScanner({ host: '127.0.0.1', port: clamd.port });
    await expect(scanner.scan(Readable.from([Buffer.from('x')]))).rejects.toBeInstanceOf(ScanFailed);
  });

  it('a connection closed without a reply is Transient', async () => {
    clamd = await fakeClamd(() => 'close-without-reply');
    const scanner = new ClamdScanner({ host: '127.0.0.1', port: clamd.port });
    await expect(scanner.scan(Readable.from([Buffer.from('x')]))).rejects.toBeInstanceOf(Transient);
  });

  it('a clamd that never answers times out with Transient', async () => {
    clamd = await fakeClamd(() => 'never-answer');
    const scanner = new ClamdScanner({ host: '127.0.0.1', port: clamd.port, replyTimeoutMs: 200 });
    await expect(scanner.scan(Readable.from([Buffer.from('x')]))).rejects.toBeInstanceOf(Transient);
  });

  it('a clamd that accepts and never answers fails the scan closed with ScanTimedOut within scanTimeoutMs', async () => {
    clamd = await fakeClamd(() => 'never-answer');
    // The per-reply timeout alone would wait 10 minutes; the whole-scan bound ends it.
    const scanner = new ClamdScanner({ host: '127.0.0.1', port: clamd.port, scanTimeoutMs: 300 });
    const started = Date.now();
    const input = Readable.from([Buffer.from('id,text\n1,hello\n')]);
    const failure = await scanner.scan(input).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ScanTimedOut);
    expect((failure as Error).message).toMatch(/gave no verdict within 300 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(input.destroyed).toBe(true);
  });

  it('a clamd that stops reading mid-stream is bounded the same way', async () => {
    const sockets: Socket[] = [];
    const server = createServer((socket) => {
      sockets.push(socket);
      socket.pause();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const scanner = new ClamdScanner({ host: '127.0.0.1', port, scanTimeoutMs: 300 });
      const started = Date.now();
      const big = Readable.from((function* () {
        for (let i = 0; i < 64; i++) yield Buffer.alloc(1024 * 1024, 0x61);
      })());
      await expect(scanner.scan(big)).rejects.toBeInstanceOf(ScanTimedOut);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      sockets.forEach((socket) => socket.destroy());
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('ping resolves on PONG', async () => {
    clamd = await fakeClamd(() => 'stream: OK');
    await expect(new ClamdScanner({ host: '127.0.0.1', port: clamd.port }).ping()).resolves.toBeUndefined();
  });

  it('refuses a session size clamd cannot take (2 GiB or more) and an overlap as large as a session', () => {
    expect(() => new ClamdScanner({ host: 'h', port: 1, maxStreamBytes: 2 * 1024 ** 3 })).toThrow(RangeError);
    expect(() => new ClamdScanner({ host: 'h', port: 1, maxStreamBytes: 100, overlapBytes: 100 })).toThrow(RangeError);
  });
});

describe('reading clamd replies', () => {
  it.each([
    ['stream: OK\0', { clean: true }],
    ['stream: OK', { clean: true }],
    ['stream: Eicar-Test-Signature.UNOFFICIAL FOUND\0', { clean: false, signature: 'Eicar-Test-Signature.UNOFFICIAL' }],
  ])('%j is a verdict', (reply, verdict) => {
    expect(parseInstreamReply(reply)).toEqual(verdict);
  });

  it.each([
    'INSTREAM size limit exceeded. ERROR',
    "stream: Can't allocate memory ERROR",
    'UNKNOWN COMMAND',
    '',
    'stream: Heuristics.Limits.Exceeded.MaxScanSize FOUND',
  ])('%j fails closed with ScanFailed', (reply) => {
    expect(() => parseInstreamReply(reply)).toThrow(ScanFailed);
  });
});
