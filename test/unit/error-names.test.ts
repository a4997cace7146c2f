import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import * as errors from '../../core/errors';

const root = join(import.meta.dirname, '..', '..');

/** Every name an ErrorEquals of statemachines/*.asl.yaml lists, wherever the state is nested. */
function errorEqualsNames(): Set<string> {
  const names = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'ErrorEquals' && Array.isArray(value)) value.forEach((name) => names.add(String(name)));
        else visit(value);
      }
    }
  };
  for (const file of readdirSync(join(root, 'statemachines')).filter((name) => name.endsWith('.asl.yaml'))) {
    visit(parse(readFileSync(join(root, 'statemachines', file), 'utf8')));
  }
  return names;
}

/** Names Step Functions and Lambda raise themselves; every other name must be one of Ferry's errors. */
const isAwsName = (name: string) => name.startsWith('States.') || name.startsWith('Lambda.');

/** Names the failure handlers read from `$.failure.Error` (core/export/messages.ts, core/import/messages.ts). */
const NAMES_READ_BY_FAILURE_HANDLERS = ['Transient', 'InvalidInput', 'ScanFailed', 'ScanTimedOut'];

type ErrorClass = new (message: string) => Error;
/** Every error class core/errors.ts exports (its other exports are functions, not Error subclasses). */
const errorClasses: Array<[string, ErrorClass]> = Object.entries(errors as Record<string, unknown>).flatMap(([exported, value]) =>
  typeof value === 'function' && value.prototype instanceof Error ? [[exported, value as ErrorClass] as [string, ErrorClass]] : [],
);

describe('error names the state machines match', () => {
  it('finds the names the ASL files match', () => {
    expect([...errorEqualsNames()].filter((name) => !isAwsName(name)).sort()).toEqual(['SlotBusy', 'Transient', 'UploadChanged']);
  });

  it.each([...new Set([...[...errorEqualsNames()].filter((name) => !isAwsName(name)), ...NAMES_READ_BY_FAILURE_HANDLERS])])(
    '%s is the name of one of the domain errors, as a string literal',
    (name) => {
      const match = errorClasses.find(([, ErrorClass]) => new ErrorClass('x').name === name);
      expect(match, `no error class in core/errors.ts is named ${name}`).toBeDefined();
    },
  );

  it.each(errorClasses)('%s keeps its name even when its class is renamed (as a minifier would)', (exported, ErrorClass) => {
    const Renamed = class extends ErrorClass {};
    Object.defineProperty(Renamed, 'name', { value: 'e' });
    expect(new ErrorClass('x').name).toBe(exported);
    expect(new Renamed('x').name).toBe(exported);
  });
});
