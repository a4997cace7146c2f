import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import type { PushChannel } from '../../core/ports';
import { ApiGatewayPushChannel } from '../../adapters/aws/apigw-push';
import { awsClient, type PortBuilder } from './port';

export const push: PortBuilder<PushChannel> = (config) =>
  new ApiGatewayPushChannel(awsClient(new ApiGatewayManagementApiClient({ region: config.region, endpoint: config.wsManagementEndpoint })));
