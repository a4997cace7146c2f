import * as z from 'zod';
import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../../core/errors';
import { parseInput } from '../../core/validation';

const Query = z.object({ range: z.object({ from: z.iso.datetime() }).strict(), limit: z.number().optional() }).strict();

const refusalOf = (run: () => unknown): { error: unknown; field: string | undefined } => {
  try {
    run();
  } catch (error) {
    return { error, field: error instanceof InvalidInput ? error.field : undefined };
  }
  throw new Error('expected a refusal');
};

describe('untrusted input parsed with a schema', () => {
  it('hands back what the schema made of valid input', () => {
    expect(parseInput(Query, { range: { from: '2024-01-01T00:00:00Z' } })).toEqual({ range: { from: '2024-01-01T00:00:00Z' } });
  });

  it("refuses with the first problem's message, naming its field by its dotted path", () => {
    expect(refusalOf(() => parseInput(Query, { range: { from: 'yesterday' } }))).toEqual({
      error: new InvalidInput('range.from: Invalid ISO datetime', 'range.from'),
      field: 'range.from',
    });
  });

  it('puts the prefix before the path', () => {
    expect(refusalOf(() => parseInput(Query, { range: { from: 'yesterday' } }, 'searchCriteria'))).toEqual({
      error: new InvalidInput('searchCriteria.range.from: Invalid ISO datetime', 'searchCriteria.range.from'),
      field: 'searchCriteria.range.from',
    });
  });

  it('names the body when the problem is the input as a whole', () => {
    expect(refusalOf(() => parseInput(Query, 'not an object'))).toEqual({
      error: new InvalidInput('body: Invalid input: expected object, received string', 'body'),
      field: 'body',
    });
  });

  it('names the prefix alone when the problem is the whole of what it names', () => {
    expect(refusalOf(() => parseInput(Query, 7, 'searchCriteria'))).toEqual({
      error: new InvalidInput('searchCriteria: Invalid input: expected object, received number', 'searchCriteria'),
      field: 'searchCriteria',
    });
  });
});
