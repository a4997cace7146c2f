import { describe, expect, it } from 'vitest';
import {
  adminFailureMail,
  exportPageUrl,
  failedPush,
  plainExecutionError,
  plainFailure,
  readyMail,
  readyPush,
  searchInWords,
  sharedMail,
  sizeInWords,
  userFailureMail,
  utcDateInWords,
} from '../../core/export/messages';
import type { ExportJob, ExportReport } from '../../core/export/job';
import type { ExportRecord } from '../../core/export/records';
import type { ExecutionDescription } from '../../core/ports';

/** Every word the export says to users and admins, as they read it. */

const alice = { userId: 'u-alice', username: 'alice', email: 'alice@example.com', groups: [] };

const job = (fields: Partial<ExportJob> = {}): ExportJob => ({
  exportId: 'e-1',
  requestedBy: alice,
  delivery: 'email',
  searchCriteria: { q: 'river' },
  requestedAt: '2024-06-01T12:00:00.000Z',
  ...fields,
});

const report = (fields: Partial<ExportReport> = {}): ExportReport => ({
  bucket: 'exports',
  key: 'e-1.csv',
  rowCount: 1234,
  bytes: 56_789,
  expiresAt: '2024-06-04T12:00:00.000Z',
  ...fields,
});

const record = (fields: Partial<ExportRecord> = {}): ExportRecord => ({
  exportId: 'e-1',
  owner: { userId: 'u-alice', username: 'alice', email: 'alice@example.com' },
  delivery: 'direct',
  searchCriteria: { tags: ['travel'] },
  status: 'SUCCEEDED',
  createdAt: '2024-06-01T12:00:00.000Z',
  updatedAt: '2024-06-01T12:01:00.000Z',
  sharedWith: [],
  ...fields,
});

const execution = (fields: Partial<ExecutionDescription>): ExecutionDescription => ({
  executionArn: 'arn:exec',
  status: 'FAILED',
  input: {},
  startDate: new Date('2024-06-01T12:00:00Z'),
  ...fields,
});

describe('the search in words', () => {
  it('words each criterion, in a fixed order', () => {
    expect(searchInWords({ q: 'river', tags: ['travel', 'food'], userId: 'u1', from: '2024-01-01', to: '2024-02-01' })).toBe(
      'posts matching "river" tagged travel, food by u1 from 2024-01-01 to 2024-02-01',
    );
    expect(searchInWords({ q: 'river' })).toBe('posts matching "river"');
    expect(searchInWords({ tags: ['travel'] })).toBe('posts tagged travel');
    expect(searchInWords({ userId: 'u1' })).toBe('posts by u1');
    expect(searchInWords({ from: '2024-01-01' })).toBe('posts from 2024-01-01');
    expect(searchInWords({ to: '2024-02-01' })).toBe('posts up to 2024-02-01');
  });

  it('is "all posts" without criteria, an empty query or no tags', () => {
    expect(searchInWords({})).toBe('all posts');
    expect(searchInWords({ q: '', tags: [] })).toBe('all posts');
  });
});

describe('sizes, dates and links in words', () => {
  it('gives sizes in bytes below 1,000, then in KB, MB, GB and TB with one decimal', () => {
    expect(sizeInWords(0)).toBe('0 bytes');
    expect(sizeInWords(1)).toBe('1 byte');
    expect(sizeInWords(999)).toBe('999 bytes');
    expect(sizeInWords(1000)).toBe('1.0 KB');
    expect(sizeInWords(56_789)).toBe('56.8 KB');
    expect(sizeInWords(999_949)).toBe('999.9 KB');
    expect(sizeInWords(1_000_000)).toBe('1.0 MB');
    expect(sizeInWords(13_100_000)).toBe('13.1 MB');
    expect(sizeInWords(2_500_000_000)).toBe('2.5 GB');
    expect(sizeInWords(3_000_000_000_000)).toBe('3.0 TB');
    expect(sizeInWords(4_000_000_000_000_000)).toBe('4000.0 TB');
  });

  it('gives a date as a weekday, day, month, year and a 24-hour UTC time', () => {
    expect(utcDateInWords('2024-06-04T12:00:00.000Z')).toBe('Tuesday, 4 June 2024 at 12:00 UTC');
    expect(utcDateInWords('2024-12-31T23:05:00.000+01:00')).toBe('Tuesday, 31 December 2024 at 22:05 UTC');
  });

  it("links to the export's page, whatever trailing slashes the app's address has", () => {
    expect(exportPageUrl('https://ferry.test', 'e-1')).toBe('https://ferry.test/#/exports/e-1');
    expect(exportPageUrl('https://ferry.test//', 'e 1/2')).toBe('https://ferry.test/#/exports/e%201%2F2');
  });
});

