/**
 * Run queries: cost per run by feature and outcome, one run's cost tree, top runs. They read
 * `runs_monthly` (outcome per run, folded by runs_monthly_mv) and line_items_by_run_agent_hourly (cost per run and
 * agent, keyed so one run is an index range).
 *
 * Aliases never repeat a column name (`run_*`, `agent_*`): ClickHouse substitutes an alias wherever its
 * name appears, so `toString(sum(cost_nanos)) AS cost_nanos` breaks any other `sum(cost_nanos)`, and
 * `maxMerge(feature) AS feature` is a cyclic alias.
 */
import { join, raw, type Sql, sql } from '@tollgate/core';
import type { TimeRange } from '../params.ts';
import { column, inList } from './common.ts';

const RUN_STATE = raw(
  'maxMerge(feature) AS run_feature, maxMerge(customer_id) AS run_customer, maxMerge(environment) AS run_environment, minIfMerge(started_at) AS run_started, maxIfMerge(ended_at) AS run_ended, argMaxIfMerge(outcome) AS run_outcome',
);

/**
 * Runs that ended within the range, by feature, outcome and currency, with their total cost. A run's
 * cost is all of its cost, whenever it was incurred. Runs without cost have currency ''.
 */
export function costPerRunQuery({
  orgId,
  range,
  features,
}: {
  orgId: string;
  range: TimeRange;
  features?: string[];
}): Sql {
  const having: Sql[] = [sql`run_ended >= ${range.from}`, sql`run_ended < ${range.to}`];
  if (features && features.length > 0) having.push(inList(column('run_feature'), features));
  // A run that ended in the range has its run_end in a month the range touches: only those runs are
  // folded (all of their months), not every run the org ever had.
  const ending = sql`SELECT run_id FROM runs_monthly WHERE org_id = ${orgId} AND month >= toStartOfMonth(${range.from}) AND month <= toDate(${range.to})`;
  const runs = sql`SELECT run_id, ${RUN_STATE} FROM runs_monthly WHERE org_id = ${orgId} AND run_id IN (${ending}) GROUP BY run_id HAVING ${join(having, ' AND ')}`;
  const costs = sql`SELECT run_id, currency, sum(cost_nanos) AS run_cost FROM line_items_by_run_agent_hourly WHERE org_id = ${orgId} AND run_id IN (SELECT run_id FROM (${runs})) GROUP BY run_id, currency`;
  return sql`SELECT run_feature AS feature, run_outcome AS outcome, currency, toString(count()) AS runs, toString(sum(run_cost)) AS cost_nanos FROM (${runs}) AS run_state ALL LEFT JOIN (${costs}) AS run_costs USING run_id GROUP BY feature, outcome, currency ORDER BY feature, outcome, currency`;
}

export function runSummaryQuery(orgId: string, runId: string): Sql {
  return sql`SELECT run_id, ${RUN_STATE} FROM runs_monthly WHERE org_id = ${orgId} AND run_id = ${runId} GROUP BY run_id`;
}

/** Cost per agent of one run (exclusive: the agent's own lines). */
export function runAgentsQuery(orgId: string, runId: string): Sql {
  return sql`SELECT agent_id, parent_agent_id, agent_name, agent_depth, currency, toString(sum(cost_nanos)) AS agent_cost_nanos, toString(sum(lines)) AS agent_lines, toString(sum(unpriced_lines)) AS agent_unpriced_lines FROM line_items_by_run_agent_hourly WHERE org_id = ${orgId} AND run_id = ${runId} GROUP BY agent_id, parent_agent_id, agent_name, agent_depth, currency`;
}

/** Spawns of one run: they place agents that never incurred cost in the tree. */
export function runSpawnsQuery(orgId: string, runId: string): Sql {
  return sql`SELECT agent_id, child_agent_id, any(child_agent_name) AS child_name, max(child_depth) AS child_depth FROM run_events WHERE org_id = ${orgId} AND run_id = ${runId} AND kind = 'subagent_spawn' GROUP BY agent_id, child_agent_id`;
}

/** The costliest runs over the hours overlapping the range (cost incurred within those hours). */
export function topRunsQuery({
  orgId,
  range,
  features,
  limit,
}: {
  orgId: string;
  range: TimeRange;
  features?: string[];
  limit: number;
}): Sql {
  const conditions: Sql[] = [
    sql`org_id = ${orgId}`,
    sql`hour >= toStartOfHour(${range.from})`,
    sql`hour < ${range.to}`,
  ];
  if (features && features.length > 0) conditions.push(inList(column('feature'), features));
  const costs = sql`SELECT run_id, currency, sum(cost_nanos) AS run_cost, toString(run_cost) AS run_cost_nanos, toString(sum(lines)) AS run_lines, toString(sum(unpriced_lines)) AS run_unpriced_lines, uniqExact(agent_id) AS run_agents, max(agent_depth) AS run_max_depth, any(feature) AS run_feature, any(customer_id) AS run_customer FROM line_items_by_run_agent_hourly WHERE ${join(conditions, ' AND ')} GROUP BY run_id, currency ORDER BY run_cost DESC, run_id LIMIT ${limit}`;
  const outcomes = sql`SELECT run_id, argMaxIfMerge(outcome) AS run_outcome, minIfMerge(started_at) AS run_started, maxIfMerge(ended_at) AS run_ended FROM runs_monthly WHERE org_id = ${orgId} AND run_id IN (SELECT run_id FROM (${costs})) GROUP BY run_id`;
  return sql`SELECT run_id, currency, run_cost_nanos, run_lines, run_unpriced_lines, run_agents, run_max_depth, run_feature, run_customer, run_outcome, toString(run_started) AS run_started_text, toString(run_ended) AS run_ended_text FROM (${costs}) AS top_costs ALL LEFT JOIN (${outcomes}) AS top_outcomes USING run_id ORDER BY run_cost DESC, run_id`;
}
