/**
 * Request parameters → validated values. Everything a client controls is checked here and named in
 * the 400 it gets; identifiers reach SQL only from the allow-lists below, values only as literals.
 */
import { ApiError, badParameter } from './errors.ts';

/** API dimension name → column. The same names are used in group_by, in filters and in the output. */
export const DIMENSIONS = {
  org: 'org_id',
  feature: 'feature',
  customer: 'customer_id',
  environment: 'environment',
  agent: 'agent_name',
  model: 'model',
  provider: 'provider',
  category: 'category',
} as const;
export type Dimension = keyof typeof DIMENSIONS;
export const DIMENSION_NAMES = Object.keys(DIMENSIONS) as Dimension[];

export const GRAINS = ['hour', 'day'] as const;
export type Grain = (typeof GRAINS)[number];

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Longest range per grain: keeps a response to at most ~800 buckets per group. */
export const MAX_RANGE_MS: Record<Grain, number> = { hour: 31 * DAY_MS, day: 400 * DAY_MS };

export interface TimeRange {
  from: Date;
  to: Date;
}

/** A grouping column: a dimension, or the value of one tag key (`tag:<key>`, output column `tag`). */
export type GroupBy = { kind: 'dimension'; dimension: Dimension } | { kind: 'tag'; key: string };

export interface Filters {
  dimensions: Partial<Record<Dimension, string[]>>;
  /** tag key → accepted values ('' matches events without that tag). */
  tags: Record<string, string[]>;
}

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(?:Z|[+-](\d{2}):(\d{2})))?$/;
const MIN_MS = 0;
const MAX_MS = Date.UTC(2105, 0, 1);

export function parseTime(parameter: string, value: string): Date {
  const match = ISO.exec(value);
  if (!match)
    throw badParameter(
      parameter,
      'must be an ISO 8601 date or date-time with a zone, e.g. 2026-01-15T00:00:00Z',
    );
  // Date.parse rolls 2026-02-30 over to March 2: check every field against its calendar range.
  const [year, month, day, hour = 0, minute = 0, second = 0, offsetHours = 0, offsetMinutes = 0] = match
    .slice(1)
    .map((part) => (part === undefined ? undefined : Number(part))) as number[];
  const daysInMonth = new Date(Date.UTC(year ?? 0, month ?? 0, 0)).getUTCDate();
  if (
    (month ?? 0) < 1 ||
    (month ?? 0) > 12 ||
    (day ?? 0) < 1 ||
    (day ?? 0) > daysInMonth ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    offsetHours > 23 ||
    offsetMinutes > 59
  )
    throw badParameter(parameter, 'is not a real date');
  const ms = Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(ms)) throw badParameter(parameter, 'is not a real date');
  if (ms < MIN_MS || ms >= MAX_MS) throw badParameter(parameter, 'must be between 1970 and 2105');
  return new Date(ms);
}

export function parseRange(from: string, to: string, maxMs: number): TimeRange {
  const range = { from: parseTime('from', from), to: parseTime('to', to) };
  if (range.to.getTime() <= range.from.getTime()) throw badParameter('to', 'must be after from');
  if (range.to.getTime() - range.from.getTime() > maxMs) {
    throw new ApiError('TG_RANGE_TOO_LARGE', `to: the range may span at most ${maxMs / DAY_MS} days`, {
      parameter: 'to',
      reason: `the range may span at most ${maxMs / DAY_MS} days`,
    });
  }
  return range;
}

/** True when both ends fall on an hour: then the hourly rollups answer exactly. */
export function alignedToHour(range: TimeRange): boolean {
  return range.from.getTime() % HOUR_MS === 0 && range.to.getTime() % HOUR_MS === 0;
}

/** A tag key: 1 to 100 characters, none of them a control character (code point below 0x20). */
function tagKey(parameter: string, key: string): string {
  const printable = [...key].every((ch) => (ch.codePointAt(0) ?? 0) >= 0x20);
  if (key.length < 1 || key.length > 100 || !printable)
    throw badParameter(parameter, 'a tag key has 1 to 100 printable characters');
  return key;
}

export function parseGroupBy(value: string | undefined): GroupBy[] {
  if (value === undefined || value.trim() === '') return [];
  const items = value.split(',').map((item) => item.trim());
  const groups: GroupBy[] = [];
  for (const item of items) {
    if (item.startsWith('tag:')) {
      if (groups.some((g) => g.kind === 'tag')) throw badParameter('group_by', 'at most one tag key');
      groups.push({ kind: 'tag', key: tagKey('group_by', item.slice(4)) });
      continue;
    }
    if (!(DIMENSION_NAMES as string[]).includes(item)) {
      throw badParameter(
        'group_by',
        `unknown dimension ${JSON.stringify(item.slice(0, 50))}; use ${DIMENSION_NAMES.join(', ')} or tag:<key>`,
      );
    }
    if (groups.some((g) => g.kind === 'dimension' && g.dimension === item))
      throw badParameter('group_by', `${item} is listed twice`);
    groups.push({ kind: 'dimension', dimension: item as Dimension });
  }
  return groups;
}

const MAX_FILTER_VALUES = 100;

/** Filters from the query: `feature=a&feature=b`, `tag=team=growth`; an empty value means "untagged". */
export function parseFilters(query: Record<string, unknown>): Filters {
  const filters: Filters = { dimensions: {}, tags: {} };
  for (const dimension of DIMENSION_NAMES) {
    const values = asList(query[dimension]);
    if (values === undefined) continue;
    if (values.length > MAX_FILTER_VALUES)
      throw badParameter(dimension, `at most ${MAX_FILTER_VALUES} values`);
    filters.dimensions[dimension] = values;
  }
  const tags = asList(query.tag) ?? [];
  if (tags.length > MAX_FILTER_VALUES) throw badParameter('tag', `at most ${MAX_FILTER_VALUES} values`);
  for (const pair of tags) {
    const at = pair.indexOf('=');
    if (at <= 0) throw badParameter('tag', 'each tag filter is key=value');
    const key = tagKey('tag', pair.slice(0, at));
    filters.tags[key] = [...(filters.tags[key] ?? []), pair.slice(at + 1)];
  }
  return filters;
}

function asList(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value : [value]).map(String);
}

export function parseLimit(value: number | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max)
    throw badParameter('limit', `must be an integer 1…${max}`);
  return value;
}
