import { emailLinkToUser, type EmailLinkInput } from '../../core/export/tasks';
import { wired } from '../composition';
import { clock } from '../ports/clock';
import { mailer } from '../ports/mailer';
import { objects } from '../ports/objects';
import { task } from '../task';

/** "Email link to user": the state is the job with `report`. */
export const makeHandler = (deps: Parameters<typeof emailLinkToUser>[0]) =>
  task(
    'Email link to user',
    (event: EmailLinkInput) => emailLinkToUser(deps, event),
    (_, event) => ({ rowCount: event.report.rowCount }),
  );

export const handler = wired({ objects, mailer, clock }, makeHandler);
