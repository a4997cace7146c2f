import { describe, expect, it } from 'vitest';
import { unquotedEtag } from '../../core/etag';

describe('ETags are kept bare', () => {
  it("drops a header's quotes and a weak ETag's W/ prefix; a bare ETag (as S3's events carry it) stays as it is", () => {
    expect(['"9b2cf535f27731c974343645a3985328"', 'W/"9b2c"', '9b2cf535f27731c974343645a3985328-3'].map(unquotedEtag)).toEqual([
      '9b2cf535f27731c974343645a3985328',
      '9b2c',
      '9b2cf535f27731c974343645a3985328-3',
    ]);
  });

  it('only quotes around the whole ETag and a W/ at its start are taken off', () => {
    expect(['"W/9b2c"', 'a"9b2c"', '"9b2c"a', '9b2cW/'].map(unquotedEtag)).toEqual(['W/9b2c', 'a"9b2c"', '"9b2c"a', '9b2cW/']);
  });
});
