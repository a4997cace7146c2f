import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { getDeps, type Deps } from '../composition';
import { disconnectBrowser } from '../../core/export/rendezvous';

export const makeHandler = (deps: Deps) => async (event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResultV2> => {
  await disconnectBrowser(deps, event.requestContext.connectionId);
  return { statusCode: 200 };
};

export const handler = async (event: APIGatewayProxyWebsocketEventV2) => makeHandler(await getDeps())(event);
