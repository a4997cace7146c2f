import { getConfig } from '../config';
import { json, route, type HttpEvent } from '../http';

/** 200 once the configuration parsed; ports are built on first use, so a health check builds none (nor bundles any). */
export const makeHandler = (ready: () => unknown) =>
  route(async () => {
    await ready();
    return json(200, { status: 'ok' });
  });

export const handler = async (event: HttpEvent) => makeHandler(getConfig)(event);
