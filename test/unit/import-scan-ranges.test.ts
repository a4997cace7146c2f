import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClamdScanner } from '../../adapters/clamd/clamd-scanner';
import { mapLimit } from '../../core/concurrency';
import { UploadChanged } from '../../core/errors';
import { recordScanVerdicts, scanForViruses, scanRanges, scanVirusRange } from '../../core/import/tasks';
import { createImport } from '../../core/import/use-cases';
import type { ScanVerdict } from '../../core/import/scanner';
import type { VirusScanner } from '../../core/ports';
import { startClamd, type ClamdHandle } from '../../infra/local/clamd/start-clamd';
import { freePort } from '../../infra/local/free-port';
import { clamdMissing, titled } from '../requirements';
import { alice, etagOf } from './fakes';
import { FakeScanner, makeImportDeps } from './import-fakes';

const EICAR = ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'].join('');

/** Bytes no scanner unpacks (hash blocks), the same every run, with EICAR written at `offset`. */
function fileWithEicarAt(size: number, offset: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let at = 0, block = 0; at < size; block++) at += createHash('sha256').update(`ferry-scan-${block}`).digest().copy(bytes, at);
  bytes.write(EICAR, offset, 'latin1');
  return bytes;
}

/** A scanner that remembers how many bytes each scan read. */
class RecordingScanner implements VirusScanner {
  readonly scannedBytes: number[] = [];
  constructor(private readonly inner: VirusScanner) {}
  async scan(stream: Readable): Promise<ScanVerdict> {
    let bytes = 0;
    const counted = (async function* () {
      for await (const piece of stream) {
        bytes += (piece as Buffer).length;
        yield piece as Buffer;
      }
    })();
    const verdict = await this.inner.scan(Readable.from(counted));
    this.scannedBytes.push(bytes);
    return verdict;
  }
}

async function uploaded(body: Buffer) {
  const deps = makeImportDeps();
  const created = await createImport(deps, alice, { fileName: 'posts.csv', size: body.length, contentType: 'text/csv', type: 'email' });
  if (!('importId' in created)) throw new Error('expected one import');
  const record = await deps.imports.get(created.importId);
  deps.objects.put(record?.upload.bucket ?? '', record?.upload.key ?? '', body, 'text/csv');
  await deps.imports.markUploaded(created.importId, deps.clock.now(), { etag: etagOf(body), bytes: body.length });
  return { deps, input: { importId: created.importId, executionArn: 'arn:aws:states:us-east-1:1:execution:ferry-import:x' } };
}

/**
 * The antivirus states as the workflow runs them: "Scan for viruses", then for a file over one range "Scan a range"
 * once per range (here one after the other) and "Record the scan verdict". Returns the verdict of each range too.
 */
async function scanned(body: Buffer, scanner: VirusScanner, config: { scanRangeBytes: number; scanRangeOverlapBytes: number }) {
  const { deps, input } = await uploaded(body);
  const first = await scanForViruses({ ...deps, scanner, config }, input);
  if (!('ranges' in first)) return { verdict: first, ranges: [first], antivirus: (await deps.imports.get(input.importId))?.checks.antivirus };
  const ranges = await mapLimit(first.ranges, 1, (range) => scanVirusRange({ ...deps, scanner }, { ...input, range }));
  const verdict = await recordScanVerdicts(deps, { ...input, verdicts: ranges });
  return { verdict, ranges, antivirus: (await deps.imports.get(input.importId))?.checks.antivirus };
}

