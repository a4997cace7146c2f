import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * SDK clients for the local DynamoDB, configured as the AWS composition root configures its own
 * (region, document marshalling), so what runs against dynalite is what runs in Lambda.
 * dynalite does not check signatures; the fixed keys only let the SDK sign without looking for credentials.
 */
export function localDynamoClients(endpoint: string): { client: DynamoDBClient; documents: DynamoDBDocumentClient } {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 3,
  });
  return { client, documents: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }) };
}
