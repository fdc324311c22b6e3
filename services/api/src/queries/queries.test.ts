/** The SQL builders, tested on their text: org first, values only as escaped literals, allow-listed identifiers. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AllocationSpec } from './allocation.ts';
import { allocationQuery, allocationSource } from './allocation.ts';
import { costPerRunQuery, runAgentsQuery, runSpawnsQuery, topRunsQuery } from './runs.ts';
import { alertsQuery, unpricedQuery, untaggedTotalsQuery } from './spend.ts';

const range = { from: new Date('2026-01-15T00:00:00Z'), to: new Date('2026-01-16T00:00:00Z') };
const spec = (overrides: Partial<AllocationSpec> = {}): AllocationSpec => ({
  orgId: 'acme',
  range,
  grain: 'day',
  groupBy: [{ kind: 'dimension', dimension: 'feature' }],
  filters: { dimensions: {}, tags: {} },
  limit: 100,
  ...overrides,
});

describe('allocationQuery', () => {
  it('reads the hourly rollup for an hour-aligned range without tags', () => {
    const { query, source } = allocationQuery(
      spec({ groupBy: [{ kind: 'dimension', dimension: 'customer' }] }),
    );
    assert.equal(source, 'rollup');
    assert.equal(
      query.text,
      "SELECT bucket, `customer`, currency, toString(sum(c)) AS cost_nanos, toString(sum(l)) AS lines, toString(sum(u)) AS unpriced_lines, groupArray(unit) AS units, groupArray(q) AS quantities FROM (SELECT toStartOfDay(`hour`) AS bucket, `customer_id` AS `customer`, currency, unit, sum(cost_nanos) AS c, sum(lines) AS l, sum(unpriced_lines) AS u, sum(quantity) AS q FROM line_items_by_attribution_hourly WHERE org_id = 'acme' AND `hour` >= toDateTime('2026-01-15 00:00:00', 'UTC') AND `hour` < toDateTime('2026-01-16 00:00:00', 'UTC') GROUP BY bucket, `customer`, currency, unit) GROUP BY bucket, `customer`, currency ORDER BY bucket, sum(c) DESC, `customer`, currency LIMIT 101",
    );
  });

  it('reads line items when a tag is involved or the range is not on the hour', () => {
    assert.equal(allocationSource(spec({ groupBy: [{ kind: 'tag', key: 'team' }] })), 'line_items');
    assert.equal(
      allocationSource(spec({ filters: { dimensions: {}, tags: { team: ['a'] } } })),
      'line_items',
    );
    assert.equal(
      allocationSource(spec({ range: { from: new Date('2026-01-15T00:30:00Z'), to: range.to } })),
      'line_items',
    );
    const { query } = allocationQuery(spec({ grain: 'hour', groupBy: [{ kind: 'tag', key: 'team' }] }));
    assert.match(
      query.text,
      /SELECT toStartOfHour\(`event_time`\) AS bucket, tag_values\[indexOf\(tag_keys, 'team'\)\] AS `tag`/,
    );
    assert.match(query.text, /countIf\(adjustment_of = '' AND priced = 0\) AS u/);
    assert.match(query.text, / FROM line_items WHERE org_id = 'acme' AND `event_time` >= /);
  });

  it('renders filter values and tag keys as escaped literals only', () => {
    const { query } = allocationQuery(
      spec({
        groupBy: [{ kind: 'tag', key: "k' OR '1'='1" }],
        filters: { dimensions: { feature: ["x' OR 1=1 --", ''] }, tags: { "t\\'": ['v'] } },
      }),
    );
    assert.ok(query.text.includes("tag_values[indexOf(tag_keys, 'k\\' OR \\'1\\'=\\'1')] AS `tag`"));
    assert.ok(query.text.includes("`feature` IN ('x\\' OR 1=1 --', '')"));
    assert.ok(query.text.includes("tag_values[indexOf(tag_keys, 't\\\\\\'')] IN ('v')"));
    // the org condition comes first and cannot be closed by a value
    assert.ok(query.text.includes("WHERE org_id = 'acme' AND"));
  });
});

describe('run queries', () => {
  it('confines every run query to the org and escapes the run id', () => {
    const runId = "r' OR org_id != '";
    for (const query of [runAgentsQuery('acme', runId), runSpawnsQuery('acme', runId)]) {
      assert.ok(
        query.text.includes("WHERE org_id = 'acme' AND run_id = 'r\\' OR org_id != \\''"),
        query.text,
      );
    }
  });

  it('joins run outcomes to run costs for runs that ended within the range', () => {
    const text = costPerRunQuery({ orgId: 'acme', range, features: ['search'] }).text;
    assert.ok(text.startsWith('SELECT run_feature AS feature, run_outcome AS outcome, currency'));
    assert.ok(
      text.includes(
        "HAVING run_ended >= toDateTime('2026-01-15 00:00:00', 'UTC') AND run_ended < toDateTime('2026-01-16 00:00:00', 'UTC') AND `run_feature` IN ('search')",
      ),
    );
    assert.ok(text.includes('ALL LEFT JOIN'));
    // only runs with a row in a month the range touches are folded
    assert.ok(
      text.includes(
        "run_id IN (SELECT run_id FROM runs_monthly WHERE org_id = 'acme' AND month >= toStartOfMonth(toDateTime('2026-01-15 00:00:00', 'UTC')) AND month <= toDate(toDateTime('2026-01-16 00:00:00', 'UTC')))",
      ),
    );
    // the run state (twice: rows and costs' run ids, each with its month prefilter) and the costs
    assert.equal((text.match(/org_id = 'acme'/g) ?? []).length, 5);
  });

  it('orders top runs by exact cost and never aliases a column name', () => {
    const text = topRunsQuery({ orgId: 'acme', range, limit: 5 }).text;
    assert.ok(text.includes('ORDER BY run_cost DESC, run_id LIMIT 5'));
    assert.doesNotMatch(text, /AS cost_nanos|AS lines|AS feature\b/);
  });
});

describe('spend queries', () => {
  it('sums untagged spend per currency from the rollup', () => {
    assert.equal(
      untaggedTotalsQuery('acme', range).text,
      "SELECT currency, toString(sum(cost_nanos)) AS total_nanos, toString(sumIf(cost_nanos, feature = '')) AS without_feature_nanos, toString(sumIf(cost_nanos, customer_id = '')) AS without_customer_nanos, toString(sumIf(cost_nanos, environment = '')) AS without_environment_nanos, toString(sumIf(cost_nanos, feature = '' AND customer_id = '' AND environment = '')) AS untagged_nanos FROM line_items_by_attribution_hourly WHERE org_id = 'acme' AND `hour` >= toDateTime('2026-01-15 00:00:00', 'UTC') AND `hour` < toDateTime('2026-01-16 00:00:00', 'UTC') GROUP BY currency ORDER BY currency",
    );
  });

  it('reads unpriced lines (not restatements) from line items', () => {
    const text = unpricedQuery('acme', range, 10).text;
    assert.ok(text.includes("AND priced = 0 AND adjustment_of = ''"));
    assert.ok(text.endsWith('LIMIT 10'));
  });

  it('filters alerts by severity with literals', () => {
    const text = alertsQuery('acme', range, ['critical'], 5).text;
    assert.ok(text.includes("FROM alerts FINAL WHERE org_id = 'acme' AND detected_at >= "));
    assert.ok(text.includes("AND severity IN ('critical')"));
  });
});
