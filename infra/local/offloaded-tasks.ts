import type { ServerlessFunction } from './serverless-config';

/**
 * Which functions run apart from the stack's own event loop, as Lambda runs each invocation apart from the API's:
 * every function that no HTTP or WebSocket route calls, that is every workflow task and the upload event's handler.
 * On the stack's thread the file-heavy tasks (CSV reports, import checks and rows) held the gateway's event loop for
 * seconds; the light ones (records, slots, mail, pushes) did too under load: 70 jobs' DynamoDB calls, each with its
 * SDK serde and SigV4, came in bursts, and a search that landed in one waited (bench:load's p99 was 160 ms against a
 * 91 ms goal with only the file-heavy tasks offloaded, 29 to 49 ms with all of them). What stays on the stack's thread
 * is what answers a browser: the API's handlers and the Step Functions runtime that routes the tasks.
 */
export function offloadedTasks(functions: Readonly<Record<string, ServerlessFunction>>): ReadonlySet<string> {
  return new Set(
    Object.entries(functions)
      .filter(([, definition]) => definition.httpRoutes.length === 0 && definition.websocketRoutes.length === 0)
      .map(([functionKey]) => functionKey),
  );
}
