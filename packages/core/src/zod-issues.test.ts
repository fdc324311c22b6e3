import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { fieldName, fieldProblems } from './zod-issues.ts';

const schema = z.strictObject({
  id: z.string(),
  scope: z.strictObject({ org_id: z.string() }),
  amount: z.string().nullish(),
});

function problems(input: unknown): string[] {
  const result = schema.safeParse(input);
  assert.equal(result.success, false);
  if (result.success) return [];
  return fieldProblems(result.error, input).map((p) => `${fieldName(p)}: ${p.reason}`);
}

describe('field problems', () => {
  it('says a missing field is required, nested ones too', () => {
    assert.deepEqual(problems({ scope: {} }), ['id: is required', 'scope.org_id: is required']);
  });

  it('says what a field of the wrong type should be, not that it is missing', () => {
    assert.deepEqual(problems({ id: 'a', scope: { org_id: 7 }, amount: 2.5 }), [
      'scope.org_id: Invalid input: expected string, received number',
      'amount: Invalid input: expected string, received number',
    ]);
  });

  it('names each unknown field', () => {
    assert.deepEqual(problems({ id: 'a', scope: { org_id: 'x', team: 1 }, colour: 'red' }), [
      'scope.team: is not a known field',
      'colour: is not a known field',
    ]);
    assert.deepEqual(problems(null), ['(root): Invalid input: expected object, received null']);
  });
});
