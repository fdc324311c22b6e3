import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyPolicyMessage, createPolicyIndex } from './resolve.ts';
import { type Policy, parsePolicy } from './schema.ts';

function policy(doc: Record<string, unknown>): Policy {
  const result = parsePolicy(doc);
  if (!result.ok) throw new Error(result.reason);
  return result.policy;
}

const subject = { org_id: 'acme', feature: 'search', customer_id: 'c1' };

describe('createPolicyIndex', () => {
  it('falls back to the built-in defaults with no policy', () => {
    const run = createPolicyIndex().runThresholds(subject);
    assert.deepEqual(run.costPerRun, { nanos: 5_000_000_000, currency: 'USD' });
    assert.equal(run.loopRepeats, 10);
    assert.deepEqual(run.policyIds, []);
  });

  it('merges field by field, the most specific policy first, null switching a rule off', () => {
    const index = createPolicyIndex([
      policy({
        policy_id: 'all',
        kind: 'thresholds',
        scope: { org_id: '*' },
        run: { loop_repeats: 20, spawn_depth: 3 },
      }),
      policy({
        policy_id: 'org',
        kind: 'thresholds',
        scope: { org_id: 'acme' },
        run: { cost_per_run: '1.00' },
      }),
      policy({
        policy_id: 'feat',
        kind: 'thresholds',
        scope: { org_id: 'acme', feature: 'search' },
        currency: 'EUR',
        run: { cost_per_run: '3.00', steps_per_run: null },
      }),
      policy({ policy_id: 'other', kind: 'thresholds', scope: { org_id: 'beta' }, run: { loop_repeats: 2 } }),
    ]);
    const run = index.runThresholds(subject);
    assert.deepEqual(run.costPerRun, { nanos: 3_000_000_000, currency: 'EUR' });
    assert.equal(run.stepsPerRun, null);
    assert.equal(run.loopRepeats, 20);
    assert.equal(run.spawnDepth, 3);
    assert.deepEqual(run.policyIds, ['feat', 'all']);
    const elsewhere = index.runThresholds({ ...subject, feature: 'chat' });
    assert.deepEqual(elsewhere.costPerRun, { nanos: 1_000_000_000, currency: 'USD' });
    assert.equal(elsewhere.stepsPerRun, 500);
  });

  it('prefers a feature policy over a customer policy, and breaks ties by id', () => {
    const index = createPolicyIndex([
      policy({
        policy_id: 'cust',
        kind: 'thresholds',
        scope: { org_id: 'acme', customer_id: 'c1' },
        run: { loop_repeats: 4 },
      }),
      policy({
        policy_id: 'feat',
        kind: 'thresholds',
        scope: { org_id: 'acme', feature: 'search' },
        run: { loop_repeats: 5 },
      }),
      policy({ policy_id: 'a', kind: 'thresholds', scope: { org_id: 'beta' }, run: { loop_repeats: 6 } }),
      policy({ policy_id: 'b', kind: 'thresholds', scope: { org_id: 'beta' }, run: { loop_repeats: 7 } }),
    ]);
    assert.equal(index.runThresholds(subject).loopRepeats, 5);
    assert.equal(index.runThresholds({ ...subject, feature: null }).loopRepeats, 4);
    assert.equal(index.runThresholds({ ...subject, org_id: 'beta' }).loopRepeats, 7);
  });

  it('lists every budget covering the subject and tracks removals in its version', () => {
    const index = createPolicyIndex();
    const v0 = index.version;
    index.upsert(policy({ policy_id: 'org', kind: 'budget', scope: { org_id: 'acme' }, amount: '100' }));
    index.upsert(
      policy({
        policy_id: 'feat',
        kind: 'budget',
        scope: { org_id: 'acme', feature: 'search' },
        amount: '10',
      }),
    );
    index.upsert(
      policy({ policy_id: 'chat', kind: 'budget', scope: { org_id: 'acme', feature: 'chat' }, amount: '10' }),
    );
    assert.deepEqual(
      index.budgets(subject).map((b) => b.policy_id),
      ['feat', 'org'],
    );
    assert.ok(index.remove('feat'));
    assert.equal(index.remove('feat'), false);
    assert.deepEqual(
      index.budgets(subject).map((b) => b.policy_id),
      ['org'],
    );
    assert.ok(index.version > v0);
  });

  it('resolves ceilings for the SDK, none by default', () => {
    const index = createPolicyIndex();
    assert.equal(index.ceilings(subject).subagentsPerRun, null);
    index.upsert(
      policy({
        policy_id: 'c',
        kind: 'ceilings',
        scope: { org_id: 'acme' },
        subagents_per_run: 40,
        cost_per_run: '8',
      }),
    );
    const ceilings = index.ceilings(subject);
    assert.equal(ceilings.subagentsPerRun, 40);
    assert.deepEqual(ceilings.costPerRun, { nanos: 8_000_000_000, currency: 'USD' });
  });

  it('keeps feature spike settings on even when a policy sets them to null', () => {
    const index = createPolicyIndex([
      policy({
        policy_id: 'f',
        kind: 'thresholds',
        scope: { org_id: 'acme' },
        feature: { spike_ratio: null, min_window_cost: '5' },
      }),
    ]);
    const feature = index.featureThresholds(subject);
    assert.equal(feature.spikeRatio, 2);
    assert.equal(feature.minWindowCost.nanos, 5_000_000_000);
  });
});

describe('applyPolicyMessage', () => {
  const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));
  const ceilings = { policy_id: 'acme-c', kind: 'ceilings', scope: { org_id: 'acme' }, spawn_depth: 2 };

  it('sets, replaces and deletes by key, and keeps the previous version of a rejected one', () => {
    const index = createPolicyIndex();
    const key = Buffer.from('acme-c');
    assert.equal(applyPolicyMessage(index, key, bytes(ceilings)).kind, 'set');
    assert.equal(index.ceilings(subject).spawnDepth, 2);
    applyPolicyMessage(index, key, bytes({ ...ceilings, spawn_depth: 4 }));
    assert.equal(index.ceilings(subject).spawnDepth, 4);

    const bad = applyPolicyMessage(index, key, bytes({ ...ceilings, spawn_depth: -1 }));
    assert.equal(bad.kind, 'rejected');
    assert.ok(bad.kind === 'rejected' && bad.field === 'spawn_depth' && bad.policyId === 'acme-c');
    const renamed = applyPolicyMessage(index, Buffer.from('other'), bytes(ceilings));
    assert.ok(renamed.kind === 'rejected' && renamed.field === 'policy_id');
    assert.equal(index.ceilings(subject).spawnDepth, 4, 'the previous version stays in force');

    assert.deepEqual(applyPolicyMessage(index, key, null), { kind: 'deleted', policyId: 'acme-c' });
    assert.equal(index.ceilings(subject).spawnDepth, null);
    assert.deepEqual(applyPolicyMessage(index, key, null), { kind: 'unchanged' });
  });
});
