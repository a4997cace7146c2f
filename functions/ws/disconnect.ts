import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { wired, type Deps } from '../composition';
import { rendezvous } from '../ports/rendezvous';
import { disconnectBrowser } from '../../core/export/rendezvous';

export const makeHandler = (deps: Pick<Deps, 'rendezvous'>) => async (event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResultV2> => {
  await disconnectBrowser(deps, event.requestContext.connectionId);
  return { statusCode: 200 };
};

export const handler = wired({ rendezvous }, makeHandler);
