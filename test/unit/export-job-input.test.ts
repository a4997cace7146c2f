import { describe, expect, it } from 'vitest';
import { asExportJob, downloadNameOf } from '../../core/export/job';
import { alice } from './fakes';

const job = {
  exportId: 'exp-1',
  requestedBy: alice,
  delivery: 'direct',
  searchCriteria: {},
  requestedAt: '2024-05-01T10:11:12.000Z',
};

describe("an execution's input read as an export job", () => {
  it('is the job when it names the export and who asked, by user id', () => {
    expect(asExportJob(job)).toEqual(job);
  });

  it('is none without an export id, without who asked, or when who asked has no user id', () => {
    expect(
      [
        { ...job, exportId: 7 },
        { ...job, requestedBy: 'alice' },
        { ...job, requestedBy: { username: 'alice' } },
        { ...job, requestedBy: { ...alice, userId: 42 } },
        'exp-1',
      ].map(asExportJob),
    ).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });
});

describe('the name a browser saves an export under', () => {
  it('is dated by when the export was asked for, with the file extension', () => {
    expect([downloadNameOf(job), downloadNameOf({ ...job, format: 'ndjson', gzip: true })]).toEqual([
      'ferry-export-2024-05-01-101112.csv',
      'ferry-export-2024-05-01-101112.ndjson.gz',
    ]);
  });

  it('is named after the export when its time is not a plain ISO time (a year past 9999 is written +012024)', () => {
    expect([
      downloadNameOf({ ...job, requestedAt: new Date('+012024-05-01T10:11:12Z').toISOString() }),
      downloadNameOf({ ...job, requestedAt: '' }),
    ]).toEqual(['ferry-export-exp-1.csv', 'ferry-export-exp-1.csv']);
  });
});
