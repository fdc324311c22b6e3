/**
 * Every endpoint against real ClickHouse (a fresh database with all migrations, rollups filled by the
 * materialized views): exact figures, org isolation, auth, errors, CSV, and injection attempts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ClickHouse, createRegistry, formatDateTime } from '@tollgate/core';
import { runEventRow } from '@tollgate/sink/rows';
import { runEvent } from '@tollgate/sink/testing';
import { createTestContext, skipIntegration, type TestContext } from '@tollgate/test/support';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { createKeyStore } from './auth.ts';
import { EXPECTED, type FixtureKeys, fixtureKeys, loadFixtures } from './fixtures.ts';

const DAY = 'from=2026-01-15T00:00:00Z&to=2026-01-16T00:00:00Z';

describe('api (real ClickHouse)', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let ch: ClickHouse;
  let app: FastifyInstance;
  let keys: FixtureKeys;

  before(async () => {
    ctx = await createTestContext();
    ch = await ctx.clickhouse();
    await loadFixtures(ch);
    keys = fixtureKeys();
    app = buildApp({
      clickhouse: ch,
      keys: createKeyStore(keys.records),
      logger: ctx.logger,
      registry: createRegistry('api-test'),
    });
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await ctx?.cleanup();
  });

  async function get(
    url: string,
    key: string | null = keys.acmeReader,
    headers: Record<string, string> = {},
  ) {
    const response = await app.inject({
      method: 'GET',
      url,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    });
    return {
      status: response.statusCode,
      body: response.body,
      json: () => response.json(),
      headers: response.headers,
    };
  }

  describe('auth and isolation', () => {
    it('answers 401 without a key or with a wrong one, and accepts x-api-key', async () => {
      const missing = await get(`/v1/allocation?${DAY}`, null);
      assert.equal(missing.status, 401);
      assert.equal(missing.json().error.code, 'TG_AUTH_MISSING');
      const wrong = await get(`/v1/allocation?${DAY}`, 'tg_not-a-key');
      assert.equal(wrong.status, 401);
      assert.equal(wrong.json().error.code, 'TG_AUTH_INVALID');
      const viaHeader = await get(`/v1/allocation?${DAY}`, null, { 'x-api-key': keys.acmeReader });
      assert.equal(viaHeader.status, 200);
    });

    it("shows only the key's org: totals, runs and alerts", async () => {
      const acme = (await get(`/v1/allocation?${DAY}&group_by=org`)).json();
      assert.deepEqual(
        acme.rows.map((row: Record<string, string>) => [row.org, row.cost_nanos]),
        [['acme', EXPECTED.acmeTotalNanos.toString()]],
      );
      const globex = (await get(`/v1/allocation?${DAY}&group_by=org`, keys.globexReader)).json();
      assert.deepEqual(
        globex.rows.map((row: Record<string, string>) => [row.org, row.cost_nanos]),
        [['globex', '9900000000']],
      );
      // a filter naming another org cannot widen the scope
      const sneaky = (await get(`/v1/allocation?${DAY}&org=globex`)).json();
      assert.deepEqual(sneaky.rows, []);
      const alerts = (await get(`/v1/alerts?${DAY}`)).json();
      assert.deepEqual(
        alerts.alerts.map((a: { alert_id: string }) => a.alert_id),
        ['a-acme'],
      );
    });

    it("answers 404 for another org's run, exactly as for a missing run", async () => {
      const other = await get('/v1/runs/run-g/tree');
      assert.equal(other.status, 404);
      assert.equal(other.json().error.code, 'TG_RUN_NOT_FOUND');
      const missing = await get('/v1/runs/no-such-run/tree');
      assert.equal(missing.status, 404);
      assert.equal((await get('/v1/runs/run-g/tree', keys.globexReader)).status, 200);
    });

    it('keeps admin routes from reader keys', async () => {
      const reader = await get('/v1/admin/freshness');
      assert.equal(reader.status, 403);
      assert.equal(reader.json().error.code, 'TG_FORBIDDEN');
      const admin = await get('/v1/admin/freshness', keys.acmeAdmin);
      assert.equal(admin.status, 200);
      assert.equal(admin.json().org_id, 'acme');
      assert.equal(admin.json().lines, 13);
      assert.equal(admin.json().unpriced_lines, 1);
    });
  });

  describe('allocation', () => {
    it('breaks cost down by feature from the rollups, exact to the nano', async () => {
      const body = (await get(`/v1/allocation?${DAY}&group_by=feature`)).json();
      assert.equal(body.source, 'rollup');
      assert.equal(body.truncated, false);
      const byFeature = Object.fromEntries(
        body.rows.map((row: Record<string, string>) => [row.feature, row.cost_nanos]),
      );
      assert.deepEqual(byFeature, {
        search: (EXPECTED.run1Nanos + EXPECTED.run2Nanos).toString(),
        support: EXPECTED.run3Nanos.toString(),
        '': EXPECTED.untaggedNanos.toString(),
      });
      const search = body.rows.find((row: { feature: string }) => row.feature === 'search');
      assert.equal(search.bucket, '2026-01-15T00:00:00Z');
      assert.equal(search.cost, '2.4');
      assert.deepEqual(search.quantities, { token: 2640, vcpu_second: 120.5 });
    });

    it('gives the same answer from line items when the range is not on the hour', async () => {
      const rollup = (await get(`/v1/allocation?${DAY}&group_by=feature,category`)).json();
      const raw = (
        await get(
          '/v1/allocation?from=2026-01-15T00:00:01Z&to=2026-01-15T23:59:59Z&group_by=feature,category',
        )
      ).json();
      assert.equal(raw.source, 'line_items');
      assert.deepEqual(
        raw.rows.map((row: Record<string, unknown>) => ({ ...row })),
        rollup.rows,
      );
    });

    it('groups by hour and by several dimensions, with filters', async () => {
      const body = (await get(`/v1/allocation?${DAY}&grain=hour&group_by=agent,model&feature=search`)).json();
      const cells = body.rows.map(
        (row: Record<string, string>) => `${row.bucket} ${row.agent} ${row.model} ${row.cost_nanos}`,
      );
      assert.deepEqual(cells, [
        '2026-01-15T10:00:00Z planner claude-sonnet-4-5 1500000000',
        '2026-01-15T10:00:00Z worker claude-sonnet-4-5 300000000',
        '2026-01-15T10:00:00Z helper claude-sonnet-4-5 50000000',
        '2026-01-15T11:00:00Z planner gpt-5 400000000',
        '2026-01-15T11:00:00Z worker claude-sonnet-4-5 150000000',
      ]);
    });

    it('filters untagged spend with an empty value and counts unpriced lines apart', async () => {
      const untagged = (await get(`/v1/allocation?${DAY}&feature=`)).json();
      assert.deepEqual(
        untagged.rows.map((row: Record<string, string>) => row.cost_nanos),
        [EXPECTED.untaggedNanos.toString()],
      );
      const support = (await get(`/v1/allocation?${DAY}&feature=support`)).json();
      assert.equal(support.rows[0].lines, 2);
      assert.equal(support.rows[0].unpriced_lines, 1);
      assert.equal(support.rows[0].cost_nanos, '250000000');
    });

    it('groups by a tag key from line items', async () => {
      const body = (await get(`/v1/allocation?${DAY}&group_by=tag:team`)).json();
      assert.equal(body.source, 'line_items');
      const byTeam = Object.fromEntries(
        body.rows.map((row: Record<string, string>) => [row['tag:team'], row.cost_nanos]),
      );
      assert.deepEqual(byTeam, { growth: '2450000000', infra: '50000000', '': '220000000' });
      const filtered = (await get(`/v1/allocation?${DAY}&tag=team=infra`)).json();
      assert.deepEqual(
        filtered.rows.map((row: Record<string, string>) => row.cost_nanos),
        ['50000000'],
      );
    });

    it('serves CSV with a header, one column per quantity unit', async () => {
      const response = await get(`/v1/allocation?${DAY}&group_by=feature&format=csv`);
      assert.equal(response.status, 200);
      assert.match(String(response.headers['content-type']), /^text\/csv/);
      const lines = response.body.trimEnd().split('\r\n');
      assert.equal(
        lines[0],
        'bucket,feature,currency,cost_nanos,cost,lines,unpriced_lines,quantity_token,quantity_vcpu_second',
      );
      assert.ok(
        lines.includes('2026-01-15T00:00:00Z,search,USD,2400000000,2.4,9,0,2640,120.5'),
        response.body,
      );
      const viaAccept = await get(`/v1/allocation?${DAY}`, keys.acmeReader, { accept: 'text/csv' });
      assert.match(String(viaAccept.headers['content-type']), /^text\/csv/);
    });
  });

  describe('runs', () => {
    it('reports cost per successful run by feature with failed runs beside it', async () => {
      const body = (await get(`/v1/runs/cost-per-run?${DAY}`)).json();
      const search = body.features.find((f: { feature: string }) => f.feature === 'search');
      assert.deepEqual(search, {
        feature: 'search',
        currency: 'USD',
        successful_runs: 1,
        failed_runs: 1,
        other_runs: 0,
        successful_cost_nanos: EXPECTED.run1Nanos.toString(),
        failed_cost_nanos: EXPECTED.run2Nanos.toString(),
        other_cost_nanos: '0',
        cost_per_successful_run_nanos: EXPECTED.run1Nanos.toString(),
        cost_per_successful_run: '2',
        all_in_cost_per_successful_run_nanos: (EXPECTED.run1Nanos + EXPECTED.run2Nanos).toString(),
      });
      const support = body.features.find((f: { feature: string }) => f.feature === 'support');
      assert.equal(support.successful_runs, 1);
      assert.equal(support.cost_per_successful_run_nanos, '250000000');
    });

    it('counts a run that started in the month before the range in the month it ended', async () => {
      const source = { topic: 'month-boundary', partition: 0, offset: '0' };
      const run = { org_id: 'acme', run_id: 'run-span', feature: 'month-boundary' };
      const started = runEvent('run_start', {
        ...run,
        event_id: 'span-start',
        event_time: Date.parse('2025-12-31T23:00:00Z'),
      });
      const ended = runEvent(
        'run_end',
        { ...run, event_id: 'span-end', event_time: Date.parse('2026-01-15T01:00:00Z') },
        'success',
      );
      await ch.insert(
        'run_events',
        [started, ended].flatMap((event, i) => {
          const row = runEventRow(event, { ...source, offset: String(i) }, formatDateTime(new Date()));
          return row === undefined ? [] : [row];
        }),
      );
      const inRange = (await get(`/v1/runs/cost-per-run?${DAY}`)).json();
      const span = inRange.features.find((f: { feature: string }) => f.feature === 'month-boundary');
      assert.equal(span?.successful_runs, 1);
      const dayItStarted = (
        await get('/v1/runs/cost-per-run?from=2025-12-31T00:00:00Z&to=2026-01-01T00:00:00Z')
      ).json();
      assert.equal(
        dayItStarted.features.find((f: { feature: string }) => f.feature === 'month-boundary'),
        undefined,
      );
      const tree = (await get('/v1/runs/run-span/tree')).json();
      assert.deepEqual(
        [tree.started_at, tree.ended_at, tree.outcome],
        ['2025-12-31T23:00:00Z', '2026-01-15T01:00:00Z', 'success'],
      );
    });

    it("builds a run's cost tree: exclusive and inclusive cost, fan-out, depth", async () => {
      const tree = (await get('/v1/runs/run-1/tree')).json();
      assert.equal(tree.outcome, 'success');
      assert.equal(tree.feature, 'search');
      assert.equal(tree.started_at, '2026-01-15T10:00:00Z');
      assert.equal(tree.ended_at, '2026-01-15T11:30:00Z');
      assert.deepEqual(tree.total_cost_nanos, { USD: '2000000000' });
      assert.equal(tree.agent_count, 5);
      assert.equal(tree.max_depth, 2);
      assert.equal(tree.max_fan_out, 3);
      const agents = Object.fromEntries(tree.agents.map((a: { agent_id: string }) => [a.agent_id, a]));
      assert.deepEqual(agents.root.children, ['w1', 'w2', 'w3']);
      assert.deepEqual(agents.root.exclusive_cost_nanos, { USD: '1500000000' });
      assert.deepEqual(agents.root.inclusive_cost_nanos, { USD: '2000000000' });
      assert.deepEqual(agents.w1.inclusive_cost_nanos, { USD: '350000000' });
      assert.deepEqual(agents.w1.exclusive_cost_nanos, { USD: '300000000' });
      assert.equal(agents.w1a.depth, 2);
      assert.equal(agents.w1a.parent_agent_id, 'w1');
      // w3 was spawned and never spent: in the tree with no cost
      assert.deepEqual(agents.w3.inclusive_cost_nanos, {});
      assert.equal(agents.w3.fan_out, 0);
      const csv = await get('/v1/runs/run-1/tree?format=csv');
      assert.match(csv.body.split('\r\n')[0] ?? '', /^agent_id,agent_name,parent_agent_id,depth,fan_out/);
    });

    it('lists the costliest runs first', async () => {
      const body = (await get(`/v1/runs/top?${DAY}&limit=2`)).json();
      assert.deepEqual(
        body.runs.map((r: { run_id: string; cost_nanos: string; outcome: string }) => [
          r.run_id,
          r.cost_nanos,
          r.outcome,
        ]),
        [
          ['run-1', '2000000000', 'success'],
          ['run-2', '400000000', 'failure'],
        ],
      );
    });
  });

  describe('spend', () => {
    it('reports untagged spend and where it comes from', async () => {
      const body = (await get(`/v1/spend/untagged?${DAY}`)).json();
      assert.deepEqual(body.currencies[0], {
        currency: 'USD',
        total_cost_nanos: EXPECTED.acmeTotalNanos.toString(),
        without_feature_cost_nanos: '70000000',
        without_customer_cost_nanos: '70000000',
        without_environment_cost_nanos: '70000000',
        untagged_cost_nanos: '70000000',
        without_feature_share: 0.025735,
        without_feature_cost: '0.07',
      });
      assert.deepEqual(body.without_feature_by_source[0], {
        agent: 'rogue',
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        currency: 'USD',
        cost_nanos: '70000000',
        cost: '0.07',
      });
    });

    it('lists unpriced usage by quantity, never as zero cost', async () => {
      const body = (await get(`/v1/spend/unpriced?${DAY}`)).json();
      assert.deepEqual(body.items, [
        {
          provider: 'acme-labs',
          model: 'mystery-model',
          category: 'tokens',
          item: 'output',
          unit: 'token',
          lines: 1,
          events: 1,
          quantity: 42,
          first_seen: '2026-01-15T12:01:00Z',
          last_seen: '2026-01-15T12:01:00Z',
        },
      ]);
    });
  });

  describe('bad input', () => {
    const cases: [string, string, string, string][] = [
      ['unknown group_by', `/v1/allocation?${DAY}&group_by=feature,colour`, 'TG_BAD_PARAMETER', 'group_by'],
      ['bad date', '/v1/allocation?from=yesterday&to=2026-01-16T00:00:00Z', 'TG_BAD_PARAMETER', 'from'],
      [
        'impossible date',
        '/v1/allocation?from=2026-02-30T00:00:00Z&to=2026-03-16T00:00:00Z',
        'TG_BAD_PARAMETER',
        'from',
      ],
      [
        'to before from',
        '/v1/allocation?from=2026-01-16T00:00:00Z&to=2026-01-15T00:00:00Z',
        'TG_BAD_PARAMETER',
        'to',
      ],
      [
        'range too large',
        '/v1/allocation?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z&grain=hour',
        'TG_RANGE_TOO_LARGE',
        'to',
      ],
      ['missing to', '/v1/allocation?from=2026-01-01T00:00:00Z', 'TG_BAD_PARAMETER', 'to'],
      ['unknown parameter', `/v1/allocation?${DAY}&colour=red`, 'TG_BAD_PARAMETER', 'colour'],
      ['bad grain', `/v1/allocation?${DAY}&grain=minute`, 'TG_BAD_PARAMETER', 'grain'],
      ['limit too large', `/v1/runs/top?${DAY}&limit=100000`, 'TG_BAD_PARAMETER', 'limit'],
      ['two tag keys', `/v1/allocation?${DAY}&group_by=tag:a,tag:b`, 'TG_BAD_PARAMETER', 'group_by'],
    ];
    for (const [name, url, code, parameter] of cases) {
      it(`answers 400 naming the parameter: ${name}`, async () => {
        const response = await get(url);
        assert.equal(response.status, 400, response.body);
        const error = response.json().error;
        assert.equal(error.code, code);
        assert.equal(error.parameter, parameter);
        assert.ok(error.reason.length > 0);
      });
    }

    it('says a missing parameter is required, in words', async () => {
      const response = await get('/v1/allocation?from=2026-01-01T00:00:00Z');
      assert.equal(response.json().error.message, 'to: is required');
    });

    it('answers unknown routes with a stable code', async () => {
      const response = await get('/v1/nothing-here');
      assert.equal(response.status, 404);
      assert.equal(response.json().error.code, 'TG_ROUTE_NOT_FOUND');
    });
  });

  describe('injection attempts are harmless', () => {
    const attempts = [
      "' OR 1=1 --",
      "search' OR org_id != 'acme",
      "\\' OR 1=1 --",
      "x'); DROP TABLE line_items; --",
      'search\u0000',
    ];
    for (const value of attempts) {
      it(`treats ${JSON.stringify(value)} as a plain value`, async () => {
        const filtered = await get(`/v1/allocation?${DAY}&feature=${encodeURIComponent(value)}`);
        assert.equal(filtered.status, 200, filtered.body);
        assert.deepEqual(filtered.json().rows, []);
        // As a tag key: no event has it, so all spend falls under '' (a control character is refused).
        const tagged = await get(`/v1/allocation?${DAY}&group_by=${encodeURIComponent(`tag:${value}`)}`);
        if (value.includes('\u0000')) {
          assert.equal(tagged.status, 400, tagged.body);
          assert.equal(tagged.json().error.parameter, 'group_by');
        } else {
          assert.equal(tagged.status, 200, tagged.body);
          assert.deepEqual(
            tagged.json().rows.map((row: { cost_nanos: string }) => row.cost_nanos),
            [EXPECTED.acmeTotalNanos.toString()],
          );
        }
        const run = await get(`/v1/runs/${encodeURIComponent(value)}/tree`);
        assert.equal(run.status, 404, run.body);
      });
    }

    it('rejects identifiers smuggled into group_by, and the tables are intact', async () => {
      const response = await get(
        `/v1/allocation?${DAY}&group_by=${encodeURIComponent('feature) FROM system.tables --')}`,
      );
      assert.equal(response.status, 400);
      assert.equal(response.json().error.parameter, 'group_by');
      const [row] = await ch.rows<{ n: string }>(
        "SELECT count() AS n FROM line_items WHERE org_id = 'globex'",
      );
      assert.equal(row?.n, '2');
    });
  });

  describe('operations', () => {
    it('serves the OpenAPI document with every route', async () => {
      const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
      assert.equal(doc.openapi, '3.0.3');
      for (const path of [
        '/v1/allocation',
        '/v1/runs/cost-per-run',
        '/v1/runs/top',
        '/v1/runs/{run_id}/tree',
        '/v1/spend/untagged',
        '/v1/spend/unpriced',
        '/v1/alerts',
        '/v1/admin/freshness',
      ])
        assert.ok(doc.paths[path], `${path} documented`);
      assert.ok(
        doc.paths['/v1/allocation'].get.parameters.some((p: { name: string }) => p.name === 'group_by'),
      );
    });

    it('serves /healthz, /readyz and /metrics without a key', async () => {
      assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
      const metrics = await app.inject({ method: 'GET', url: '/metrics' });
      assert.match(metrics.body, /tollgate_api_requests_total\{route="\/v1\/allocation",status="200"/);
    });
  });
});
