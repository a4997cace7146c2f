import type { FileTaskInput } from '../../core/import/job';
import { expireImport } from '../../core/import/tasks';
import { wired } from '../composition';
import { audit } from '../ports/audit';
import { clock } from '../ports/clock';
import { imports } from '../ports/imports';
import { objects } from '../ports/objects';
import { task } from '../task';

/** "Expire import": no mapping came in time; EXPIRED, nothing imported, the upload deleted. */
export const makeHandler = (deps: Parameters<typeof expireImport>[0]) =>
  task('Expire import', (event: FileTaskInput) => expireImport(deps, event));

export const handler = wired({ imports, objects, audit, clock }, makeHandler);
