import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { perConfig, awsClient } from './port';

/** The one DynamoDB document client of a process: every table's port shares it. */
export const documents = perConfig((config) =>
  DynamoDBDocumentClient.from(awsClient(new DynamoDBClient({ region: config.region, ...(config.dynamodbEndpoint ? { endpoint: config.dynamodbEndpoint } : {}) })), { marshallOptions: { removeUndefinedValues: true } }),
);
