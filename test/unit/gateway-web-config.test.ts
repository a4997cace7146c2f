import { describe, expect, it } from 'vitest';
import { webConfigForHost } from '../../infra/local/gateway/web-config';

const written = { apiUrl: 'http://localhost:3000/api', wsUrl: 'ws://localhost:3000/ws', auth: { mode: 'local' } };
const own = 'http://localhost:3000';

describe("the web app's config as the local gateway serves it", () => {
  it('names the host and port the browser reached the gateway by', () => {
    expect(webConfigForHost(written, own, '127.0.0.1:3000')).toEqual({
      apiUrl: 'http://127.0.0.1:3000/api',
      wsUrl: 'ws://127.0.0.1:3000/ws',
      auth: { mode: 'local' },
    });
    expect(webConfigForHost(written, own, 'ferry.lan:8080')).toMatchObject({ apiUrl: 'http://ferry.lan:8080/api', wsUrl: 'ws://ferry.lan:8080/ws' });
    expect(webConfigForHost(written, own, '[::1]:3000')).toMatchObject({ apiUrl: 'http://[::1]:3000/api' });
  });

  it('stays as written for a missing Host header or one that is not a host', () => {
    expect(webConfigForHost(written, own, undefined)).toEqual(written);
    for (const host of ['evil.example/path', 'a b', 'x:3000@evil', '']) expect(webConfigForHost(written, own, host)).toEqual(written);
  });

  it('leaves URLs of other hosts alone (an API elsewhere)', () => {
    const elsewhere = { ...written, apiUrl: 'https://api.example.com/api' };
    expect(webConfigForHost(elsewhere, own, '127.0.0.1:3000')).toMatchObject({ apiUrl: 'https://api.example.com/api', wsUrl: 'ws://127.0.0.1:3000/ws' });
  });
});
