import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { UploadChanged } from '../../core/errors';
import { computeChecksum, type ChecksumOutcome, type ChecksumStepOutcome } from '../../core/import/tasks';
import { createImport } from '../../core/import/use-cases';
import { alice, etagOf } from './fakes';
import { makeImportDeps, type ImportDeps } from './import-fakes';

/**
 * "Compute checksum" of a file over CHECKSUM_STEP_BYTES: each task hashes one step of the file and hands on the
 * offset and the hash's saved state; "Checksum more of the file" runs the same task from there until the verdict.
 */
const EXECUTION = 'arn:aws:states:us-east-1:1:execution:ferry-import:x';
const STEP = 1000;

const fileOf = (bytes: number) => Buffer.from(Array.from({ length: bytes }, (_, i) => `row ${i}\n`).join('').slice(0, bytes));

async function uploaded(deps: ImportDeps, body: Buffer, sha256?: string) {
  const created = await createImport(deps, alice, { fileName: 'posts.csv', size: body.length, contentType: 'text/csv', type: 'email', ...(sha256 ? { sha256 } : {}) });
  if (!('importId' in created)) throw new Error('expected one import');
  const record = await deps.imports.get(created.importId);
  const upload = record?.upload ?? { bucket: '', key: '' };
  deps.objects.put(upload.bucket, upload.key, body, 'text/csv');
  await deps.imports.markUploaded(created.importId, deps.clock.now(), { etag: etagOf(body), bytes: body.length });
  return { importId: created.importId, upload, input: { importId: created.importId, executionArn: EXECUTION } };
}

/** Runs the task as the state machine does: again with each progress, until it gives the verdict. */
async function hashedInSteps(deps: ImportDeps, input: { importId: string; executionArn: string }) {
  const progress: ChecksumStepOutcome['progress'][] = [];
  let outcome: ChecksumOutcome | ChecksumStepOutcome = await computeChecksum(deps, input);
  while ('progress' in outcome) {
    progress.push(outcome.progress);
    outcome = await computeChecksum(deps, { ...input, progress: outcome.progress });
  }
  return { outcome, progress };
}

const stepped = () => {
  const deps = makeImportDeps();
  return { ...deps, config: { ...deps.config, checksumStepBytes: STEP } };
};

describe('a checksum in steps', () => {
  it('gives the SHA-256 of the whole file, one step per CHECKSUM_STEP_BYTES, each handing on a small state', async () => {
    const deps = stepped();
    const body = fileOf(10 * STEP + 123);
    const sha256 = createHash('sha256').update(body).digest('hex');
    const file = await uploaded(deps, body, sha256);

    const { outcome, progress } = await hashedInSteps(deps, file.input);

    expect(outcome).toEqual({ sha256, bytes: body.length, expectedSha256: sha256, expectedBytes: body.length, verdict: 'verified' });
    expect(progress.map((step) => step.offset)).toEqual(Array.from({ length: 10 }, (_, i) => (i + 1) * STEP));
    expect(Math.max(...progress.map((step) => JSON.stringify(step).length))).toBeLessThan(300);
    const record = await deps.imports.get(file.importId);
    expect(record?.computedSha256).toBe(sha256);
    expect(record?.checks.checksum).toBe('verified');
  });

  it('a step that ends exactly at the end of the file gives the verdict, not an empty step after it', async () => {
    const deps = stepped();
    const body = fileOf(3 * STEP);
    const file = await uploaded(deps, body);

    const { outcome, progress } = await hashedInSteps(deps, file.input);

    expect(outcome).toMatchObject({ sha256: createHash('sha256').update(body).digest('hex'), verdict: 'unverified' });
    expect(progress.map((step) => step.offset)).toEqual([STEP, 2 * STEP]);
  });

  it('a file within one step is hashed in one task, as before', async () => {
    const deps = stepped();
    const body = fileOf(STEP);
    const file = await uploaded(deps, body);

    expect(await computeChecksum(deps, file.input)).toEqual({
      sha256: createHash('sha256').update(body).digest('hex'),
      bytes: STEP,
      expectedBytes: STEP,
      verdict: 'unverified',
    });
  });

  it('a browser hash that does not match is a mismatch found by the last step', async () => {
    const deps = stepped();
    const file = await uploaded(deps, fileOf(2 * STEP + 1), 'f'.repeat(64));

    const { outcome } = await hashedInSteps(deps, file.input);

    expect(outcome).toMatchObject({ expectedSha256: 'f'.repeat(64), verdict: 'mismatch' });
    expect((await deps.imports.get(file.importId))?.checks.checksum).toBe('mismatch');
  });

  it('a step retried from the same progress gives the same next progress', async () => {
    const deps = stepped();
    const file = await uploaded(deps, fileOf(3 * STEP + 5));
    const first = await computeChecksum(deps, file.input);
    if (!('progress' in first)) throw new Error('expected a step');

    expect(await computeChecksum(deps, { ...file.input, progress: first.progress })).toEqual(
      await computeChecksum(deps, { ...file.input, progress: first.progress }),
    );
  });

  it('an upload replaced between two steps is UploadChanged, and no verdict is recorded', async () => {
    const deps = stepped();
    const file = await uploaded(deps, fileOf(3 * STEP));
    const first = await computeChecksum(deps, file.input);
    if (!('progress' in first)) throw new Error('expected a step');
    deps.objects.put(file.upload.bucket, file.upload.key, fileOf(3 * STEP).reverse(), 'text/csv');

    await expect(computeChecksum(deps, { ...file.input, progress: first.progress })).rejects.toBeInstanceOf(UploadChanged);
    expect((await deps.imports.get(file.importId))?.checks.checksum).toBe('pending');
  });
});
