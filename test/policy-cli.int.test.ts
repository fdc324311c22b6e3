/**
 * `tollgate policy list` and `tollgate policy show` against the real broker: what `policy set` and
 * `policy delete` published, read back as the detector and the SDK resolve it, with the policy each
 * setting comes from, and a policy whose latest version is not valid shown as such.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { topicSpecs } from '@tollgate/core';
import {
  createTestContext,
  produceMessages,
  runCli,
  skipIntegration,
  type TestContext,
} from './support/index.ts';

const POLICIES = [
  {
    policy_id: 'acme-search',
    kind: 'thresholds',
    scope: { org_id: 'acme', feature: 'search' },
    run: { cost_per_run: '2.50', loop_repeats: 6, steps_per_run: null },
    feature: { spike_ratio: 3 },
  },
  {
    policy_id: 'every-org',
    kind: 'thresholds',
    scope: { org_id: '*' },
    run: { cost_per_run: '4.00', idle_sandbox_seconds: 600 },
  },
  { policy_id: 'acme-month', kind: 'budget', scope: { org_id: 'acme' }, amount: '20000' },
  {
    policy_id: 'acme-search-month',
    kind: 'budget',
    scope: { org_id: 'acme', feature: 'search' },
    amount: '1500.50',
    alert_at_percent: [80, 100],
  },
  { policy_id: 'globex-month', kind: 'budget', scope: { org_id: 'globex' }, amount: '900' },
  {
    policy_id: 'acme-ceilings',
    kind: 'ceilings',
    scope: { org_id: 'acme' },
    subagents_per_run: 100,
    cost_per_run: '10.00',
  },
];

describe('tollgate policy list and show', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let env: Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-policy-cli-'));

  before(async () => {
    ctx = await createTestContext({ partitions: 1 });
    await ctx.createTopics(topicSpecs(ctx.topics, 1).filter((spec) => spec.name === ctx.topics.policies));
    env = { KAFKA_BROKERS: ctx.brokers.join(','), TOPIC_PREFIX: ctx.topicPrefix };
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await ctx.cleanup();
  });

  const cli = async (...args: string[]) => {
    const result = await runCli(env, ...args);
    assert.equal(result.code, 0, result.stdout);
    return result.stdout;
  };

  it('says so when there are no policies', async () => {
    assert.equal(
      await cli('policy', 'list'),
      `no policies on ${ctx.topics.policies}: every org runs on the built-in defaults (services/detector/README.md, "Policies")\n`,
    );
  });

  it('lists what policy set published, with the settings each policy sets, and filters by kind and org', async () => {
    const file = join(dir, 'policies.json');
    writeFileSync(file, JSON.stringify(POLICIES));
    await cli('policy', 'set', file);

    const table = await cli('policy', 'list');
    const row = (id: string) => table.split('\n').find((line) => line.includes(` ${id} `)) ?? '';
    assert.match(
      row('acme-search'),
      /│ thresholds │ org acme, feature search +│ run\.cost_per_run 2\.50 USD, run\.steps_per_run off, run\.loop_repeats 6, feature\.spike_ratio 3 +│/,
    );
    assert.match(
      row('acme-search-month'),
      /│ budget +│ .*│ 1500\.50 USD per month, alerts at 80\/100 %, forecast on +│/,
    );
    assert.match(row('acme-ceilings'), /│ cost_per_run 10\.00 USD, subagents_per_run 100 +│/);
    assert.match(row('every-org'), /│ org \* \(every org\) +│/);

    const json = JSON.parse(await cli('policy', 'list', '--json'));
    assert.deepEqual(
      json.policies.map((p: { policy_id: string }) => p.policy_id),
      POLICIES.map((p) => p.policy_id).sort(),
    );
    const budgets = JSON.parse(await cli('policy', 'list', '--kind', 'budget', '--org', 'acme', '--json'));
    assert.deepEqual(
      budgets.policies.map((p: { policy_id: string }) => p.policy_id),
      ['acme-month', 'acme-search-month'],
    );
    const bad = await runCli(env, 'policy', 'list', '--kind', 'budgets');
    assert.equal(bad.code, 1);
    assert.equal(bad.stdout, 'tollgate: --kind must be one of thresholds, budget, ceilings, got "budgets"\n');
  });

  it('shows what applies to an org, feature and customer, each setting with the policy it comes from', async () => {
    const text = await cli('policy', 'show', '--org', 'acme', '--feature', 'search');
    assert.match(text, /^What applies to org acme, feature search, no customer:/);
    const setting = (section: string, field: string) => {
      const part = text.slice(text.indexOf(section));
      return part.split('\n').find((line) => line.startsWith(`│ ${field} `)) ?? '';
    };
    // The feature's policy beats the every-org one; fields it leaves out come from every-org, then defaults.
    assert.match(setting('Run thresholds', 'cost_per_run'), /│ 2\.50 USD +│ acme-search +│/);
    assert.match(setting('Run thresholds', 'steps_per_run'), /│ off +│ acme-search +│/);
    assert.match(setting('Run thresholds', 'idle_sandbox_seconds'), /│ 600 +│ every-org +│/);
    assert.match(setting('Run thresholds', 'spawn_depth'), /│ 5 +│ default +│/);
    assert.match(setting('Feature spike', 'spike_ratio'), /│ 3 +│ acme-search +│/);
    assert.match(setting('Ceilings', 'subagents_per_run'), /│ 100 +│ acme-ceilings +│/);
    assert.match(setting('Ceilings', 'spawn_depth'), /│ off +│ default +│/);
    assert.match(
      text,
      /│ acme-month +│ org acme +│ 20000\.00 USD per month, alerts at 50\/80\/100 %, forecast on +│/,
    );
    assert.match(text, /│ acme-search-month +│ org acme, feature search +│/);
    assert.doesNotMatch(text, /globex-month/);

    // Another feature of acme: the every-org cost threshold, the org's budget only.
    const other = JSON.parse(await cli('policy', 'show', '--org', 'acme', '--feature', 'chat', '--json'));
    const cost = other.settings.find(
      (s: { section: string; field: string }) => s.section === 'run' && s.field === 'cost_per_run',
    );
    assert.deepEqual(cost, {
      section: 'run',
      field: 'cost_per_run',
      value: '4.00',
      currency: 'USD',
      policyId: 'every-org',
    });
    assert.deepEqual(
      other.budgets.map((b: { policy_id: string }) => b.policy_id),
      ['acme-month'],
    );
  });

  it('drops a deleted policy, and names a policy whose latest version is not valid', async () => {
    await cli('policy', 'delete', 'acme-search');
    await produceMessages(ctx.kafka, ctx.topics.policies, [
      { key: 'acme-ceilings', value: JSON.stringify({ ...POLICIES[5], spawn_depth: 0 }) },
    ]);
    const text = await cli('policy', 'list');
    assert.doesNotMatch(text, / acme-search /);
    // The previous version of acme-ceilings stays in force, and the refusal is named.
    assert.match(
      text,
      / acme-ceilings +│ ceilings +│ org acme +│ cost_per_run 10\.00 USD, subagents_per_run 100 /,
    );
    assert.match(
      text,
      /1 policy has a latest version that is not valid \(the version before it, if any, is in force\):\n {2}acme-ceilings at partition 0 offset \d+: spawn_depth: /,
    );
    const shown = await cli('policy', 'show', '--org', 'acme', '--feature', 'search');
    assert.match(shown, /│ cost_per_run +│ 4\.00 USD +│ every-org +│/);
  });
});
