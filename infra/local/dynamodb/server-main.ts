/** The local DynamoDB's own process (server-process.ts): starts dynalite, reports its endpoint, closes on 'close'. */
import { startLocalDynamo, type LocalDynamoOptions } from './server';

const options = JSON.parse(process.argv[2] ?? '{}') as LocalDynamoOptions;
try {
  const dynamo = await startLocalDynamo(options);
  process.send?.({ endpoint: dynamo.endpoint });
  const stop = () => void dynamo.close().finally(() => process.exit(0));
  process.on('message', (message) => message === 'close' && stop());
  // The stack went away without closing (a crash): LevelDB is closed as well as it can be.
  process.on('disconnect', stop);
} catch (error) {
  process.send?.({ error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}
