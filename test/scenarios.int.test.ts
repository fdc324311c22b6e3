/**
 * The three field scenarios of the design, against the real pipeline: the simulator drives the real
 * SDK into Kafka; the pricer, sink and detector run as the processes `tollgate up` starts; the
 * figures are read through the API, as a user reads them. Every expected figure is computed here
 * from what the simulator sent (its ledger) and list prices written out in support/expected.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildApp, createKeyStore, generateApiKey } from '@tollgate/api';
import {
  type ClickHouse,
  createRandom,
  createRegistry,
  loadRateCardFile,
  silentLogger,
} from '@tollgate/core';
import { publishPolicyChanges } from '@tollgate/detector/set-policy';
import type { Meter } from '@tollgate/sdk';
import type { FastifyInstance } from 'fastify';
import { executePlans } from '../services/cli/src/simulate/execute.ts';
import { createSimulationMeter, type RunLedger } from '../services/cli/src/simulate/index.ts';
import { fanoutFleet, hiddenCostsFleet, sharedKeyFleet } from '../services/cli/src/simulate/presets.ts';
import { costBy, costlyEvents, ledgerCost } from './support/expected.ts';
import { createTestContext, repoRoot, skipIntegration, type TestContext, uniqueId } from './support/index.ts';
import { eventually, type Pipeline, startPipeline } from './support/pipeline.ts';

const HOUR_MS = 3_600_000;

describe('field scenarios', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let pipeline: Pipeline;
  let ch: ClickHouse;
  let meter: Meter;
  let app: FastifyInstance;
  const keys = new Map<string, string>();
  let sentCostly = 0;
  const nonce = uniqueId('s');
  const range = () => {
    const from = new Date(Math.floor((Date.now() - 2 * HOUR_MS) / HOUR_MS) * HOUR_MS).toISOString();
    const to = new Date(Math.ceil((Date.now() + 1) / HOUR_MS) * HOUR_MS).toISOString();
    return `from=${from}&to=${to}`;
  };

  /** GET as the org's key; ranged endpoints get the test's time range. */
  async function api<T>(org: string, path: string): Promise<T> {
    const ranged = !path.includes('/tree');
    const response = await app.inject({
      method: 'GET',
      url: ranged ? `${path}${path.includes('?') ? '&' : '?'}${range()}` : path,
      headers: { authorization: `Bearer ${keys.get(org)}` },
    });
    assert.equal(response.statusCode, 200, `${path}: ${response.body}`);
    return response.json() as T;
  }

  /**
   * Sends plans through the SDK and waits until every costly event is a line item in ClickHouse and
   * both rollups the API reads have counted every line. (ClickHouse writes an insert's block into
   * line_items before it runs the materialized views: for a moment a row is visible there and not yet
   * in the rollups.)
   */
  async function send(plans: Parameters<typeof executePlans>[0]['plans']): Promise<RunLedger[]> {
    const ledgers = await executePlans({ meter, plans, concurrency: 8 });
    await meter.flush();
    sentCostly += costlyEvents(ledgers);
    let seen = {};
    await eventually(
      async () => {
        const [row] = await ch.rows<{ events: string; lines: string; attribution: string; runs: string }>(
          `SELECT
             (SELECT toString(uniqExact(event_id)) FROM line_items) AS events,
             (SELECT toString(count()) FROM line_items) AS lines,
             (SELECT toString(sum(lines)) FROM line_items_by_attribution_hourly) AS attribution,
             (SELECT toString(sum(lines)) FROM line_items_by_run_agent_hourly) AS runs`,
        );
        seen = row ?? {};
        return (
          row !== undefined &&
          Number(row.events) >= sentCostly &&
          row.attribution === row.lines &&
          row.runs === row.lines
        );
      },
      {
        timeoutMs: 120_000,
        describe: () =>
          `line items short of ${sentCostly} events: ${JSON.stringify(seen)}\n${pipeline.logs(15)}`,
      },
    );
    return ledgers;
  }

  interface AllocationRow {
    cost_nanos: string;
    [dimension: string]: unknown;
  }
  const total = (rows: AllocationRow[], where: (row: AllocationRow) => boolean = () => true) =>
    rows.filter(where).reduce((sum, row) => sum + BigInt(row.cost_nanos), 0n);

  before(async () => {
    ctx = await createTestContext({ partitions: 3 });
    await ctx.createTopics();
    ch = await ctx.clickhouse();
    // The fan-out team's threshold: a research run over $1.00 is worth a look.
    await publishPolicyChanges(ctx.kafka, ctx.topics.policies, [
      {
        set: {
          policy_id: 'initech-research',
          kind: 'thresholds',
          scope: { org_id: 'initech', feature: 'research' },
          currency: 'USD',
          run: { cost_per_run: '1.00' },
          feature: {},
        },
      },
    ]);
    pipeline = await startPipeline(ctx, { services: ['pricer', 'sink', 'detector'] });
    const card = await loadRateCardFile(`${repoRoot}/ratecards/default.yaml`);
    meter = createSimulationMeter({ brokers: ctx.brokers, topic: ctx.topics.usage, card });
    const generated = ['acme', 'initech', 'globex'].map((org) => ({
      org,
      ...generateApiKey(org, org, 'reader'),
    }));
    for (const g of generated) keys.set(g.org, g.key);
    app = buildApp({
      clickhouse: ch,
      keys: createKeyStore(generated.map((g) => g.record)),
      logger: silentLogger(),
      registry: createRegistry('scenario-test'),
    });
  });

  after(async () => {
    await meter?.close();
    await app?.close();
    await pipeline?.stop();
    await ctx?.cleanup();
  });

  it('1. shared key, untagged fleet: tagging names the product line behind two thirds of spend; a ceiling stops its loop', async () => {
    const options = { random: createRandom(101), nonce, orgs: [], features: [], runs: 20 };
    const untagged = await send(sharedKeyFleet(options, { tagged: false }));
    const before = await api<{
      currencies: { total_cost_nanos: string; untagged_cost_nanos: string; without_feature_share: number }[];
    }>('acme', '/v1/spend/untagged');
    const untaggedExpected = untagged.reduce((sum, l) => sum + ledgerCost(l), 0n);
    assert.equal(
      BigInt(before.currencies[0]!.untagged_cost_nanos),
      untaggedExpected,
      'untagged spend to the nano',
    );
    assert.equal(before.currencies[0]!.without_feature_share, 1, 'before tagging, all spend is untagged');

    const tagged = await send(sharedKeyFleet(options, { tagged: true }));
    const byFeature = await api<{ rows: AllocationRow[] }>('acme', '/v1/allocation?group_by=feature');
    const expected = costBy(tagged, (l) => l.plan.feature ?? '');
    const taggedTotal = total(byFeature.rows, (row) => row.feature !== '');
    const features = [...new Set(byFeature.rows.map((row) => String(row.feature)).filter(Boolean))];
    const top = features.sort((a, b) =>
      Number(total(byFeature.rows, (r) => r.feature === b) - total(byFeature.rows, (r) => r.feature === a)),
    )[0];
    assert.equal(top, 'support-bot', 'the breakdown names the product line that drives spend');
    for (const feature of features) {
      assert.equal(
        total(byFeature.rows, (r) => r.feature === feature),
        expected.get(feature),
        `${feature} to the nano`,
      );
    }
    const share =
      Number((total(byFeature.rows, (r) => r.feature === 'support-bot') * 1000n) / taggedTotal) / 1000;
    assert.ok(share > 0.6 && share < 0.75, `support-bot drives about two thirds of tagged spend (${share})`);

    // The loop: 200 identical turns planned, stopped by the $2.00 per-run ceiling.
    const loop = tagged.find((l) => l.plan.label === 'loop')!;
    assert.ok(
      loop.skipped.length > 0 && loop.skipped[0]!.reason === 'refused by ceiling cost_per_run',
      'the ceiling refused a call',
    );
    assert.ok(
      loop.sent.length < loop.plan.actions.length / 2,
      `the loop stopped early (${loop.sent.length} of ${loop.plan.actions.length})`,
    );
    const tree = await api<{ total_cost_nanos: Record<string, string> }>(
      'acme',
      `/v1/runs/${loop.plan.runId}/tree`,
    );
    const loopCost = BigInt(tree.total_cost_nanos.USD ?? '-1');
    assert.equal(loopCost, ledgerCost(loop), 'the loop run cost what it sent, to the nano');
    assert.ok(loopCost <= 2_000_000_000n, `no spend past the ceiling ($${Number(loopCost) / 1e9})`);
  });

  it('2. fan-out: 400 workers asked, the ceiling grants 25, a cost-per-run alert fires while the feature total stays calm', async () => {
    const plans = fanoutFleet(
      { random: createRandom(202), nonce, orgs: [], features: [], runs: 250 },
      { workers: 400, ceiling: 25 },
    );
    const ledgers = await send(plans);
    const fanout = ledgers.find((l) => l.plan.label === 'fanout')!;
    assert.deepEqual(
      [...fanout.granted.values()],
      [25],
      'spawnMany(400) was granted the 25 the ceiling allows',
    );
    assert.equal(fanout.outcome, 'success', 'the run completed with the smaller batch');
    assert.equal(fanout.skipped.length, 375 * 3, 'work of the 375 workers never started');

    // run_end carries no cost: wait for the run's outcome to be stored too.
    let tree = { agent_count: 0, max_fan_out: 0, outcome: null as string | null };
    await eventually(
      async () => {
        tree = await api<typeof tree>('initech', `/v1/runs/${fanout.plan.runId}/tree`);
        return tree.outcome !== null;
      },
      { timeoutMs: 30_000, describe: () => `fan-out run has no outcome yet: ${JSON.stringify(tree)}` },
    );
    assert.equal(tree.max_fan_out, 25);
    assert.equal(tree.agent_count, 26, 'the root and its 25 workers');
    assert.equal(tree.outcome, 'success');

    type Alert = {
      rule: string;
      scope: string;
      run_id: string | null;
      feature: string | null;
      observed: number;
    };
    let alerts: Alert[] = [];
    await eventually(
      async () => {
        alerts = (await api<{ alerts: Alert[] }>('initech', '/v1/alerts')).alerts;
        return alerts.some((a) => a.rule === 'run_cost' && a.run_id === fanout.plan.runId);
      },
      {
        timeoutMs: 60_000,
        describe: () => `no run_cost alert for the fan-out run: ${JSON.stringify(alerts.map((a) => a.rule))}`,
      },
    );
    const fanoutCost = ledgerCost(fanout);
    const day = await api<{ rows: AllocationRow[] }>('initech', '/v1/allocation?group_by=feature&grain=day');
    const research = total(day.rows, (r) => r.feature === 'research');
    assert.equal(
      research,
      ledgers.reduce((sum, l) => sum + ledgerCost(l), 0n),
      'research spend to the nano',
    );
    assert.ok(
      fanoutCost * 10n < research,
      `the fan-out run is under a tenth of the feature's day (${fanoutCost} of ${research})`,
    );
    assert.equal(
      alerts.filter((a) => a.scope === 'feature').length,
      0,
      'no feature-level alert: the daily total looks calm',
    );
    assert.ok(
      ledgers.filter((l) => l !== fanout).every((l) => ledgerCost(l) < 1_000_000_000n),
      'no ordinary run crosses the $1.00 threshold',
    );
    assert.equal(
      alerts.filter((a) => a.rule === 'run_cost').length,
      1,
      'exactly one run_cost alert: the fan-out run',
    );
  });

  it('3. hidden costs: caching halves token spend while idle sandboxes and per-query retrieval dominate; idle sandboxes are flagged', async () => {
    const ledgers = await send(
      hiddenCostsFleet({ random: createRandom(303), nonce, orgs: [], features: [], runs: 15 }),
    );
    const byPhase = await api<{ rows: AllocationRow[] }>(
      'globex',
      '/v1/allocation?group_by=category,tag:phase',
    );
    const expected = costBy(ledgers, (l, category) => `${category}/${l.plan.tags?.phase}`);
    const cost = (category: string, phase?: string) =>
      total(
        byPhase.rows,
        (r) => r.category === category && (phase === undefined || r['tag:phase'] === phase),
      );
    for (const [key, nanos] of expected) {
      const [category, phase] = key.split('/');
      assert.equal(cost(category!, phase), nanos, `${key} to the nano`);
    }
    const ratio = Number(cost('tokens', 'after-cache')) / Number(cost('tokens', 'before-cache'));
    assert.ok(
      ratio > 0.4 && ratio < 0.6,
      `caching about halves token spend (after/before = ${ratio.toFixed(2)})`,
    );
    assert.ok(cost('sandbox') > cost('tokens'), 'sandboxes cost more than tokens');
    assert.ok(cost('retrieval') > cost('tokens'), 'retrieval costs more than tokens');

    const idleRuns = new Set(
      ledgers.filter((l) => l.plan.tags?.phase === 'after-cache').map((l) => l.plan.runId),
    );
    let flagged = new Set<string>();
    await eventually(
      async () => {
        const { alerts } = await api<{ alerts: { rule: string; run_id: string | null }[] }>(
          'globex',
          '/v1/alerts',
        );
        flagged = new Set(alerts.filter((a) => a.rule === 'run_idle_sandbox').map((a) => a.run_id ?? ''));
        return flagged.size >= idleRuns.size;
      },
      { timeoutMs: 60_000, describe: () => `idle sandboxes flagged: ${flagged.size} of ${idleRuns.size}` },
    );
    assert.deepEqual(
      [...flagged].sort(),
      [...idleRuns].sort(),
      'every sandbox left running is flagged, and only those',
    );
  });
});
