import { DeleteCommand, GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ConnectionRendezvous } from '../../core/ports';
import { awsErrorName, translateAwsError } from './transient';

/**
 * Where a browser's WebSocket connection and the waiting task token meet, in DynamoDB.
 * Table (CONNECTIONS_TABLE), for serverless.yml:
 *   - key: partition `pk` (S), sort `sk` (S)
 *       `EXECUTION#<executionArn>` / `RENDEZVOUS`: attributes connectionId?, taskToken?
 *       `CONNECTION#<connectionId>` / `CONNECTION`: attribute executionArn (so $disconnect can find its execution)
 *       `PROGRESS#<exportId>` / `PROGRESS`: a running export's progress (see dynamo-export-progress.ts)
 *   - TTL attribute `expiresAt` (epoch seconds): every item lives a day, far beyond any wait.
 * Each half is written with one UpdateItem returning ALL_NEW, so whichever arrives second sees both.
 */
const TTL_SECONDS = 24 * 60 * 60;
const executionKey = (executionArn: string) => ({ pk: `EXECUTION#${executionArn}`, sk: 'RENDEZVOUS' });
const connectionKey = (connectionId: string) => ({ pk: `CONNECTION#${connectionId}`, sk: 'CONNECTION' });

export class DynamoConnectionRendezvous implements ConnectionRendezvous {
  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async attachConnection(executionArn: string, connectionId: string): Promise<{ taskToken?: string }> {
    const expiresAt = this.expiresAt();
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.table,
          Key: connectionKey(connectionId),
          UpdateExpression: 'SET executionArn = :arn, expiresAt = :ttl',
          ExpressionAttributeValues: { ':arn': executionArn, ':ttl': expiresAt },
        }),
      );
      const out = await this.documents.send(
        new UpdateCommand({
          TableName: this.table,
          Key: executionKey(executionArn),
          UpdateExpression: 'SET connectionId = :connection, expiresAt = :ttl',
          ExpressionAttributeValues: { ':connection': connectionId, ':ttl': expiresAt },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const taskToken = out.Attributes?.taskToken;
      return typeof taskToken === 'string' ? { taskToken } : {};
    } catch (error) {
      translateAwsError(error, `attaching connection ${connectionId}`);
    }
  }

  async attachTaskToken(executionArn: string, taskToken: string): Promise<{ connectionId?: string }> {
    try {
      const out = await this.documents.send(
        new UpdateCommand({
          TableName: this.table,
          Key: executionKey(executionArn),
          UpdateExpression: 'SET taskToken = :token, expiresAt = :ttl',
          ExpressionAttributeValues: { ':token': taskToken, ':ttl': this.expiresAt() },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const connectionId = out.Attributes?.connectionId;
      return typeof connectionId === 'string' ? { connectionId } : {};
    } catch (error) {
      translateAwsError(error, `attaching the task token of ${executionArn}`);
    }
  }

  async connectionOf(executionArn: string): Promise<string | undefined> {
    try {
      const out = await this.documents.send(new GetCommand({ TableName: this.table, Key: executionKey(executionArn), ConsistentRead: true }));
      const connectionId = out.Item?.connectionId;
      return typeof connectionId === 'string' ? connectionId : undefined;
    } catch (error) {
      translateAwsError(error, `reading the connection of ${executionArn}`);
    }
  }

  async detachConnection(connectionId: string): Promise<void> {
    try {
      const out = await this.documents.send(
        new DeleteCommand({ TableName: this.table, Key: connectionKey(connectionId), ReturnValues: 'ALL_OLD' }),
      );
      const executionArn = out.Attributes?.executionArn;
      if (typeof executionArn !== 'string') return;
      // Only forget the connection if it is still the execution's current one (the browser may have reconnected).
      await this.documents.send(
        new UpdateCommand({
          TableName: this.table,
          Key: executionKey(executionArn),
          UpdateExpression: 'REMOVE connectionId',
          ConditionExpression: 'connectionId = :connection',
          ExpressionAttributeValues: { ':connection': connectionId },
        }),
      );
    } catch (error) {
      if (awsErrorName(error) === 'ConditionalCheckFailedException') return;
      translateAwsError(error, `detaching connection ${connectionId}`);
    }
  }

  private expiresAt(): number {
    return Math.floor(this.now().getTime() / 1000) + TTL_SECONDS;
  }
}
