import { emailLinkToUser, type EmailLinkInput } from '../../core/export/tasks';
import { getDeps } from '../composition';
import { task, type TaskInvocation } from '../task';

/** "Email link to user": the state is the job with `report`. */
export const makeHandler = (deps: Parameters<typeof emailLinkToUser>[0]) =>
  task(
    'Email link to user',
    (event: EmailLinkInput) => emailLinkToUser(deps, event),
    (_, event) => ({ rowCount: event.report.rowCount }),
  );

export const handler = async (event: EmailLinkInput, invocation?: TaskInvocation) => makeHandler(await getDeps())(event, invocation);
