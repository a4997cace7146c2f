import { SESv2Client } from '@aws-sdk/client-sesv2';
import type { Mailer } from '../../core/ports';
import { SesMailer } from '../../adapters/aws/ses-mailer';
import { awsClient, type PortBuilder } from './port';

export const mailer: PortBuilder<Mailer> = (config) =>
  new SesMailer(
    awsClient(new SESv2Client({ region: config.region, ...(config.sesEndpoint ? { endpoint: config.sesEndpoint } : {}) })),
    config.mailFrom,
  );
