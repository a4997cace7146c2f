import { pushLinkToBrowser, type PushLinkInput } from '../../core/export/tasks';
import { wired } from '../composition';
import { clock } from '../ports/clock';
import { objects } from '../ports/objects';
import { push } from '../ports/push';
import { rendezvous } from '../ports/rendezvous';
import { task } from '../task';

/** "Push link to browser": a gone connection is logged, not failed; the export stays available by polling. */
export const makeHandler = (deps: Parameters<typeof pushLinkToBrowser>[0]) =>
  task('Push link to browser', async (event: PushLinkInput, log) => {
    const outcome = await pushLinkToBrowser(deps, event);
    const line = { connectionId: event.connectionId, pushed: outcome };
    if (outcome === 'delivered') log.info(line, 'download link pushed to browser');
    else log.warn(line, 'download link not pushed; the browser can poll for it');
  });

export const handler = wired({ objects, push, rendezvous, clock }, makeHandler);
