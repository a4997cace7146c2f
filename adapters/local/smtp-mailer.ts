import nodemailer from 'nodemailer';
import { Transient } from '../../core/errors';
import type { MailMessage, Mailer } from '../../core/ports';

/** SMTP delivery for the local stack when SMTP_URL is set (e.g. smtp://localhost:1025 for a mail catcher). */
export class SmtpMailer implements Mailer {
  private readonly transport;

  constructor(url: string, private readonly from: string) {
    this.transport = nodemailer.createTransport(url);
  }

  async send(message: MailMessage): Promise<void> {
    try {
      await this.transport.sendMail({
        from: this.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        ...(message.html ? { html: message.html } : {}),
      });
    } catch (error) {
      // Connection problems and 4xx replies are temporary in SMTP; 5xx replies are permanent.
      const code = (error as { code?: unknown; responseCode?: unknown }).code;
      const responseCode = (error as { responseCode?: unknown }).responseCode;
      const temporary = (typeof responseCode === 'number' && responseCode >= 400 && responseCode < 500) || code === 'ECONNECTION' || code === 'ETIMEDOUT' || code === 'ESOCKET';
      if (temporary) throw new Transient(`sending mail to ${message.to}: ${(error as Error).message}`, { cause: error });
      throw error;
    }
  }
}
