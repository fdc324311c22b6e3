/**
 * Allocation: cost and quantities over a time range, grouped by any of the dimensions and one tag key,
 * per hour or day. Served from line_items_by_attribution_hourly when it can answer exactly (no tag in
 * the grouping or filters, both ends on an hour), else from line_items.
 *
 * Rows are per (bucket, groups…, currency): costs in different currencies are never added. Quantities
 * are per unit (tokens and seconds are never added either): `units[i]` counts `quantities[i]`.
 */
import { join, raw, type Sql, sql } from '@tollgate/core';
import { alignedToHour, type Filters, type Grain, type GroupBy, type TimeRange } from '../params.ts';
import { bucket, column, groupColumn, selectAs, type TimeColumn, whereClause } from './common.ts';

export interface AllocationSpec {
  orgId: string;
  range: TimeRange;
  grain: Grain;
  groupBy: GroupBy[];
  filters: Filters;
  /** Rows asked for; the query returns one more to tell the caller the answer was cut. */
  limit: number;
}

export type AllocationSource = 'rollup' | 'line_items';

export function allocationSource(spec: AllocationSpec): AllocationSource {
  const usesTags =
    spec.groupBy.some((group) => group.kind === 'tag') || Object.keys(spec.filters.tags).length > 0;
  return !usesTags && alignedToHour(spec.range) ? 'rollup' : 'line_items';
}

export function allocationQuery(spec: AllocationSpec): { query: Sql; source: AllocationSource } {
  const source = allocationSource(spec);
  const time: TimeColumn = source === 'rollup' ? 'hour' : 'event_time';
  const names = spec.groupBy.map((group) => column(groupColumn(group).name));
  const innerKeys = join([raw('bucket'), ...names, raw('currency'), raw('unit')], ', ');
  const outerKeys = join([raw('bucket'), ...names, raw('currency')], ', ');
  const selected = spec.groupBy.map(selectAs);
  const measures =
    source === 'rollup'
      ? raw('sum(cost_nanos) AS c, sum(lines) AS l, sum(unpriced_lines) AS u, sum(quantity) AS q')
      : raw(
          "sum(cost_nanos) AS c, countIf(adjustment_of = '') AS l, countIf(adjustment_of = '' AND priced = 0) AS u, sumIf(quantity_value, adjustment_of = '') AS q",
        );
  const table = source === 'rollup' ? raw('line_items_by_attribution_hourly') : raw('line_items');
  const inner = sql`SELECT ${join([sql`${bucket(spec.grain, time)} AS bucket`, ...selected, raw('currency'), raw('unit'), measures], ', ')} FROM ${table} WHERE ${whereClause(spec.orgId, spec.range, time, spec.filters)} GROUP BY ${innerKeys}`;
  const orderKeys = join([raw('bucket'), raw('sum(c) DESC'), ...names, raw('currency')], ', ');
  const query = sql`SELECT ${outerKeys}, toString(sum(c)) AS cost_nanos, toString(sum(l)) AS lines, toString(sum(u)) AS unpriced_lines, groupArray(unit) AS units, groupArray(q) AS quantities FROM (${inner}) GROUP BY ${outerKeys} ORDER BY ${orderKeys} LIMIT ${spec.limit + 1}`;
  return { query, source };
}
