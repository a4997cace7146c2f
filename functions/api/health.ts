import { getDeps } from '../composition';
import { json, route } from '../http';

/** 200 once the configuration parsed and the adapters were built. */
export const handler = route(async () => {
  await getDeps();
  return json(200, { status: 'ok' });
});