describe('the mail when an export is ready', () => {
  it('says what was exported, rows and size, the link, until when, and the page for a fresh link', () => {
    expect(readyMail(job(), report(), 'https://link/e-1.csv?sig=1&x=2', 'https://ferry.test/')).toEqual({
      to: 'alice@example.com',
      subject: 'Your Ferry export is ready (1,234 rows)',
      text: [
        'Hello alice,',
        '',
        'Your export of posts matching "river" is ready: 1,234 rows, 56.8 KB. Download the CSV file here:',
        '',
        'https://link/e-1.csv?sig=1&x=2',
        '',
        'The link works until Tuesday, 4 June 2024 at 12:00 UTC; after that the file is deleted.',
        'If the link has stopped working before then, open the export in Ferry for a fresh one: https://ferry.test/#/exports/e-1',
        '',
        'Ferry',
      ].join('\n'),
      html: [
        '<p>Hello alice,</p>',
        '<p>Your export of posts matching &quot;river&quot; is ready: 1,234 rows, 56.8 KB.</p>',
        '<p><a href="https://link/e-1.csv?sig=1&amp;x=2">Download the CSV file</a></p>',
        '<p>The link works until Tuesday, 4 June 2024 at 12:00 UTC; after that the file is deleted.',
        ' If the link has stopped working before then, <a href="https://ferry.test/#/exports/e-1">open the export in Ferry</a> for a fresh one.</p>',
      ].join('\n'),
    });
  });

  it('says "1 row", and escapes every character HTML gives a meaning', () => {
    const mail = readyMail(
      job({ requestedBy: { ...alice, username: `<O'Brien & "co">` }, searchCriteria: {} }),
      report({ rowCount: 1, bytes: 1 }),
      'u',
      'a',
    );
    expect(mail.subject).toBe('Your Ferry export is ready (1 row)');
    expect(mail.html?.split('\n').slice(0, 2)).toEqual([
      '<p>Hello &lt;O&#39;Brien &amp; &quot;co&quot;&gt;,</p>',
      '<p>Your export of all posts is ready: 1 row, 1 byte.</p>',
    ]);
  });
});

describe('the mail when an export is shared', () => {
  it('says whose export, of what, with its rows once known, and links to its page', () => {
    const to = { userId: 'u-bob', username: 'bob', email: 'bob@example.com' };
    expect(sharedMail(record({ rowCount: 2 }), to, 'https://ferry.test/#/exports/e-1')).toEqual({
      to: 'bob@example.com',
      subject: 'alice shared a Ferry export with you',
      text: [
        'Hello bob,',
        '',
        'alice shared their export of posts tagged travel (2 rows) with you.',
        'Open it in Ferry to see its status and download it: https://ferry.test/#/exports/e-1',
        '',
        'Ferry',
      ].join('\n'),
      html: [
        '<p>Hello bob,</p>',
        '<p>alice shared their export of posts tagged travel (2 rows) with you.</p>',
        '<p><a href="https://ferry.test/#/exports/e-1">Open it in Ferry</a> to see its status and download it.</p>',
      ].join('\n'),
    });
    expect(sharedMail(record(), to, 'p').text.split('\n')[2]).toBe('alice shared their export of posts tagged travel with you.');
  });
});

