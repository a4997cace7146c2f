import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { disconnectBrowser } from '../../core/export';
import { getDeps, type Deps } from '../composition';

export const makeHandler = (deps: Deps) => async (event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResultV2> => {
  await disconnectBrowser(deps, event.requestContext.connectionId);
  return { statusCode: 200 };
};

export const handler = async (event: APIGatewayProxyWebsocketEventV2) => makeHandler(await getDeps())(event);
