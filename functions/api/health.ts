import { getDeps } from '../composition';
import { json, route, type HttpEvent } from '../http';

/** 200 once the configuration parsed and the adapters were built (`ready` resolves). */
export const makeHandler = (ready: () => Promise<unknown>) =>
  route(async () => {
    await ready();
    return json(200, { status: 'ok' });
  });

export const handler = async (event: HttpEvent) => makeHandler(getDeps)(event);
