import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Mailer } from '../../../core/ports';
import type { Subject } from './subject';

/** A message as its recipient's mailbox holds it: `body` is the HTML part when there is one, else the text. */
export interface DeliveredMail {
  from: string;
  to: string[];
  subject: string;
  body: string;
}

/** A Mailer under test and where to read what it delivered (oldest first). */
export interface MailerSubject extends Subject<Mailer> {
  delivered(): Promise<DeliveredMail[]>;
}

/** What every Mailer adapter must do (core/ports.ts), run against each so both homes mail the same thing. */
export function describeMailer(name: string, sender: string, open: () => Promise<MailerSubject>): void {
  describe(`${name}: the Mailer port`, () => {
    let subject: MailerSubject;
    let before: number;

    beforeEach(async () => {
      subject = await open();
      before = (await subject.delivered()).length;
    });
    afterEach(async () => {
      await subject.cleanup?.();
    });

    const sent = async () => (await subject.delivered()).slice(before);

    it('delivers a text message to its one recipient, from the configured sender, with its subject', async () => {
      await subject.port.send({ to: 'alice@ferry.test', subject: 'Your export is ready', text: 'Download it here: https://ferry.test/x' });
      const mails = await sent();
      expect(mails).toHaveLength(1);
      expect(mails[0]).toEqual({ from: sender, to: ['alice@ferry.test'], subject: 'Your export is ready', body: expect.stringContaining('Download it here: https://ferry.test/x') });
    });

    it('delivers the HTML part of a message that has one', async () => {
      await subject.port.send({ to: 'bob@ferry.test', subject: 'Links', text: 'plain words', html: '<p>Your <a href="https://ferry.test/x">link</a></p>' });
      const [mail] = await sent();
      expect(mail?.body).toContain('<a href="https://ferry.test/x">link</a>');
    });

    it('keeps non-ASCII subjects and bodies intact', async () => {
      await subject.port.send({ to: 'alice@ferry.test', subject: 'Export prêt · 导出完成', text: 'Café, naïve, 中文 ✓' });
      const [mail] = await sent();
      expect(mail?.subject).toBe('Export prêt · 导出完成');
      expect(mail?.body).toContain('Café, naïve, 中文 ✓');
    });

    it('sends each message once, in order', async () => {
      for (const n of [1, 2, 3]) await subject.port.send({ to: 'alice@ferry.test', subject: `message ${n}`, text: `body ${n}` });
      expect((await sent()).map((mail) => mail.subject)).toEqual(['message 1', 'message 2', 'message 3']);
    });
  });
}
