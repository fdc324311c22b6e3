/**
 * Restart safety against the real broker: the detector runs as its own process (main.ts), is killed
 * with SIGKILL while it is working through a stream, and restarted. Anomalies whose events straddle
 * the kill must still be detected (state was restored), and every alert must be published exactly
 * once (state, alerts and offsets commit in one transaction).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Kafka, type PricedEvent, parsePolicy } from '@tollgate/core';
import {
  createTestContext,
  repoRoot,
  skipIntegration,
  type TestContext,
  uniqueId,
} from '@tollgate/test/support';
import { type RunContext, runContext, usage } from './fleet/events.ts';
import { priceUsage } from './fleet/pricing.ts';
import { publishPolicyChanges } from './set-policy.ts';
import { type AlertCollector, collectAlerts, publishClock, publishPriced, waitFor } from './testing.ts';

const T0 = Date.UTC(2026, 10, 3, 9, 0, 0);
const MIN = 60_000;
const PARTITIONS = 3;

let seq = 0;
const id = (run: RunContext) => `${run.run_id}-${++seq}`;

function normalRuns(
  org: string,
  feature: string,
  minute: number,
  count: number,
  model = 'claude-sonnet-4.5',
): PricedEvent[] {
  const events = [];
  for (let r = 0; r < count; r++) {
    const run = runContext({
      run_id: `${org}-${minute}-${r}`,
      org_id: org,
      feature,
      customer_id: `c${r % 4}`,
    });
    const start = T0 + minute * MIN + ((r * 997) % 50_000);
    events.push(usage.runStart(run, id(run), start));
    for (let i = 0; i < 4; i++)
      events.push(
        usage.modelCall(run, id(run), start + 1_000 + i * 2_000, model, {
          input_tokens: 20_000,
          output_tokens: 1_000,
        }),
      );
    events.push(usage.runEnd(run, id(run), start + 9_000, 'success', 9_000));
  }
  return events.map((e) => priceUsage(e));
}

const beta = (name: string) => runContext({ run_id: name, org_id: 'beta', feature: 'agents' });
const loop = beta('loop');
const cost = beta('cost');
const fanout = beta('fanout');
const velocity = beta('velocity');
const toolCalls = (from: number, n: number, minute: number) =>
  Array.from({ length: n }, (_, i) =>
    usage.toolCall(loop, id(loop), T0 + minute * MIN + (from + i) * 1_000, {
      tool_name: 'web_search',
      call_signature: 'same',
    }),
  );
const opusCalls = (run: RunContext, n: number, start: number, gapMs: number) =>
  Array.from({ length: n }, (_, i) =>
    usage.modelCall(run, id(run), start + i * gapMs, 'claude-opus-4.1', {
      input_tokens: 20_000,
      output_tokens: 1_000,
    }),
  );
const spawns = (from: number, n: number, minute: number) =>
  Array.from({ length: n }, (_, i) =>
    usage.spawn(fanout, id(fanout), T0 + minute * MIN + (from + i) * 100, {
      child_agent_id: `a${from + i}`,
      child_agent_name: 'w',
      child_depth: 1,
    }),
  );
const sorted = (events: PricedEvent[]) => events.sort((a, b) => a.usage.event_time - b.usage.event_time);

/** Minutes 0-8: history for acme/search and the first half of the straddling anomalies. */
function phaseA(): PricedEvent[] {
  const events: PricedEvent[] = [];
  for (let m = 0; m < 8; m++) events.push(...normalRuns('acme', 'search', m, 3 + (m % 3)));
  events.push(
    ...[...toolCalls(0, 6, 1), ...opusCalls(cost, 7, T0 + MIN, 40_000), ...spawns(0, 30, 2)].map((e) =>
      priceUsage(e),
    ),
  );
  return sorted(events);
}

/** Minutes 8-10: a burst of other traffic the detector is killed in the middle of, and a fast run. */
function phaseB(): PricedEvent[] {
  const events: PricedEvent[] = [];
  for (let m = 8; m < 10; m++) {
    events.push(...normalRuns('acme', 'search', m, 4));
    events.push(...normalRuns('bulk', 'batch', m, 4_000));
  }
  events.push(...opusCalls(velocity, 10, T0 + 9 * MIN, 3_000).map((e) => priceUsage(e)));
  return sorted(events);
}

/** Minutes 10-16: the second halves, and a model swap on acme/search at minute 13. */
function phaseC(): PricedEvent[] {
  const events: PricedEvent[] = [];
  for (let m = 10; m < 16; m++)
    events.push(
      ...normalRuns('acme', 'search', m, 3 + (m % 3), m === 13 ? 'claude-opus-4.1' : 'claude-sonnet-4.5'),
    );
  events.push(
    ...[...toolCalls(6, 6, 11), ...opusCalls(cost, 7, T0 + 11 * MIN, 40_000), ...spawns(30, 30, 12)].map(
      (e) => priceUsage(e),
    ),
  );
  return sorted(events);
}

interface Child {
  process: ChildProcess;
  exited: Promise<number | null>;
  started: Promise<void>;
}

