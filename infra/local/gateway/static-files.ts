/** The built web app (frontend/dist), with index.html for every path that is not a file (SPA routing). */
import { createReadStream, existsSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { send } from './http';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

export function staticFiles(root: string | undefined) {
  return function serveStatic(res: ServerResponse, url: URL) {
    if (!root || !existsSync(join(root, 'index.html'))) {
      return send(res, 200, '<!doctype html><title>Ferry</title><p>The web app is not built yet: run <code>npm run build:web</code>.</p>', {
        'content-type': 'text/html; charset=utf-8',
      });
    }
    const wanted = normalize(join(root, decodeURIComponent(url.pathname)));
    const file = wanted.startsWith(root) && existsSync(wanted) && statSync(wanted).isFile() ? wanted : join(root, 'index.html');
    res.writeHead(200, {
      'content-type': MIME[extname(file)] ?? 'application/octet-stream',
      'cache-control': file.includes(`${join(root, 'assets')}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    createReadStream(file).pipe(res);
  };
}
