import { describe, expect, it } from 'vitest';
import type { ImportSummary } from '../../core/contract';
import type { ImportJob } from '../../core/import/job';
import {
  expiredReason,
  finishedPush,
  foreignPostReason,
  foreignUserIdReason,
  importFailureMail,
  outcomeMail,
  plainImportFailure,
  quarantineMail,
  quarantineReason,
  rejectionReason,
  repeatedIdReason,
  unreadableReason,
} from '../../core/import/messages';
import type { ImportRecord } from '../../core/import/records';
import type { CheckResults } from '../../core/import/tasks';

/** Every word the import says to users and admins, as they read it. */

const owner = { userId: 'u-alice', username: 'alice', email: 'alice@example.com' };

const record = (importId: string, fields: Partial<ImportRecord> = {}): ImportRecord => ({
  importId,
  owner,
  fileName: `${importId}.csv`,
  size: 2048,
  contentType: 'text/csv',
  delivery: 'email',
  status: 'SUCCEEDED',
  checks: { antivirus: 'clean', checksum: 'verified', format: 'csv' },
  upload: { bucket: 'uploads', key: `incoming/${importId}`, method: 'post' },
  createdAt: '2024-05-01T10:00:00.000Z',
  updatedAt: '2024-05-01T10:05:00.000Z',
  ...fields,
});

const job = (fields: Partial<ImportJob> = {}): ImportJob => ({
  importIds: ['imp-1'],
  requestedBy: owner,
  delivery: 'email',
  requestedAt: '2024-05-01T10:00:00.000Z',
  maxConcurrency: 2,
  ...fields,
});

const summary = (fields: Partial<ImportSummary> = {}): ImportSummary => ({
  files: 1,
  succeeded: 1,
  quarantined: 0,
  rejected: 0,
  failed: 0,
  rowsImported: 1234,
  rowsRejected: 0,
  ...fields,
});

const checks = (format: CheckResults['format'], checksum: Partial<CheckResults['checksum']> = {}): CheckResults => ({
  antivirus: { clean: true },
  checksum: { sha256: 'abc', bytes: 10, expectedSha256: 'def', expectedBytes: 10, verdict: 'mismatch', ...checksum },
  format,
});

describe('the quarantine words', () => {
  it('tells the user the file was quarantined and why', () => {
    expect(quarantineReason('Eicar-Test-Signature')).toBe(
      'The file contains malware (Eicar-Test-Signature). It was quarantined and nothing from it was imported.',
    );
  });

  it('alerts the admins with the file, its owner, the import, the execution and where it is kept', () => {
    const mail = quarantineMail(
      { adminEmail: 'admins@example.com', appUrl: 'https://ferry.example.com' },
      record('imp-7', { batchId: 'batch-3' }),
      { executionArn: 'arn:aws:states:eu-west-1:1:execution:import:batch-3', signature: 'Eicar-Test-Signature' },
      { bucket: 'quarantine', key: 'imp-7/imp-7.csv' },
    );
    expect(mail).toEqual({
      to: 'admins@example.com',
      subject: 'Ferry quarantined an infected upload: Eicar-Test-Signature',
      text: [
        'An uploaded import file was infected and has been quarantined. Nothing from it was imported.',
        '',
        'Signature: Eicar-Test-Signature',
        'File: imp-7.csv (2048 bytes, claimed type text/csv)',
        'User: alice (u-alice, alice@example.com)',
        'Import: imp-7 (batch batch-3)',
        'Execution: arn:aws:states:eu-west-1:1:execution:import:batch-3',
        'Quarantined at: s3://quarantine/imp-7/imp-7.csv',
        '',
        "Review it in Ferry's admin page: https://ferry.example.com",
      ].join('\n'),
    });
  });

  it('names no batch for a file uploaded alone', () => {
    const mail = quarantineMail(
      { adminEmail: 'admins@example.com', appUrl: 'https://ferry.example.com' },
      record('imp-8'),
      { executionArn: 'arn:x', signature: 'Sig' },
      { bucket: 'q', key: 'k' },
    );
    expect(mail.text.split('\n')[5]).toBe('Import: imp-8');
  });
});