function spawnDetector(env: Record<string, string>): Child {
  const child = spawn(
    process.execPath,
    ['--disable-warning=TimeoutNegativeWarning', resolve(repoRoot, 'services/detector/src/main.ts')],
    {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const started = new Promise<void>((done, fail) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      if (buffered.includes('"msg":"detector started"')) done();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
    });
    void exited.then((code) =>
      fail(new Error(`detector exited with ${code} before starting:\n${buffered.slice(-4_000)}`)),
    );
  });
  return { process: child, exited, started };
}

/** Committed offsets of the runs stage's group, summed over the priced topic. */
async function committed(kafka: Kafka, groupId: string, topic: string): Promise<bigint> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (offsets?.partitions ?? []).reduce(
      (sum, p) => sum + (p.offset === '-1' ? 0n : BigInt(p.offset)),
      0n,
    );
  } finally {
    await admin.disconnect();
  }
}

async function endOffsets(kafka: Kafka, topic: string): Promise<bigint> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + BigInt(p.high), 0n);
  } finally {
    await admin.disconnect();
  }
}

describe('detector restart', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let collector: AlertCollector;
  let child: Child | undefined;
  let lagAtKill = 0n;
  const group = uniqueId('restart');

  before(async () => {
    ctx = await createTestContext({ partitions: PARTITIONS });
    await ctx.createTopics();
    const env = {
      KAFKA_BROKERS: ctx.brokers.join(','),
      TOPIC_PREFIX: ctx.topics.priced.slice(0, -'tollgate.priced.v1'.length),
      HTTP_PORT: '0',
      LOG_LEVEL: 'info',
      DETECTOR_GROUP_ID: group,
      DETECTOR_WINDOW_MS: String(MIN),
      DETECTOR_ALLOWED_LATENESS_MS: '5000',
      DETECTOR_IDLE_UPSTREAM_MS: '1500',
      DETECTOR_SESSION_TIMEOUT_MS: '6000',
    };
    // beta's feature spend is all anomalies: keep its feature spikes out of this test.
    const quiet = parsePolicy({
      policy_id: 'beta-quiet',
      kind: 'thresholds',
      scope: { org_id: 'beta' },
      feature: { min_window_cost: '1000' },
    });
    assert.ok(quiet.ok);
    await publishPolicyChanges(ctx.kafka, ctx.topics.policies, [{ set: quiet.policy }]);
    collector = await collectAlerts(ctx.kafka, ctx.topics.alerts, ctx.logger);
    child = spawnDetector(env);
    await child.started;

    await publishPriced(ctx.kafka, ctx.topics.priced, phaseA());
    const afterA = await endOffsets(ctx.kafka, ctx.topics.priced);
    await waitFor(
      async () => (await committed(ctx.kafka, `${group}.runs`, ctx.topics.priced)) >= afterA,
      60_000,
      'phase A processed',
    );

    // Kill -9 once the detector is into phase B, while it is still being published.
    const publishing = publishPriced(ctx.kafka, ctx.topics.priced, phaseB());
    await waitFor(
      async () => (await committed(ctx.kafka, `${group}.runs`, ctx.topics.priced)) > afterA,
      60_000,
      'phase B under way',
    );
    child.process.kill('SIGKILL');
    await child.exited;
    await publishing;
    lagAtKill =
      (await endOffsets(ctx.kafka, ctx.topics.priced)) -
      (await committed(ctx.kafka, `${group}.runs`, ctx.topics.priced));

    child = spawnDetector(env);
    await child.started;
    await publishPriced(ctx.kafka, ctx.topics.priced, phaseC());
    await publishClock(ctx.kafka, ctx.topics.priced, PARTITIONS, T0 + 30 * MIN);
  });

  after(async () => {
    child?.process.kill('SIGTERM');
    await child?.exited;
    await collector?.stop();
    await ctx?.cleanup();
  });

  it('was killed mid-stream', () => {
    assert.ok(lagAtKill > 0n, `lag at kill ${lagAtKill}`);
  });

  it('detects anomalies straddling the kill, each exactly once', async () => {
    const expected = [
      'beta/loop/run_loop',
      'beta/cost/run_cost',
      'beta/fanout/run_subagents',
      'beta/velocity/run_velocity',
      'acme/-/feature_spike',
    ];
    const label = (a: { org_id: string; run_id: string | null; rule: string }) =>
      `${a.org_id}/${a.run_id ?? '-'}/${a.rule}`;
    await collector.waitFor(
      (alerts) => expected.every((e) => alerts.some((a) => label(a) === e)),
      120_000,
      'every expected alert',
    );
    await new Promise((done) => setTimeout(done, 3_000));
    assert.deepEqual(collector.alerts.map(label).sort(), [...expected].sort());
    assert.equal(new Set(collector.alerts.map((a) => a.alert_id)).size, collector.alerts.length);
    const spike = collector.alerts.find((a) => a.rule === 'feature_spike')!;
    assert.equal(spike.window_start, T0 + 13 * MIN);
    assert.equal(collector.alerts.find((a) => a.rule === 'run_cost')!.observed, 14 * 375_000_000);
    assert.equal(collector.alerts.find((a) => a.rule === 'run_subagents')!.observed, 50);
  });
});
