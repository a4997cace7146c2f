import { emailLinkToUser, type EmailLinkInput } from '../../core/export';
import { getDeps } from '../composition';
import { log } from '../log';

/** "Email link to user": the state is the job with `report`. */
export const makeHandler = (deps: Parameters<typeof emailLinkToUser>[0]) => async (event: EmailLinkInput) => {
  await emailLinkToUser(deps, event);
  log.info({ exportId: event.exportId, rowCount: event.report.rowCount }, 'download link emailed');
};

export const handler = async (event: EmailLinkInput, _context?: unknown) => makeHandler(await getDeps())(event);
