import { CreateEmailIdentityCommand, SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../infra/local/free-port';
import { startMoto, type MotoServer } from '../moto';
import { motoMissing, titled } from '../requirements';
import { api, downloadCsv, importFile, pollUntil, pollUntilDone, signIn, useStack } from './client';
import { startStackProcess, type StackProcess } from './stack-process';

/**
 * Mail through the SES v2 adapter against a second implementation of SES: moto_server, which (like SES
 * in its sandbox) refuses a sender that is not a verified identity, and keeps what it sent readable
 * at /moto-api/data.json.
 */

// The sender serverless.yml's roles may send from (no-reply@${param:mailDomain}); SES refuses any other.
const SENDER = 'no-reply@ferry.example.com';
const ADMIN = 'ops@ferry.test';

interface SentMessage {
  id: string;
  source: string;
  destinations: { ToAddresses?: string[] };
  subject: string;
  /** moto keeps one body: the HTML part when there is one, else the text. */
  body: string;
}

const why = motoMissing();
let moto: MotoServer | undefined;
let ferry: StackProcess | undefined;
let silent: Server | undefined;

/** A clamd stand-in that accepts connections and never says anything. */
async function silentScannerPort(): Promise<number> {
  const sockets: Socket[] = [];
  silent = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
  });
  silent.on('close', () => sockets.forEach((socket) => socket.destroy()));
  const port = await freePort();
  await new Promise<void>((resolve) => silent!.listen(port, '127.0.0.1', resolve));
  return port;
}

async function sentMessages(): Promise<SentMessage[]> {
  const data = (await (await fetch(`${moto!.endpoint}/moto-api/data.json`)).json()) as { ses?: { Message?: SentMessage[] } };
  return data.ses?.Message ?? [];
}

const ses = () =>
  new SESv2Client({ region: 'us-east-1', endpoint: moto!.endpoint, credentials: { accessKeyId: 'moto', secretAccessKey: 'moto' } });

const decodeEntities = (html: string) =>
  html
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

describe.skipIf(why)(titled('mail through SES v2 (moto_server)', why), () => {
  beforeAll(async () => {
    moto = await startMoto();
    // As in SES's sandbox, moto sends only from a verified identity: this is the step infra/aws/mail.yml does in AWS.
    await expect(
      ses().send(
        new SendEmailCommand({
          FromEmailAddress: SENDER,
          Destination: { ToAddresses: [ADMIN] },
          Content: { Simple: { Subject: { Data: 'before verification' }, Body: { Text: { Data: 'x' } } } },
        }),
      ),
    ).rejects.toMatchObject({ name: 'MessageRejected' });
    await ses().send(new CreateEmailIdentityCommand({ EmailIdentity: SENDER }));

    ferry = await startStackProcess('ses', {
      SEED_ROWS: '3000',
      MAIL_TRANSPORT: 'ses',
      SES_ENDPOINT: moto.endpoint,
      MAIL_FROM: `Ferry <${SENDER}>`,
      ADMIN_EMAIL: ADMIN,
      // The cheapest real failure: a virus scanner that accepts and never answers, so the bounded scan gives up
      // (ScanTimedOut, not retried) and the import fails closed.
      CLAMD_HOST: '127.0.0.1',
      CLAMD_PORT: String(await silentScannerPort()),
      SCAN_TIMEOUT_SECONDS: '1',
    });
    useStack(ferry.info);
  });

  afterAll(async () => {
    silent?.close();
    await ferry?.stop();
    await moto?.stop();
  });

  it("sends an email export's link through SES: sender, recipient, subject, a working link and its expiry", async () => {
    const bob = await signIn('bob');
    const before = (await sentMessages()).length;
    const { status, body } = await api<{ executionArn: string }>(bob, 'POST', '/download-request', {
      type: 'email',
      searchCriteria: { tags: ['travel'], userId: 'bob' },
    });
    expect(status).toBe(202);
    const done = await pollUntilDone(bob, body.executionArn);
    expect(done.status).toBe('SUCCEEDED');

    // Awaited, not read at once: the export's status can say SUCCEEDED while "Email link to user" still talks to SES.
    const toBob = async () => (await sentMessages()).slice(before).find((m) => m.destinations.ToAddresses?.includes('bob@ferry.local'));
    await expect.poll(toBob, { timeout: 15_000, message: 'a message to bob in moto' }).toBeDefined();
    const mail = await toBob();
    expect(mail!.source).toBe(`Ferry <${SENDER}>`);
    expect(mail!.destinations.ToAddresses).toEqual(['bob@ferry.local']);
    expect(mail!.subject).toBe(
      `Your Ferry export is ready (${done.rowCount === 1 ? '1 row' : `${new Intl.NumberFormat('en').format(done.rowCount!)} rows`})`,
    );
    // The expiry as a date in UTC, saying so (issue 11): "Tuesday, 4 June 2024 at 12:00 UTC".
    const at = new Date(done.expiresAt!);
    const day = at.toLocaleDateString('en-GB', { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
    const time = at.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false, timeZone: 'UTC' });
    expect(decodeEntities(mail!.body)).toContain(`The link works until ${day} at ${time} UTC; after that the file is deleted.`);

    const href = /<a href="([^"]+X-Amz-Signature[^"]+)">Download the CSV file<\/a>/.exec(mail!.body)?.[1];
    expect(href, 'a signed download link in the mail').toBeDefined();
    const csv = await downloadCsv(decodeEntities(href!));
    expect(csv.rows).toHaveLength(done.rowCount!);
    expect(csv.rows.every((row) => row.userId === 'bob' && row.tags?.split(';').includes('travel'))).toBe(true);
  });

  it('alerts ADMIN_EMAIL through SES when an import fails (clamd silent: the bounded scan fails the import closed)', async () => {
    const alice = await signIn('alice');
    const before = (await sentMessages()).length;
    const content = 'userId,dateCreated,content,tags\nalice,2024-01-01T00:00:00Z,hello,greeting\n';
    const importId = await importFile(alice, content);

    const imported = await pollUntil(
      async () => (await api<{ status: string; reason?: string }>(alice, 'GET', `/imports/${importId}`)).body,
      (body) => body.status === 'FAILED',
      110_000,
    );
    expect(imported.status).toBe('FAILED');

    await expect
      .poll(async () => (await sentMessages()).slice(before).filter((m) => m.destinations.ToAddresses?.includes(ADMIN)).length, {
        timeout: 15_000,
      })
      .toBe(1);
    const alert = (await sentMessages()).slice(before).find((m) => m.destinations.ToAddresses?.includes(ADMIN))!;
    expect(alert.source).toBe(`Ferry <${SENDER}>`);
    expect(alert.subject).toMatch(/^Ferry import failed: /);
    expect(alert.body).toContain(importId);
    expect(alert.body).toContain('posts.csv (alice');
  });
});