describe('scanning a file larger than one clamd stream, in ranges', () => {
  it('ranges of SCAN_RANGE_BYTES, each reaching SCAN_RANGE_OVERLAP_BYTES into the next; a file that fits is one scan', () => {
    expect(scanRanges(100, 30, 5)).toEqual([
      { start: 0, end: 35 },
      { start: 30, end: 65 },
      { start: 60, end: 95 },
      { start: 90, end: 100 },
    ]);
    expect(scanRanges(35, 30, 5)).toEqual([{ start: 0, end: 35 }]);
  });

  it('a file over one range is not read by "Scan for viruses": it returns the ranges and how many run at once', async () => {
    const { deps, input } = await uploaded(fileWithEicarAt(1000, 0));
    const scanner = new RecordingScanner(new FakeScanner(EICAR));
    expect(await scanForViruses({ ...deps, scanner, config: { scanRangeBytes: 300, scanRangeOverlapBytes: 100, scanRangeConcurrency: 3 } }, input)).toEqual({
      ranges: [
        { start: 0, end: 400 },
        { start: 300, end: 700 },
        { start: 600, end: 1000 },
        { start: 900, end: 1000 },
      ],
      rangeConcurrency: 3,
    });
    expect(scanner.scannedBytes).toEqual([]);
    expect((await deps.imports.get(input.importId))?.checks.antivirus).toBe('pending');
  });

  it('one verdict per range; EICAR in the last range only makes the file infected', async () => {
    const scanner = new RecordingScanner(new FakeScanner(EICAR));
    expect(await scanned(fileWithEicarAt(1000, 920), scanner, { scanRangeBytes: 300, scanRangeOverlapBytes: 10 })).toEqual({
      verdict: { clean: false, signature: 'Eicar-Test-Signature' },
      ranges: [{ clean: true }, { clean: true }, { clean: true }, { clean: false, signature: 'Eicar-Test-Signature' }],
      antivirus: 'infected',
    });
    expect(scanner.scannedBytes).toEqual([310, 310, 310, 100]);
  });

  it('EICAR across a range boundary is found through the overlap; without one it would be missed (the residual risk)', async () => {
    const body = fileWithEicarAt(1000, 280);
    const withOverlap = new RecordingScanner(new FakeScanner(EICAR));
    expect(await scanned(body, withOverlap, { scanRangeBytes: 300, scanRangeOverlapBytes: 100 })).toEqual({
      verdict: { clean: false, signature: 'Eicar-Test-Signature' },
      ranges: [{ clean: false, signature: 'Eicar-Test-Signature' }, { clean: true }, { clean: true }, { clean: true }],
      antivirus: 'infected',
    });
    // Every range is its own task: all are read, the first holds EICAR whole.
    expect(withOverlap.scannedBytes).toEqual([400, 400, 400, 100]);

    const withoutOverlap = new RecordingScanner(new FakeScanner(EICAR));
    expect(await scanned(body, withoutOverlap, { scanRangeBytes: 300, scanRangeOverlapBytes: 0 })).toEqual({
      verdict: { clean: true },
      ranges: [{ clean: true }, { clean: true }, { clean: true }, { clean: true }],
      antivirus: 'clean',
    });
    expect(withoutOverlap.scannedBytes).toEqual([300, 300, 300, 100]);
  });

  it('a range is read pinned to the uploaded object: another object under the key is UploadChanged', async () => {
    const { deps, input } = await uploaded(fileWithEicarAt(1000, 0));
    const record = await deps.imports.get(input.importId);
    deps.objects.put(record?.upload.bucket ?? '', record?.upload.key ?? '', Buffer.from('replaced'), 'text/csv');
    await expect(scanVirusRange({ ...deps, scanner: new FakeScanner(EICAR) }, { ...input, range: { start: 0, end: 400 } })).rejects.toBeInstanceOf(UploadChanged);
  });
});

describe.skipIf(clamdMissing())(titled('ranged scans against a real clamd', clamdMissing()), () => {
  let dataDir: string;
  let clamd: ClamdHandle;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ferry-scan-ranges-'));
    clamd = await startClamd({ dataDir, port: await freePort() });
  });
  afterAll(async () => {
    await clamd?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('clamd finds EICAR written across a boundary of 64 KiB ranges in the range that overlaps it', async () => {
    const scanner = new RecordingScanner(new ClamdScanner({ host: clamd.host, port: clamd.port, timeoutMs: 5000 }));
    const body = fileWithEicarAt(256 * 1024, 128 * 1024 - 30);
    const { verdict, ranges, antivirus } = await scanned(body, scanner, { scanRangeBytes: 64 * 1024, scanRangeOverlapBytes: 4096 });
    expect(verdict).toMatchObject({ clean: false, signature: expect.stringMatching(/^Eicar-Test-Signature/) });
    expect(antivirus).toBe('infected');
    // Range 1 is clean; range 2 (from 64 KiB) reaches 4 KiB past 128 KiB and holds all of EICAR; ranges 3 and 4 are clean.
    expect(ranges.map((one) => one.clean)).toEqual([true, false, true, true]);
    expect(scanner.scannedBytes).toEqual([64 * 1024 + 4096, 64 * 1024 + 4096, 64 * 1024 + 4096, 64 * 1024]);
  });
});
