import { describe, expect, it } from 'vitest';
import { exportSizeRule, formatBytes, importSizeRule } from '../../core/capacity';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

describe('sizes in the messages that refuse a file or an export', () => {
  it('a size is written in whole GiB, else in whole MiB, else in bytes', () => {
    expect([0, 1, 1000, MiB - 1, MiB, MiB + 1, 512 * MiB, 1536 * MiB, GiB, 5 * GiB, GiB + 1].map((bytes) => formatBytes(bytes))).toEqual([
      '0 bytes',
      '1 bytes',
      '1000 bytes',
      '1048575 bytes',
      '1 MiB',
      '1048577 bytes',
      '512 MiB',
      '1536 MiB',
      '1 GiB',
      '5 GiB',
      '1073741825 bytes',
    ]);
  });

  it('the import size rule names the limit both ways, the 15-minute task and what to do', () => {
    expect(importSizeRule(512 * MiB)).toBe(
      "must be at most 512 MiB (536870912 bytes): larger files cannot be checked and imported within one task's 15-minute limit; split the file",
    );
  });

  it('the export size rule names the estimate, the limit and how to narrow the search', () => {
    expect(exportSizeRule(31_250_000, 25_000_000)).toBe(
      'This search matches about 31,250,000 posts; one export writes at most 25,000,000. Narrow it with words, tags, a user or a date range.',
    );
  });
});