describe('the pushes of an export', () => {
  it('carries the link, its expiry and the rows when ready, the words when failed', () => {
    expect(readyPush('arn:exec', report(), 'https://link')).toEqual({
      type: 'export.ready',
      executionArn: 'arn:exec',
      url: 'https://link',
      expiresAt: '2024-06-04T12:00:00.000Z',
      rowCount: 1234,
    });
    expect(failedPush('arn:exec', 'The export took too long and was stopped.')).toEqual({
      type: 'export.failed',
      executionArn: 'arn:exec',
      error: 'The export took too long and was stopped.',
    });
  });
});

describe('the mails when an export failed', () => {
  it('tells the user in plain words when it was requested and where to try again', () => {
    expect(userFailureMail(job(), 'The export took too long and was stopped.', 'https://ferry.test')).toEqual({
      to: 'alice@example.com',
      subject: 'Your Ferry export could not be completed',
      text: [
        'Hello alice,',
        '',
        'Your export requested at Sat, 01 Jun 2024 12:00:00 GMT could not be completed.',
        'The export took too long and was stopped.',
        '',
        'You can try again from Ferry: https://ferry.test',
        '',
        'Ferry',
      ].join('\n'),
    });
  });

  it('gives the admins the execution, the user, the request and the error', () => {
    const text = (cause?: string) => [
      'An export failed.',
      '',
      'Execution: arn:exec',
      'User: alice (u-alice, alice@example.com)',
      'Delivery: email',
      'Requested at: 2024-06-01T12:00:00.000Z',
      'Search criteria: {"q":"river"}',
      'Error: Transient',
      `Cause: ${cause}`,
    ].join('\n');
    expect(adminFailureMail('admins@example.com', 'arn:exec', job(), { Error: 'Transient', Cause: 'index down' })).toEqual({
      to: 'admins@example.com',
      subject: 'Ferry export failed: Transient',
      text: text('index down'),
    });
    expect(adminFailureMail('admins@example.com', 'arn:exec', job(), { Error: 'Transient' }).text).toBe(text('(none)'));
  });
});

describe('a failure in plain words for the user', () => {
  it('words each kind of failure', () => {
    expect(plainFailure({ Error: 'States.Timeout' })).toBe('The export took too long and was stopped.');
    expect(plainFailure({ Error: 'Runtime.OutOfMemory' })).toBe(
      'The export needed more memory than Ferry gives one export. Please narrow the search and try again.',
    );
    expect(plainFailure({ Error: 'Transient' })).toBe('A service the export depends on was unavailable. Please try again later.');
    expect(plainFailure({ Error: 'InvalidInput', Cause: JSON.stringify({ errorType: 'InvalidInput', errorMessage: 'from is not a date' }) })).toBe(
      'The export request was not valid: from is not a date.',
    );
    expect(plainFailure({ Error: 'InvalidInput' })).toBe('The export request was not valid: please check it.');
    expect(plainFailure({ Error: 'TypeError', Cause: 'x is undefined' })).toBe(
      'The export could not be completed because of an unexpected error. The Ferry team has been told.',
    );
  });

  it('words an execution that ended without success by its status, then its error', () => {
    expect(plainExecutionError(execution({ status: 'TIMED_OUT', error: 'InvalidInput' }))).toBe('The export took too long and was stopped.');
    expect(plainExecutionError(execution({ status: 'ABORTED', error: 'InvalidInput' }))).toBe('The export was cancelled.');
    expect(plainExecutionError(execution({ error: 'ExportFailed' }))).toBe('The export could not be completed. The Ferry team has been told.');
    expect(plainExecutionError(execution({}))).toBe('The export could not be completed. The Ferry team has been told.');
    expect(plainExecutionError(execution({ error: 'InvalidInput', cause: 'to is before from' }))).toBe(
      'The export request was not valid: to is before from.',
    );
    expect(plainExecutionError(execution({ error: 'InvalidInput' }))).toBe('The export request was not valid: please check it.');
    expect(plainExecutionError(execution({ error: 'States.Timeout' }))).toBe('The export took too long and was stopped.');
  });
});
