import type { TestProject } from 'vitest/node';
import { startStackProcess, type StackInfo, type StackProcess } from './stack-process';

/** The integration and end-to-end tests' shared local stack, with 100,000 seeded posts. */
declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

export type { StackInfo };
export const SEEDED_ROWS = 100_000;

let stack: StackProcess | undefined;

export async function setup(project: TestProject) {
  stack = await startStackProcess('it', { SEED_ROWS: String(SEEDED_ROWS) });
  project.provide('stack', stack.info);
}

export async function teardown() {
  await stack?.stop();
}
