import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe } from 'vitest';
import { SesMailer } from '../../adapters/aws/ses-mailer';
import { OutboxMailer } from '../../adapters/local/outbox-mailer';
import { startMoto, type MotoServer } from '../moto';
import { motoMissing, titled } from '../requirements';
import { describeMailer, type DeliveredMail, type MailerSubject } from './specs/mailer-spec';

/** One Mailer contract, two homes: the local outbox (.eml files) and SES v2 (moto_server, which keeps what it sent). */
const SENDER = 'Ferry <no-reply@ferry.example.com>';

describeMailer('OutboxMailer', SENDER, async (): Promise<MailerSubject> => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-outbox-'));
  return {
    port: new OutboxMailer(dir, SENDER),
    delivered: async () => {
      const files = readdirSync(dir).filter((file) => file.endsWith('.eml')).sort();
      return Promise.all(
        files.map(async (file): Promise<DeliveredMail> => {
          const mail = await simpleParser(readFileSync(join(dir, file)));
          const to = Array.isArray(mail.to) ? mail.to.flatMap((a) => a.value) : (mail.to?.value ?? []);
          const sender = mail.from?.value[0];
          return { from: sender ? `${sender.name} <${sender.address ?? ''}>` : '', to: to.map((a) => a.address ?? ''), subject: mail.subject ?? '', body: typeof mail.html === 'string' ? mail.html : (mail.text ?? '') };
        }),
      );
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
});

const why = motoMissing();
describe.skipIf(why)(titled('SES v2 on moto_server', why), () => {
  let moto: MotoServer | undefined;
  let ses: SESv2Client | undefined;

  beforeAll(async () => {
    moto = await startMoto();
    ses = new SESv2Client({ region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId: 'moto', secretAccessKey: 'moto' } });
    // As in SES's sandbox, moto sends only from a verified identity (infra/aws/mail.yml verifies the domain in AWS).
    await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: 'no-reply@ferry.example.com' }));
  }, 90_000);

  afterAll(async () => {
    ses?.destroy();
    await moto?.stop();
  });

  describeMailer('SesMailer', SENDER, async (): Promise<MailerSubject> => ({
    port: new SesMailer(ses!, SENDER),
    delivered: async () => {
      const data = (await (await fetch(`${moto!.endpoint}/moto-api/data.json`)).json()) as {
        ses?: { Message?: { source: string; destinations: { ToAddresses?: string[] }; subject: string; body: string }[] };
      };
      return (data.ses?.Message ?? []).map((m) => ({ from: m.source, to: m.destinations.ToAddresses ?? [], subject: m.subject, body: m.body }));
    },
  }));
});
