import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePolicyDocuments } from './set-policy.ts';

describe('set-policy documents', () => {
  it('accepts one policy or an array, filling in defaults', () => {
    const one = parsePolicyDocuments(
      'a.json',
      JSON.stringify({ policy_id: 'b', kind: 'budget', scope: { org_id: 'acme' }, amount: '10' }),
    );
    assert.ok(one.ok);
    assert.deepEqual(one.policies[0], {
      policy_id: 'b',
      kind: 'budget',
      scope: { org_id: 'acme' },
      amount: '10',
      currency: 'USD',
      period: 'month',
      alert_at_percent: [50, 80, 100],
      forecast: true,
    });
    const many = parsePolicyDocuments(
      'b.json',
      JSON.stringify([
        { policy_id: 't', kind: 'thresholds', scope: { org_id: '*' } },
        { policy_id: 'c', kind: 'ceilings', scope: { org_id: 'acme' }, subagents_per_run: 40 },
      ]),
    );
    assert.ok(many.ok);
    assert.deepEqual(
      many.policies.map((p) => p.kind),
      ['thresholds', 'ceilings'],
    );
  });

  it('names the file, the position, the policy and the field of every bad document', () => {
    const result = parsePolicyDocuments(
      'p.json',
      JSON.stringify([
        { policy_id: 'good', kind: 'thresholds', scope: { org_id: 'a' } },
        { policy_id: 'bad', kind: 'budget', scope: { org_id: 'a' }, amount: 12.5 },
      ]),
    );
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual(result.errors, [
      'p.json[1] (bad): amount: Invalid input: expected string, received number',
    ]);
    const broken = parsePolicyDocuments('q.json', '{');
    assert.equal(broken.ok, false);
    if (!broken.ok) assert.match(broken.errors[0]!, /^q\.json: not JSON/);
  });
});
