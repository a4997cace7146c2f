import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseDocument } from 'yaml';

/** One function of serverless.yml, as the local stack needs it: where its handler is and what invokes it. */
export interface LocalFunction {
  key: string;
  handlerFile: string;
  exportName: string;
  timeoutSeconds: number;
  httpRoutes: { method: string; path: string; authorized: boolean }[];
  websocketRoutes: string[];
}

type Json = Record<string, unknown>;
const asRecord = (v: unknown): Json => (v && typeof v === 'object' ? (v as Json) : {});

/** Reads serverless.yml's `functions`; `${…}` variables and CloudFormation tags are left as text. */
export function readServerlessFunctions(root: string): Map<string, LocalFunction> {
  const doc = parseDocument(readFileSync(join(root, 'serverless.yml'), 'utf8'), {
    customTags: ['Ref', 'GetAtt', 'Sub', 'Join', 'If', 'Equals', 'Not', 'Select', 'Split', 'ImportValue', 'FindInMap'].flatMap(
      (tag) => ['scalar', 'seq', 'map'].map((collection) => ({
        tag: `!${tag}`,
        collection: collection === 'scalar' ? undefined : (collection as 'seq' | 'map'),
        resolve: (value: unknown) => value,
      })),
    ) as never, // the yaml package's tag typing does not model "any collection"; these tags only need to parse
  });
  const functions = asRecord(asRecord(doc.toJS()).functions);
  const result = new Map<string, LocalFunction>();
  for (const [key, value] of Object.entries(functions)) {
    const fn = asRecord(value);
    const handler = String(fn.handler ?? '');
    const dot = handler.lastIndexOf('.');
    const events = Array.isArray(fn.events) ? fn.events.map(asRecord) : [];
    result.set(key, {
      key,
      handlerFile: resolve(root, `${handler.slice(0, dot)}.ts`),
      exportName: handler.slice(dot + 1),
      timeoutSeconds: Number(fn.timeout ?? 6),
      httpRoutes: events
        .filter((e) => e.httpApi)
        .map((e) => {
          const http = asRecord(e.httpApi);
          return { method: String(http.method).toUpperCase(), path: String(http.path), authorized: Boolean(http.authorizer) };
        }),
      websocketRoutes: events.filter((e) => e.websocket).map((e) => String(asRecord(e.websocket).route)),
    });
  }
  return result;
}

/** A Lambda-style invoker for the functions of serverless.yml: loads each handler module once. */
export function createLocalInvoker(functions: Map<string, LocalFunction>) {
  const loaded = new Map<string, Promise<(event: unknown, context: unknown) => Promise<unknown>>>();
  return async function invoke(key: string, event: unknown): Promise<unknown> {
    const fn = functions.get(key);
    if (!fn) throw new Error(`No function "${key}" in serverless.yml`);
    let handler = loaded.get(key);
    if (!handler) {
      handler = import(pathToFileURL(fn.handlerFile).href).then((mod: Record<string, unknown>) => {
        const exported = mod[fn.exportName];
        if (typeof exported !== 'function') throw new Error(`${fn.handlerFile} does not export ${fn.exportName}`);
        return exported as (event: unknown, context: unknown) => Promise<unknown>;
      });
      loaded.set(key, handler);
    }
    const started = Date.now();
    const context = {
      functionName: `ferry-local-${key}`,
      awsRequestId: crypto.randomUUID(),
      getRemainingTimeInMillis: () => fn.timeoutSeconds * 1000 - (Date.now() - started),
    };
    return (await handler)(event, context);
  };
}
