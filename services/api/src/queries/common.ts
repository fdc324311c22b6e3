/**
 * Pieces every query builder shares. Identifiers come only from the allow-lists in ../params.ts and
 * pass through `identifier`; every value passes through `sql` (core/sql.ts, the one escaping function).
 */
import { identifier, join, raw, type Sql, sql } from '@tollgate/core';
import { DIMENSIONS, type Filters, type Grain, type GroupBy, type TimeRange } from '../params.ts';

/** The time column of a source: `hour` in the hourly rollups, `event_time` in line_items. */
export type TimeColumn = 'hour' | 'event_time';

export function column(name: string): Sql {
  return raw(identifier(name));
}

export function bucket(grain: Grain, time: TimeColumn): Sql {
  return grain === 'hour' ? sql`toStartOfHour(${column(time)})` : sql`toStartOfDay(${column(time)})`;
}

/** `tag_values[indexOf(tag_keys, 'key')]`: the tag's value, '' when the event has no such tag. */
export function tagValue(key: string): Sql {
  return sql`tag_values[indexOf(tag_keys, ${key})]`;
}

/** The output name of a grouping (`tag` for the tag key) and its SQL expression. */
export function groupColumn(group: GroupBy): { name: string; expression: Sql } {
  if (group.kind === 'tag') return { name: 'tag', expression: tagValue(group.key) };
  return { name: group.dimension, expression: column(DIMENSIONS[group.dimension]) };
}

/** `expression AS name`, or just the column when its name is already the output name. */
export function selectAs(group: GroupBy): Sql {
  const { name, expression } = groupColumn(group);
  if (group.kind === 'dimension' && DIMENSIONS[group.dimension] === name) return expression;
  return sql`${expression} AS ${column(name)}`;
}

export function inList(expression: Sql, values: readonly string[]): Sql {
  return sql`${expression} IN (${join(
    values.map((value) => sql`${value}`),
    ', ',
  )})`;
}

/** The org, the time range and the filters: every query's WHERE starts with the key's org. */
export function whereClause(
  orgId: string,
  range: TimeRange,
  time: TimeColumn,
  filters?: Filters,
  extra: Sql[] = [],
): Sql {
  const conditions: Sql[] = [
    sql`org_id = ${orgId}`,
    sql`${column(time)} >= ${range.from}`,
    sql`${column(time)} < ${range.to}`,
  ];
  if (filters) {
    for (const [dimension, values] of Object.entries(filters.dimensions)) {
      if (values && values.length > 0)
        conditions.push(inList(column(DIMENSIONS[dimension as keyof typeof DIMENSIONS]), values));
    }
    for (const [key, values] of Object.entries(filters.tags)) conditions.push(inList(tagValue(key), values));
  }
  return join([...conditions, ...extra], ' AND ');
}