describe('why a file was rejected', () => {
  it('says a file is not CSV or NDJSON, with the format check’s reason', () => {
    expect(rejectionReason(checks({ format: 'unknown', reason: 'it is a PNG image' }))).toBe(
      'The file is not CSV or NDJSON: it is a PNG image.',
    );
  });

  it('words a refused resource as the resource does', () => {
    expect(rejectionReason(checks({ kind: 'resource', format: 'unknown', reason: 'executables are not allowed' }))).toBe(
      'The file was not kept: executables are not allowed.',
    );
  });

  it('says the size differs before the checksum, even when the checksum differs too', () => {
    expect(rejectionReason(checks({ format: 'csv', reason: 'a header' }, { bytes: 9, expectedBytes: 10 }))).toBe(
      'The file that arrived is 9 bytes, not the 10 bytes announced; it may have been cut short or changed. Please upload it again.',
    );
  });

  it('gives both checksums when only the content changed', () => {
    expect(rejectionReason(checks({ format: 'ndjson', reason: 'lines of JSON' }))).toBe(
      "The file's SHA-256 (abc) is not the one your browser computed (def); it changed on the way. Please upload it again.",
    );
    expect(rejectionReason(checks({ format: 'ndjson', reason: 'lines of JSON' }, { expectedSha256: undefined }))).toBe(
      "The file's SHA-256 (abc) is not the one your browser computed (none); it changed on the way. Please upload it again.",
    );
  });

  it('says how long the mapping was waited for, in hours when whole, else in minutes', () => {
    const expired = (duration: string) =>
      `No column mapping arrived within ${duration} of the preview, so nothing from the file was imported. Please upload it again.`;
    expect(expiredReason(3600)).toBe(expired('1 hour'));
    expect(expiredReason(86_400)).toBe(expired('24 hours'));
    expect(expiredReason(7200)).toBe(expired('2 hours'));
    expect(expiredReason(900)).toBe(expired('15 minutes'));
    expect(expiredReason(5430)).toBe(expired('91 minutes'));
  });

  it('says where a file stopped being readable', () => {
    expect(unreadableReason('line 3: a row is too long')).toBe(
      'The file stopped being readable part-way (line 3: a row is too long); nothing was imported. Fix the file and upload it again.',
    );
  });

  it('words the rows a member may not write', () => {
    expect(foreignUserIdReason('u-bob', 'u-alice')).toBe('userId is u-bob, not yours (u-alice): you can import only your own posts');
    expect(repeatedIdReason('p-1')).toBe('id p-1 is repeated: an earlier line of this file has the same id');
    expect(repeatedIdReason('p-1', 4)).toBe('id p-1 is repeated; first seen on line 4');
    expect(foreignPostReason('p-2')).toBe("id p-2 belongs to another user's post: you can update only your own posts");
  });
});

describe('the push when an import finishes', () => {
  it('carries the summary and each file with its public status, counts and reason when it has them', () => {
    const files = [
      record('imp-1', { status: 'SUCCEEDED', rowsImported: 10, rowsRejected: 2 }),
      record('imp-2', { status: 'COMMITTING' }),
      record('imp-3', { status: 'REJECTED', reason: 'The file is not CSV or NDJSON: empty.', rowsImported: 0 }),
    ];
    // Strictly: a file without counts has no rowsImported key at all, not one set to undefined.
    expect(finishedPush('batch-1', job({ batchId: 'batch-1' }), summary({ files: 3 }), files)).toStrictEqual({
      type: 'import.finished',
      id: 'batch-1',
      batchId: 'batch-1',
      summary: summary({ files: 3 }),
      files: [
        { importId: 'imp-1', fileName: 'imp-1.csv', status: 'SUCCEEDED', rowsImported: 10, rowsRejected: 2 },
        { importId: 'imp-2', fileName: 'imp-2.csv', status: 'RUNNING' },
        { importId: 'imp-3', fileName: 'imp-3.csv', status: 'REJECTED', rowsImported: 0, reason: 'The file is not CSV or NDJSON: empty.' },
      ],
    });
  });

  it('names no batch for a single import, and lists at most 1,000 files', () => {
    const files = Array.from({ length: 1001 }, (_, i) => record(`imp-${i}`, { reason: '' }));
    const push = finishedPush('imp-0', job(), summary({ files: 1001 }), files);
    expect(Object.keys(push)).toEqual(['type', 'id', 'summary', 'files']);
    expect(push.files).toHaveLength(1000);
    expect(push.files[999]).toEqual({ importId: 'imp-999', fileName: 'imp-999.csv', status: 'SUCCEEDED' });
  });
});

