import { pushLinkToBrowser, type PushLinkInput } from '../../core/export';
import { getDeps } from '../composition';
import { log } from '../log';

/** "Push link to browser": a gone connection is logged, not failed; the export stays available by polling. */
export const makeHandler = (deps: Parameters<typeof pushLinkToBrowser>[0]) => async (event: PushLinkInput) => {
  const outcome = await pushLinkToBrowser(deps, event);
  const line = { executionArn: event.executionArn, connectionId: event.connectionId, outcome };
  if (outcome === 'delivered') log.info(line, 'download link pushed to browser');
  else log.warn(line, 'download link not pushed; the browser can poll for it');
};

export const handler = async (event: PushLinkInput, _context?: unknown) => makeHandler(await getDeps())(event);
