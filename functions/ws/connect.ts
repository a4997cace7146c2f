import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { connectBrowserToImport } from '../../core/import/use-cases';
import { httpStatusOf, InvalidInput, Unauthorized } from '../../core/errors';
import { wired, type Deps } from '../composition';
import { executions } from '../ports/executions';
import { exportJobs } from '../ports/export-jobs';
import { imports } from '../ports/imports';
import { rendezvous } from '../ports/rendezvous';
import { tokens } from '../ports/tokens';
import { log } from '../log';
import { connectBrowser } from '../../core/export/rendezvous';

/** `$connect` carries the query string; the SDK's WebSocket event type omits it. */
type ConnectEvent = APIGatewayProxyWebsocketEventV2 & { queryStringParameters?: Record<string, string | undefined> };
type ConnectDeps = Pick<Deps, 'tokens' | 'rendezvous' | 'executions' | 'exportJobs' | 'imports'>;

/**
 * `$connect` for `/ws?token=…&executionArn=…` (an export) or `/ws?token=…&importId=…` (an import or a batch):
 * checks the ID token, then joins the connection to what the browser waits for.
 */
export const makeHandler = (deps: ConnectDeps) => async (event: ConnectEvent): Promise<APIGatewayProxyResultV2> => {
  const { token, executionArn, importId } = event.queryStringParameters ?? {};
  const connectionId = event.requestContext.connectionId;
  try {
    if (!token) throw new Unauthorized('token is required');
    if (!executionArn && !importId) throw new InvalidInput('executionArn or importId is required', 'executionArn');
    const { user } = await deps.tokens.verify(token);
    if (executionArn) await connectBrowser(deps, user, executionArn, connectionId);
    else if (importId) await connectBrowserToImport(deps, user, importId, connectionId);
    return { statusCode: 200 };
  } catch (error) {
    const statusCode = httpStatusOf(error);
    if (statusCode === 500) log.error({ err: error, executionArn, importId, connectionId }, 'websocket connect failed');
    return { statusCode };
  }
};

export const handler = wired({ tokens, rendezvous, executions, exportJobs, imports }, makeHandler);