describe('the mail when an import finishes', () => {
  it('tells the user a lone file is done, with the rows imported in the subject', () => {
    const mail = outcomeMail(
      job(),
      [record('imp-1', { rowsImported: 1234, rowsRejected: 3 })],
      ['https://ferry.example.com/report'],
      summary({ rowsImported: 1234, rowsRejected: 3 }),
      'https://ferry.example.com',
    );
    expect(mail).toEqual({
      to: 'alice@example.com',
      subject: 'Your import is done (1,234 rows imported)',
      text: [
        'Hello alice,',
        '',
        'Your import, requested Wed, 01 May 2024 10:00:00 GMT, has finished: 1 imported, 0 rejected, 0 quarantined, 0 failed.',
        '',
        '- imp-1.csv: SUCCEEDED, 1234 rows imported, 3 rejected',
        '  Rejected rows and why: https://ferry.example.com/report',
        '',
        'Ferry: https://ferry.example.com',
      ].join('\n'),
    });
  });

  it('tells the user a batch finished with problems, each file with its reason, rows counted as 0 rejected when unknown', () => {
    const files = [
      record('imp-1', { rowsImported: 5 }),
      record('imp-2', { status: 'REJECTED', reason: 'The file is not CSV or NDJSON: empty.' }),
    ];
    const mail = outcomeMail(
      job({ batchId: 'b-1', importIds: ['imp-1', 'imp-2'] }),
      files,
      [undefined, undefined],
      summary({ files: 2, succeeded: 1, rejected: 1, rowsImported: 5 }),
      'https://ferry.example.com',
    );
    expect(mail).toEqual({
      to: 'alice@example.com',
      subject: 'Your batch of 2 files finished with problems',
      text: [
        'Hello alice,',
        '',
        'Your batch of 2 files, requested Wed, 01 May 2024 10:00:00 GMT, has finished: 1 imported, 1 rejected, 0 quarantined, 0 failed.',
        '',
        '- imp-1.csv: SUCCEEDED, 5 rows imported, 0 rejected',
        '- imp-2.csv: REJECTED',
        '  The file is not CSV or NDJSON: empty.',
        '',
        'Ferry: https://ferry.example.com',
      ].join('\n'),
    });
  });

  it('lists 100 files and counts the rest', () => {
    const files = Array.from({ length: 101 }, (_, i) => record(`imp-${i}`));
    const mail = outcomeMail(job(), files, [], summary({ files: 101, succeeded: 101 }), 'https://ferry.example.com');
    const lines = mail.text.split('\n');
    expect(lines.filter((line) => line.startsWith('- '))).toHaveLength(100);
    expect(lines.at(-4)).toBe('- imp-99.csv: SUCCEEDED');
    expect(lines.at(-3)).toBe('… and 1 more; see Ferry for all of them.');
    expect(mail.subject).toBe('Your batch of 101 files is done (1,234 rows imported)');
  });

  it('says nothing of more files when there are exactly 100', () => {
    const files = Array.from({ length: 100 }, (_, i) => record(`imp-${i}`));
    const lines = outcomeMail(job(), files, [], summary({ files: 100, succeeded: 100 }), 'u').text.split('\n');
    expect(lines.slice(-3)).toEqual(['- imp-99.csv: SUCCEEDED', '', 'Ferry: u']);
  });
});

describe('the admins’ mail when imports failed', () => {
  it('names the error, its cause and each failed file', () => {
    expect(
      importFailureMail('admins@example.com', 'arn:exec', { Error: 'Transient', Cause: 'the index was unavailable' }, [
        record('imp-1', { batchId: 'b-1' }),
        record('imp-2', { owner: { userId: 'u-bob', username: 'bob', email: 'bob@example.com' } }),
      ]),
    ).toEqual({
      to: 'admins@example.com',
      subject: 'Ferry import failed: Transient',
      text: [
        '2 imports failed.',
        '',
        'Execution: arn:exec',
        'Error: Transient',
        'Cause: the index was unavailable',
        '',
        '- imp-1: imp-1.csv (alice, u-alice)',
        '- imp-2: imp-2.csv (bob, u-bob)',
      ].join('\n'),
    });
  });

  it('says "An import" for one, "(none)" for a missing cause, and lists 50 files at most', () => {
    expect(importFailureMail('a@x', 'arn:1', { Error: 'States.Timeout' }, [record('imp-1')]).text).toBe(
      ['An import failed.', '', 'Execution: arn:1', 'Error: States.Timeout', 'Cause: (none)', '', '- imp-1: imp-1.csv (alice, u-alice)'].join('\n'),
    );
    const many = importFailureMail('a@x', 'arn:1', { Error: 'Boom' }, Array.from({ length: 52 }, (_, i) => record(`imp-${i}`)));
    const lines = many.text.split('\n');
    expect(lines[0]).toBe('52 imports failed.');
    expect(lines.filter((line) => line.startsWith('- '))).toHaveLength(50);
    expect(lines.at(-2)).toBe('- imp-49: imp-49.csv (alice, u-alice)');
    expect(lines.at(-1)).toBe('… and 2 more');
    const fifty = importFailureMail('a@x', 'arn:1', { Error: 'Boom' }, Array.from({ length: 50 }, (_, i) => record(`imp-${i}`)));
    expect(fifty.text.split('\n').at(-1)).toBe('- imp-49: imp-49.csv (alice, u-alice)');
  });
});

describe('a failure in plain words for the user', () => {
  it('words each kind of failure', () => {
    const words = (Error: string) => plainImportFailure({ Error });
    expect(words('ScanTimedOut')).toBe(
      'The virus scanner did not answer within the time allowed, so nothing from the file was imported. The Ferry team has been told.',
    );
    expect(words('ScanFailed')).toBe('The virus scanner could not check the file, so nothing from it was imported. The Ferry team has been told.');
    expect(words('States.Timeout')).toBe('The import took too long and was stopped.');
    expect(words('Runtime.OutOfMemory')).toBe(
      'The import needed more memory than Ferry gives one file, so nothing from the file was imported. The Ferry team has been told.',
    );
    expect(words('Lambda.ServiceException')).toBe(
      'A service the import depends on (such as the virus scanner) was unavailable, so nothing unchecked was imported. Please try again later.',
    );
    expect(words('TypeError')).toBe('The import could not be completed because of an unexpected error. The Ferry team has been told.');
  });
});
