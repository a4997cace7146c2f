import type { PortBuilders } from '../composition';
import { audit } from './audit';
import { clock } from './clock';
import { executions } from './executions';
import { exportJobs } from './export-jobs';
import { exportProgress } from './export-progress';
import { ids } from './ids';
import { imports } from './imports';
import { importSlots } from './import-slots';
import { mailer } from './mailer';
import { objects } from './objects';
import { push } from './push';
import { rendezvous } from './rendezvous';
import { scanner } from './scanner';
import { search } from './search';
import { tokens } from './tokens';
import { users } from './users';

/**
 * Every AWS port's builder, for the local stack (which reuses them for the APIs it has twins of) and
 * tests. No handler imports this: each names its own ports with `wired`, so its bundle carries only those.
 */
export const awsPorts: PortBuilders = {
  search,
  objects,
  mailer,
  push,
  rendezvous,
  exportProgress,
  executions,
  audit,
  imports,
  importSlots,
  exportJobs,
  users,
  scanner,
  clock,
  ids,
  tokens,
};
