import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import type { MailMessage, Mailer } from '../../core/ports';

/**
 * The local stack's mail: each message becomes an RFC 5322 `.eml` file under `dir`, named so the
 * files sort by time. Written to a temporary name and renamed, so a reader never sees half a message.
 */
export class OutboxMailer implements Mailer {
  private readonly composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  private sequence = 0;

  constructor(
    private readonly dir: string,
    private readonly from: string,
  ) {}

  async send(message: MailMessage): Promise<void> {
    const info = await this.composer.sendMail({
      from: this.from,
      to: message.to,
      subject: message.subject,
      text: message.text,
      ...(message.html ? { html: message.html } : {}),
    });
    const eml = info.message;
    if (!Buffer.isBuffer(eml)) throw new Error('nodemailer did not return the message as a buffer');
    await mkdir(this.dir, { recursive: true });
    const name = this.fileName();
    const temporary = join(this.dir, `.${name}.tmp`);
    await writeFile(temporary, eml);
    await rename(temporary, join(this.dir, name));
  }

  /** e.g. `20240501T101112.123Z-000001-3f9a1c.eml`: time first, then a per-process sequence, then noise. */
  private fileName(): string {
    const at = new Date().toISOString().replace(/[-:]/g, '');
    this.sequence = (this.sequence + 1) % 1_000_000;
    return `${at}-${String(this.sequence).padStart(6, '0')}-${randomBytes(3).toString('hex')}.eml`;
  }
}
