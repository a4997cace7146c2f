import { cognitoPoolFromEnv } from '../../functions/config';
import { reportEventLoopDelay } from './event-loop-report';
import { keepRunningOnStrayErrors } from './process-safety-net';
import { localStackOptionsFromEnv, startLocalStack } from './stack';

/** `npm start`: the whole of Ferry on this machine. */
keepRunningOnStrayErrors();
// LOCAL_EVENT_LOOP_REPORT=1 (bench:load sets it): a line a second on stderr with the event loop's delay.
if (process.env.LOCAL_EVENT_LOOP_REPORT === '1') reportEventLoopDelay();
const options = localStackOptionsFromEnv();
console.log(`Ferry: data directory ${options.dataDir}`);
const stack = await startLocalStack(options);
const pool = cognitoPoolFromEnv();
const signIn = pool
  ? `sign-in: Cognito user pool ${pool.userPoolId}${pool.endpoint ? ` at ${pool.endpoint}` : ''}`
  : `users alice, bob, admin; password "${options.password}"`;
console.log(
  [
    `Ferry is ready at ${stack.url}`,
    `  web app        ${stack.url}/   (${signIn})`,
    `  HTTP API       ${stack.url}/api`,
    `  WebSocket      ${stack.url.replace(/^http/, 'ws')}/ws`,
    `  local S3       ${stack.s3Endpoint}`,
    `  Step Functions ${stack.sfnEndpoint}   (SigV4 with the local credentials)`,
    `  management API ${stack.managementEndpoint}   (WebSocket @connections; SigV4 with the local credentials)`,
    `  mail outbox    ${options.dataDir}/outbox`,
    stack.clamd
      ? `  clamd          ${stack.clamd.host}:${stack.clamd.port}${stack.clamd.startedHere ? ' (EICAR test signatures; see infra/local/clamd/README.md for real ones)' : ''}`
      : '  clamd          MISSING: imports will fail closed (nothing unscanned is imported). Install it: apt-get install -y clamav-daemon',
  ].join('\n'),
);
// Machine-readable line for tests and scripts that start the stack as a child process.
console.log(`FERRY_READY ${JSON.stringify({ url: stack.url, s3Endpoint: stack.s3Endpoint, sfnEndpoint: stack.sfnEndpoint, managementEndpoint: stack.managementEndpoint, dynamoEndpoint: stack.dynamoEndpoint, dataDir: stack.dataDir })}`);

const stop = async () => {
  await stack.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
