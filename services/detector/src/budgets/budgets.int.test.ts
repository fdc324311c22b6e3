/**
 * Budgets against the real broker: policies set through the policy topic (as `set-policy` does),
 * spend published day by day, alerts at 50/80/100 % once each and the run-rate forecast; a budget on
 * track stays quiet; an invalid policy is rejected without stopping the detector.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Policy, parsePolicy } from '@tollgate/core';
import { createTestContext, skipIntegration, type TestContext, uniqueId } from '@tollgate/test/support';
import { runContext, usage } from '../fleet/events.ts';
import { priceUsage } from '../fleet/pricing.ts';
import { publishPolicyChanges } from '../set-policy.ts';
import {
  type AlertCollector,
  collectAlerts,
  counterValue,
  publishPriced,
  type RunningDetector,
  startDetector,
  testSettings,
  waitFor,
} from '../testing.ts';

const NOV = Date.UTC(2026, 10, 1);
const DAY = 86_400_000;
const HOUR = 3_600_000;

function policy(doc: Record<string, unknown>): Policy {
  const parsed = parsePolicy(doc);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.policy;
}

/** One day of acme: 4 opus calls on search for c1 ($1.50) and 4 sonnet calls on chat for c2 ($0.30). */
function day(d: number) {
  const search = runContext({ run_id: `search-${d}`, org_id: 'acme', feature: 'search', customer_id: 'c1' });
  const chat = runContext({ run_id: `chat-${d}`, org_id: 'acme', feature: 'chat', customer_id: 'c2' });
  const events = [];
  for (let i = 0; i < 4; i++) {
    const t = NOV + d * DAY + 9 * HOUR + i * 2 * HOUR;
    events.push(
      usage.modelCall(search, `s-${d}-${i}`, t, 'claude-opus-4.1', {
        input_tokens: 20_000,
        output_tokens: 1_000,
      }),
    );
    events.push(
      usage.modelCall(chat, `c-${d}-${i}`, t + 60_000, 'claude-sonnet-4.5', {
        input_tokens: 20_000,
        output_tokens: 1_000,
      }),
    );
  }
  return events.map((e) => priceUsage(e));
}

describe('budgets against Kafka', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let running: RunningDetector;
  let collector: AlertCollector;
  let published = 0;

  before(async () => {
    ctx = await createTestContext({ partitions: 3 });
    await ctx.createTopics();
    await publishPolicyChanges(ctx.kafka, ctx.topics.policies, [
      { set: policy({ policy_id: 'acme-month', kind: 'budget', scope: { org_id: 'acme' }, amount: '20' }) },
      {
        set: policy({
          policy_id: 'acme-search',
          kind: 'budget',
          scope: { org_id: 'acme', feature: 'search' },
          amount: '100',
        }),
      },
    ]);
    const producer = ctx.kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({
      topic: ctx.topics.policies,
      messages: [
        {
          key: 'bad',
          value: JSON.stringify({
            policy_id: 'bad',
            kind: 'budget',
            scope: { org_id: 'acme' },
            amount: 12.5,
          }),
        },
      ],
    });
    await producer.disconnect();
    running = await startDetector({
      kafka: ctx.kafka,
      logger: ctx.logger,
      topics: ctx.topics,
      settings: testSettings(uniqueId('bud')),
    });
    // Set while running: the detector follows the policy topic.
    await publishPolicyChanges(ctx.kafka, ctx.topics.policies, [
      {
        set: policy({
          policy_id: 'acme-c2',
          kind: 'budget',
          scope: { org_id: 'acme', customer_id: 'c2' },
          amount: '3',
          forecast: false,
        }),
      },
    ]);
    await waitFor(
      () => running.detector.policies.get('acme-c2') !== undefined,
      10_000,
      'the new budget to apply',
    );
    collector = await collectAlerts(ctx.kafka, ctx.topics.alerts, ctx.logger);
    // Day by day, each processed before the next, so each crossing is its own batch.
    for (let d = 0; d < 12; d++) {
      const events = day(d);
      await publishPriced(ctx.kafka, ctx.topics.priced, events);
      published += events.length;
      await waitFor(
        async () =>
          (await counterValue(running.registry, 'tollgate_detector_events_total', { stage: 'runs' })) >=
          published,
        30_000,
        `day ${d} to be processed`,
      );
    }
  });

  after(async () => {
    await collector?.stop();
    await running?.stop();
    await ctx?.cleanup();
  });

  it('rejects the invalid policy and keeps the valid ones', async () => {
    assert.equal(await counterValue(running.registry, 'tollgate_detector_policies_rejected_total'), 1);
    assert.equal(running.detector.policies.get('bad'), undefined);
    assert.deepEqual(
      running.detector.policies
        .list()
        .map((p) => p.policy_id)
        .sort(),
      ['acme-c2', 'acme-month', 'acme-search'],
    );
  });

  it('alerts at 50, 80 and 100 percent once each, and forecasts the overrun early', async () => {
    await collector.waitFor(
      (alerts) => alerts.filter((a) => a.policy_id === 'acme-month').length === 4,
      30_000,
      'the org budget alerts',
    );
    const org = collector.alerts.filter((a) => a.policy_id === 'acme-month');
    assert.deepEqual(
      org.map((a) => [a.rule, a.explanation.match(/past the (\d+)% mark/)?.[1] ?? null, a.severity]),
      [
        ['budget_forecast', null, 'warning'],
        ['budget_threshold', '50', 'info'],
        ['budget_threshold', '80', 'warning'],
        ['budget_threshold', '100', 'critical'],
      ],
    );
    const forecast = org[0]!;
    // Day 3 (0-based): $7.20 spent by 15:01 UTC on day 4 of the month → about $58 by month end.
    assert.equal(forecast.expected, 20_000_000_000);
    assert.ok(forecast.observed > 55e9 && forecast.observed < 60e9, String(forecast.observed));
    assert.match(
      forecast.explanation,
      /At its run-rate so far \(\$7\.20 in 3\.6 days\), org acme will spend about \$5\d\.\d+ in 2026-11/,
    );
    assert.equal(org[1]!.observed, 10_800_000_000);
    assert.equal(org[3]!.observed, 21_600_000_000);
    assert.equal(org[3]!.scope, 'org');
    assert.equal(org[3]!.window_start, NOV);
  });

  it('tracks a customer budget set while running, and stays quiet on a budget on track', async () => {
    await collector.waitFor(
      (alerts) => alerts.filter((a) => a.policy_id === 'acme-c2').length === 3,
      30_000,
      'the customer budget alerts',
    );
    const customer = collector.alerts.filter((a) => a.policy_id === 'acme-c2');
    assert.deepEqual(
      customer.map((a) => [a.rule, a.scope, a.customer_id, a.observed]),
      [
        ['budget_threshold', 'customer', 'c2', 1_500_000_000],
        ['budget_threshold', 'customer', 'c2', 2_400_000_000],
        ['budget_threshold', 'customer', 'c2', 3_000_000_000],
      ],
    );
    assert.deepEqual(
      collector.alerts.filter((a) => a.policy_id === 'acme-search'),
      [],
    );
    assert.equal(collector.alerts.length, 7);
  });
});
