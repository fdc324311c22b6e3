/**
 * Untagged spend (cost without feature, customer or environment) and unpriced usage (lines the rate
 * card had no price for: their cost is unknown, reported by quantity, never as zero).
 * Aliases never repeat a column name (see runs.ts).
 */
import { join, raw, type Sql, sql } from '@tollgate/core';
import { alignedToHour, type TimeRange } from '../params.ts';
import { inList, type TimeColumn, whereClause } from './common.ts';

function source(range: TimeRange): { table: Sql; time: TimeColumn } {
  return alignedToHour(range)
    ? { table: raw('line_items_by_attribution_hourly'), time: 'hour' }
    : { table: raw('line_items'), time: 'event_time' };
}

export function untaggedTotalsQuery(orgId: string, range: TimeRange): Sql {
  const { table, time } = source(range);
  return sql`SELECT currency, toString(sum(cost_nanos)) AS total_nanos, toString(sumIf(cost_nanos, feature = '')) AS without_feature_nanos, toString(sumIf(cost_nanos, customer_id = '')) AS without_customer_nanos, toString(sumIf(cost_nanos, environment = '')) AS without_environment_nanos, toString(sumIf(cost_nanos, feature = '' AND customer_id = '' AND environment = '')) AS untagged_nanos FROM ${table} WHERE ${whereClause(orgId, range, time)} GROUP BY currency ORDER BY currency`;
}

/** Where spend without a feature comes from: by agent, provider and model. */
export function untaggedSourcesQuery(orgId: string, range: TimeRange, limit: number): Sql {
  const { table, time } = source(range);
  return sql`SELECT agent_name AS agent, provider, model, currency, sum(cost_nanos) AS cost_total, toString(cost_total) AS cost_total_nanos FROM ${table} WHERE ${whereClause(orgId, range, time, undefined, [sql`feature = ''`])} GROUP BY agent, provider, model, currency ORDER BY cost_total DESC, agent, provider, model LIMIT ${limit}`;
}

export function unpricedQuery(orgId: string, range: TimeRange, limit: number): Sql {
  return sql`SELECT provider, model, category, item, unit, toString(count()) AS lines, toString(uniqExact(event_id)) AS events, sum(quantity_value) AS quantity_total, toString(min(event_time)) AS first_seen, toString(max(event_time)) AS last_seen FROM line_items WHERE ${whereClause(orgId, range, 'event_time', undefined, [sql`priced = 0`, sql`adjustment_of = ''`])} GROUP BY provider, model, category, item, unit ORDER BY count() DESC, provider, model, category, item LIMIT ${limit}`;
}

export function alertsQuery(
  orgId: string,
  range: TimeRange,
  severities: string[] | undefined,
  limit: number,
): Sql {
  const conditions = [
    sql`org_id = ${orgId}`,
    sql`detected_at >= ${range.from}`,
    sql`detected_at < ${range.to}`,
  ];
  if (severities && severities.length > 0) conditions.push(inList(raw('severity'), severities));
  return sql`SELECT alert_id, rule, severity, scope, run_id, feature, customer_id, window_start, window_end, observed, expected, unit, explanation, contributor_dimensions, contributor_values, contributor_observed, contributor_expected, first_event_time, detected_at, policy_id FROM alerts FINAL WHERE ${join(conditions, ' AND ')} ORDER BY detected_at DESC, alert_id LIMIT ${limit}`;
}
