import { PostToConnectionCommand, type ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import type { PushChannel } from '../../core/ports';
import { awsErrorName, httpStatusOfAwsError, translateAwsError } from './transient';

/** Pushes JSON messages to WebSocket connections through API Gateway's management API. */
export class ApiGatewayPushChannel implements PushChannel {
  constructor(private readonly client: ApiGatewayManagementApiClient) {}

  async post(connectionId: string, message: unknown): Promise<'delivered' | 'gone'> {
    try {
      await this.client.send(
        new PostToConnectionCommand({ ConnectionId: connectionId, Data: new TextEncoder().encode(JSON.stringify(message)) }),
      );
      return 'delivered';
    } catch (error) {
      if (awsErrorName(error) === 'GoneException' || httpStatusOfAwsError(error) === 410) return 'gone';
      translateAwsError(error, `posting to connection ${connectionId}`);
    }
  }
}
