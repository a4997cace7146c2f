import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { connectBrowser } from '../../core/export';
import { httpStatusOf, InvalidInput, Unauthorized } from '../../core/errors';
import { getDeps, type Deps } from '../composition';
import { log } from '../log';

/** `$connect` carries the query string; the SDK's WebSocket event type omits it. */
type ConnectEvent = APIGatewayProxyWebsocketEventV2 & { queryStringParameters?: Record<string, string | undefined> };

/** `$connect` for `/ws?token=…&executionArn=…`: checks the ID token, then joins the connection to the export. */
export const makeHandler = (deps: Deps) => async (event: ConnectEvent): Promise<APIGatewayProxyResultV2> => {
  const { token, executionArn } = event.queryStringParameters ?? {};
  const connectionId = event.requestContext.connectionId;
  try {
    if (!token) throw new Unauthorized('token is required');
    if (!executionArn) throw new InvalidInput('executionArn is required', 'executionArn');
    const { user } = await deps.tokens.verify(token);
    await connectBrowser(deps, user, executionArn, connectionId);
    return { statusCode: 200 };
  } catch (error) {
    const statusCode = httpStatusOf(error);
    if (statusCode === 500) log.error({ err: error, executionArn, connectionId }, 'websocket connect failed');
    return { statusCode };
  }
};

export const handler = async (event: ConnectEvent) => makeHandler(await getDeps())(event);
