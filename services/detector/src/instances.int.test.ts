/**
 * Two detector instances of one deployment (same group and transactional ids) share every stage's
 * partitions: each does part of the work, together they alert exactly once, and when one stops the
 * other takes its partitions over with their state.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type PricedEvent, parsePolicy } from '@tollgate/core';
import { createTestContext, skipIntegration, type TestContext, uniqueId } from '@tollgate/test/support';
import { type RunContext, runContext, usage } from './fleet/events.ts';
import { priceUsage } from './fleet/pricing.ts';
import { publishPolicyChanges } from './set-policy.ts';
import {
  type AlertCollector,
  collectAlerts,
  counterValue,
  publishClock,
  publishPriced,
  type RunningDetector,
  startDetector,
  testSettings,
  waitFor,
} from './testing.ts';

const T0 = Date.UTC(2026, 10, 4, 9, 0, 0);
const MIN = 60_000;
const PARTITIONS = 3;
const RUNS = 12;

let seq = 0;
const id = (run: RunContext) => `${run.run_id}-${++seq}`;
const loopRun = (n: number) => runContext({ run_id: `loop-${n}`, org_id: `org-${n % 4}`, feature: 'agents' });
/** `count` identical tool calls of run n, starting at call `from`. */
const loopCalls = (n: number, from: number, count: number, minute: number): PricedEvent[] =>
  Array.from({ length: count }, (_, i) =>
    priceUsage(
      usage.toolCall(loopRun(n), id(loopRun(n)), T0 + minute * MIN + (from + i) * 1_000, {
        tool_name: 'web_search',
        call_signature: 'same',
      }),
    ),
  );

function features(minutes: number[], spikeMinute: number): PricedEvent[] {
  const events: PricedEvent[] = [];
  for (const m of minutes)
    for (const feature of ['search', 'chat', 'docs', 'code'])
      for (let r = 0; r < 4; r++) {
        const run = runContext({ run_id: `${feature}-${m}-${r}`, org_id: 'acme', feature });
        const model = m === spikeMinute && feature === 'docs' ? 'claude-opus-4.1' : 'claude-sonnet-4.5';
        for (let i = 0; i < 4; i++)
          events.push(
            priceUsage(
              usage.modelCall(run, id(run), T0 + m * MIN + r * 9_000 + i * 1_000, model, {
                input_tokens: 20_000,
                output_tokens: 1_000,
              }),
            ),
          );
      }
  return events;
}

describe('two detector instances', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let first: RunningDetector;
  let second: RunningDetector;
  let collector: AlertCollector;
  let firstStopped = false;

  before(async () => {
    ctx = await createTestContext({ partitions: PARTITIONS });
    await ctx.createTopics();
    const quiet = parsePolicy({
      policy_id: 'quiet',
      kind: 'thresholds',
      scope: { org_id: '*' },
      feature: { min_window_cost: '1000' },
    });
    const acme = parsePolicy({
      policy_id: 'acme',
      kind: 'thresholds',
      scope: { org_id: 'acme' },
      feature: { min_window_cost: '1' },
    });
    assert.ok(quiet.ok && acme.ok);
    await publishPolicyChanges(ctx.kafka, ctx.topics.policies, [{ set: quiet.policy }, { set: acme.policy }]);
    const settings = testSettings(uniqueId('pair'));
    first = await startDetector({ kafka: ctx.kafka, logger: ctx.logger, topics: ctx.topics, settings });
    second = await startDetector({ kafka: ctx.kafka, logger: ctx.logger, topics: ctx.topics, settings });
    await waitFor(
      () =>
        (['runs', 'features', 'budgets'] as const).every(
          (stage) =>
            first.detector.stages[stage].assignment().length +
              second.detector.stages[stage].assignment().length ===
            PARTITIONS,
        ) &&
        first.detector.stages.runs.assignment().length > 0 &&
        second.detector.stages.runs.assignment().length > 0,
      60_000,
      'partitions split between the instances',
    );
    collector = await collectAlerts(ctx.kafka, ctx.topics.alerts, ctx.logger);
  });

  after(async () => {
    await collector?.stop();
    if (!firstStopped) await first?.stop();
    await second?.stop();
    await ctx?.cleanup();
  });

  it('share the partitions and alert exactly once between them', async () => {
    const events = [...features([0, 1, 2, 3, 4, 5, 6, 7, 8], 8)];
    for (let n = 0; n < RUNS; n++) events.push(...loopCalls(n, 0, 12, 1));
    // Runs 100+ loop 6 times now and 6 times after the hand-over: their counts must survive it.
    for (let n = 100; n < 100 + RUNS; n++) events.push(...loopCalls(n, 0, 6, 2));
    await publishPriced(
      ctx.kafka,
      ctx.topics.priced,
      events.sort((a, b) => a.usage.event_time - b.usage.event_time),
    );
    await publishClock(ctx.kafka, ctx.topics.priced, PARTITIONS, T0 + 10 * MIN);
    await collector.waitFor(
      (alerts) => alerts.length >= RUNS + 1,
      60_000,
      'a loop alert per run and the spike',
    );
    const total = events.length + PARTITIONS;
    await waitFor(
      async () =>
        (await counterValue(first.registry, 'tollgate_detector_events_total', { stage: 'runs' })) +
          (await counterValue(second.registry, 'tollgate_detector_events_total', { stage: 'runs' })) ===
        total,
      30_000,
      'every event processed once',
    );
    await new Promise((done) => setTimeout(done, 2_000));
    assert.equal(collector.alerts.filter((a) => a.rule === 'run_loop').length, RUNS);
    assert.deepEqual(
      collector.alerts.filter((a) => a.rule === 'feature_spike').map((a) => [a.feature, a.window_start]),
      [['docs', T0 + 8 * MIN]],
    );
    assert.equal(new Set(collector.alerts.map((a) => a.alert_id)).size, collector.alerts.length);
    const processed = [
      await counterValue(first.registry, 'tollgate_detector_events_total', { stage: 'runs' }),
      await counterValue(second.registry, 'tollgate_detector_events_total', { stage: 'runs' }),
    ];
    assert.ok(
      processed.every((n) => n > 0),
      `events per instance: ${processed}`,
    );
  });

  it('hand partitions and state over when one instance stops', async () => {
    await first.stop();
    firstStopped = true;
    await waitFor(
      () => second.detector.stages.runs.assignment().length === PARTITIONS,
      60_000,
      'the second instance to take over',
    );
    const before = collector.alerts.length;
    await publishPriced(
      ctx.kafka,
      ctx.topics.priced,
      Array.from({ length: RUNS }, (_, n) => loopCalls(100 + n, 6, 6, 12)).flat(),
    );
    await collector.waitFor(
      (alerts) => alerts.length >= before + RUNS,
      60_000,
      'loop alerts after the hand-over',
    );
    await new Promise((done) => setTimeout(done, 2_000));
    const handedOver = collector.alerts.filter(
      (a) => a.rule === 'run_loop' && Number(a.run_id?.slice('loop-'.length)) >= 100,
    );
    assert.equal(handedOver.length, RUNS);
    assert.equal(new Set(collector.alerts.map((a) => a.alert_id)).size, collector.alerts.length);
  });
});
