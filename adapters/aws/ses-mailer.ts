import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import type { MailMessage, Mailer } from '../../core/ports';
import { translateAwsError } from './transient';

/** Mail through Amazon SES (v2 API), as a simple text + HTML message. */
export class SesMailer implements Mailer {
  constructor(
    private readonly ses: SESv2Client,
    private readonly from: string,
  ) {}

  async send(message: MailMessage): Promise<void> {
    const utf8 = (data: string) => ({ Data: data, Charset: 'UTF-8' });
    try {
      await this.ses.send(
        new SendEmailCommand({
          FromEmailAddress: this.from,
          Destination: { ToAddresses: [message.to] },
          Content: {
            Simple: {
              Subject: utf8(message.subject),
              Body: { Text: utf8(message.text), ...(message.html ? { Html: utf8(message.html) } : {}) },
            },
          },
        }),
      );
    } catch (error) {
      translateAwsError(error, `sending mail to ${message.to}`);
    }
  }
}
