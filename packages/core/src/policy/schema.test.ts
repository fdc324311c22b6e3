import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatNanos, parseAmountNanos, parsePolicy, parsePolicyMessage } from './schema.ts';

const thresholds = {
  policy_id: 'acme-search',
  kind: 'thresholds',
  scope: { org_id: 'acme', feature: 'search' },
  run: { cost_per_run: '2.50', loop_repeats: 6, steps_per_run: null },
};

describe('parsePolicy', () => {
  it('accepts a thresholds policy and fills the defaults of the document', () => {
    const result = parsePolicy(thresholds);
    assert.ok(result.ok);
    assert.equal(result.policy.kind, 'thresholds');
    if (result.policy.kind !== 'thresholds') return;
    assert.equal(result.policy.currency, 'USD');
    assert.equal(result.policy.run.cost_per_run, '2.50');
    assert.equal(result.policy.run.steps_per_run, null);
    assert.deepEqual(result.policy.feature, {});
  });

  it('accepts a budget with default percentages and forecast', () => {
    const result = parsePolicy({
      policy_id: 'acme-month',
      kind: 'budget',
      scope: { org_id: 'acme' },
      amount: '20000',
    });
    assert.ok(result.ok);
    assert.equal(result.policy.kind, 'budget');
    if (result.policy.kind !== 'budget') return;
    assert.deepEqual(result.policy.alert_at_percent, [50, 80, 100]);
    assert.equal(result.policy.forecast, true);
    assert.equal(result.policy.period, 'month');
  });

  it('names the field and the rule of a bad amount', () => {
    const result = parsePolicy({ ...thresholds, run: { cost_per_run: 2.5 } });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.field, 'run.cost_per_run');
    assert.match(result.reason, /run\.cost_per_run: .*string/);
  });

  it('rejects a float written as a string with too many decimals, and negative amounts', () => {
    for (const amount of ['1.0000000001', '-3', '1e3', '']) {
      const result = parsePolicy({ policy_id: 'b', kind: 'budget', scope: { org_id: 'a' }, amount });
      assert.equal(result.ok, false, amount);
      if (!result.ok) assert.equal(result.field, 'amount');
    }
  });

  it('rejects unknown fields instead of ignoring a typo', () => {
    const result = parsePolicy({ ...thresholds, run: { cost_per_runn: '1.00' } });
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.reason, /cost_per_runn/);
  });

  it('rejects an unknown kind, a bad id and a budget for every org', () => {
    assert.equal(parsePolicy({ ...thresholds, kind: 'limits' }).ok, false);
    assert.equal(parsePolicy({ ...thresholds, policy_id: 'has space' }).ok, false);
    const global = parsePolicy({ policy_id: 'g', kind: 'budget', scope: { org_id: '*' }, amount: '1' });
    assert.equal(global.ok, false);
    if (!global.ok) assert.equal(global.field, 'scope.org_id');
  });

  it('rejects thresholds too large to stay exact as nanos, and a zero budget', () => {
    assert.equal(parsePolicy({ ...thresholds, run: { cost_per_run: '9000001' } }).ok, false);
    assert.equal(
      parsePolicy({ policy_id: 'b', kind: 'budget', scope: { org_id: 'a' }, amount: '0.00' }).ok,
      false,
    );
  });
});

describe('parsePolicyMessage', () => {
  it('requires the key to be the policy id', () => {
    const bytes = Buffer.from(JSON.stringify(thresholds));
    assert.ok(parsePolicyMessage('acme-search', bytes).ok);
    const wrong = parsePolicyMessage('other', bytes);
    assert.equal(wrong.ok, false);
    if (!wrong.ok) assert.equal(wrong.field, 'policy_id');
  });

  it('reports bytes that are not JSON', () => {
    const result = parsePolicyMessage('x', Buffer.from('{nope'));
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.reason, /not JSON/);
  });
});

describe('money helpers', () => {
  it('parses and formats exact nanos', () => {
    assert.equal(parseAmountNanos('12.5'), 12_500_000_000n);
    assert.equal(parseAmountNanos('0.000000001'), 1n);
    assert.equal(formatNanos(12_500_000_000n), '12.50');
    assert.equal(formatNanos(1), '0.000000001');
    assert.equal(formatNanos(-1_230_000_000), '-1.23');
  });
});
