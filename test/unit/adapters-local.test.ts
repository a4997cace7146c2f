import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OutboxMailer } from '../../adapters/local/outbox-mailer';
import { SmtpMailer } from '../../adapters/local/smtp-mailer';

const temporaryDirs: string[] = [];
const temporaryDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-adapters-'));
  temporaryDirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of temporaryDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Just enough RFC 5322 / MIME reading for these tests: headers, multipart parts, quoted-printable and base64. */
function parseEml(raw: string): { headers: Map<string, string>; parts: Map<string, string> } {
  const [head = '', ...rest] = raw.split('\r\n\r\n');
  const headers = parseHeaders(head);
  const body = rest.join('\r\n\r\n');
  const boundary = headers.get('content-type')?.match(/boundary="?([^";]+)"?/)?.[1];
  const parts = new Map<string, string>();
  const chunks = boundary ? body.split(`--${boundary}`).slice(1, -1) : [`${head}\r\n\r\n${body}`];
  for (const chunk of chunks) {
    const [partHead = '', ...partBody] = chunk.replace(/^\r\n/, '').split('\r\n\r\n');
    const partHeaders = parseHeaders(partHead);
    const type = partHeaders.get('content-type')?.split(';')[0] ?? 'text/plain';
    parts.set(type, decodeBody(partBody.join('\r\n\r\n').replace(/\r\n$/, ''), partHeaders.get('content-transfer-encoding')));
  }
  return { headers, parts };
}

function parseHeaders(head: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

function decodeBody(body: string, encoding = '7bit'): string {
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const bytes = body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body;
}

/** Decodes an RFC 2047 encoded-word header such as `=?UTF-8?Q?…?=`. */
function decodeHeader(value: string): string {
  return value.replace(/=\?UTF-8\?([QB])\?([^?]*)\?=\s*/gi, (_, kind: string, text: string) =>
    kind.toUpperCase() === 'B'
      ? Buffer.from(text, 'base64').toString('utf8')
      : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/g, (__, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8'),
  );
}

describe('OutboxMailer', () => {
  const link = 'https://s3.local/ferry-exports/exports/user-alice/export-1.csv?X-Amz-Expires=259200&X-Amz-Signature=' + 'f'.repeat(64);

  it('writes each message as an .eml file with the headers, text, HTML and link intact', async () => {
    const dir = join(temporaryDir(), 'outbox');
    const mailer = new OutboxMailer(dir, 'Ferry <no-reply@ferry.local>');
    await mailer.send({
      to: 'alice@example.com',
      subject: 'Your Ferry export is ready (20,000 rows) – ✓',
      text: `Hello alice,\n\nDownload it here:\n\n${link}\n`,
      html: `<p><a href="${link.replace(/&/g, '&amp;')}">Download</a></p>`,
    });

    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^\d{8}T\d{6}\.\d{3}Z-\d{6}-[0-9a-f]{6}\.eml$/);
    const { headers, parts } = parseEml(readFileSync(join(dir, files[0]!), 'utf8'));
    expect(headers.get('from')).toBe('Ferry <no-reply@ferry.local>');
    expect(headers.get('to')).toBe('alice@example.com');
    expect(decodeHeader(headers.get('subject')!)).toBe('Your Ferry export is ready (20,000 rows) – ✓');
    expect(headers.get('mime-version')).toBe('1.0');
    expect(headers.has('date')).toBe(true);
    expect(headers.has('message-id')).toBe(true);
    expect(parts.get('text/plain')?.replace(/\r\n/g, '\n')).toContain(link);
    expect(parts.get('text/html')).toContain(`href="${link.replace(/&/g, '&amp;')}"`);
  });

  it('names files so they sort in the order sent, leaving no temporary files', async () => {
    const dir = temporaryDir();
    const mailer = new OutboxMailer(dir, 'ferry@ferry.local');
    for (let i = 0; i < 5; i += 1) await mailer.send({ to: 'a@example.com', subject: `message ${i}`, text: `body ${i}` });
    const files = readdirSync(dir);
    expect(files).toHaveLength(5);
    expect(files.every((file) => file.endsWith('.eml'))).toBe(true);
    const subjects = [...files].sort().map((file) => parseEml(readFileSync(join(dir, file), 'utf8')).headers.get('subject'));
    expect(subjects).toEqual(['message 0', 'message 1', 'message 2', 'message 3', 'message 4']);
  });

  it('writes a text-only message as a single text part', async () => {
    const dir = temporaryDir();
    await new OutboxMailer(dir, 'ferry@ferry.local').send({ to: 'a@example.com', subject: 's', text: 'just text' });
    const { headers, parts } = parseEml(readFileSync(join(dir, readdirSync(dir)[0]!), 'utf8'));
    expect(headers.get('content-type')).toMatch(/^text\/plain/);
    expect(parts.get('text/plain')).toBe('just text');
  });
});

/** A minimal SMTP server on loopback that accepts every message and keeps its DATA. */
function startSmtpServer(): Promise<{ server: Server; port: number; messages: Array<{ from: string; to: string[]; data: string }> }> {
  const messages: Array<{ from: string; to: string[]; data: string }> = [];
  const server = createServer((socket) => {
    let buffer = '';
    let inData = false;
    let current = { from: '', to: [] as string[], data: '' };
    socket.write('220 test ESMTP\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            messages.push(current);
            current = { from: '', to: [], data: '' };
            socket.write('250 queued\r\n');
          } else current.data += `${line.startsWith('..') ? line.slice(1) : line}\r\n`;
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') socket.write('250 test\r\n');
        else if (verb === 'MAIL') {
          current.from = line;
          socket.write('250 ok\r\n');
        } else if (verb === 'RCPT') {
          current.to.push(line);
          socket.write('250 ok\r\n');
        } else if (verb === 'DATA') {
          inData = true;
          socket.write('354 go ahead\r\n');
        }
        else if (verb === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port, messages })));
}

describe('SmtpMailer', () => {
  it('delivers the message over SMTP to the recipient', async () => {
    const { server, port, messages } = await startSmtpServer();
    try {
      await new SmtpMailer(`smtp://127.0.0.1:${port}`, 'Ferry <no-reply@ferry.local>').send({
        to: 'alice@example.com',
        subject: 'Export ready',
        text: 'Download: https://example.test/file.csv',
        html: '<p>Download</p>',
      });
      expect(messages).toHaveLength(1);
      expect(messages[0]?.from).toContain('<no-reply@ferry.local>');
      expect(messages[0]?.to).toEqual([expect.stringContaining('<alice@example.com>')]);
      const { headers, parts } = parseEml(messages[0]!.data);
      expect(headers.get('subject')).toBe('Export ready');
      expect(parts.get('text/plain')).toContain('https://example.test/file.csv');
    } finally {
      server.close();
    }
  });
});
