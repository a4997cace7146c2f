import { getConfig } from '../config';
import { json, route } from '../http';

/** 200 once the configuration parsed; ports are built on first use, so a health check builds none (nor bundles any). */
export const handler = route(async () => {
  getConfig();
  return json(200, { status: 'ok' });
});
