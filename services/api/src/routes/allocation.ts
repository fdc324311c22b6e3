/** GET /v1/allocation: cost and quantities by any dimensions and a tag key, per hour or day. */
import type { ClickHouse } from '@tollgate/core';
import type { FastifyInstance } from 'fastify';
import { decimal, isoTime, sendCsv, wantedFormat } from '../format.ts';
import { type Grain, MAX_RANGE_MS, parseFilters, parseGroupBy, parseLimit, parseRange } from '../params.ts';
import { allocationQuery } from '../queries/allocation.ts';
import { groupColumn } from '../queries/common.ts';
import { dimensionFilters, errorResponses, formatParam, limitParam, timeParam } from './schemas.ts';

interface Query {
  from: string;
  to: string;
  grain?: Grain;
  group_by?: string;
  limit?: number;
  format?: string;
  [filter: string]: unknown;
}

interface AllocationRow {
  bucket: string;
  currency: string;
  cost_nanos: string;
  lines: string;
  unpriced_lines: string;
  units: string[];
  quantities: number[];
  [group: string]: unknown;
}

export function registerAllocationRoutes(app: FastifyInstance, clickhouse: ClickHouse): void {
  app.get<{ Querystring: Query }>(
    '/allocation',
    {
      schema: {
        summary: 'Cost and quantities over a time range, grouped and filtered by any dimensions',
        description:
          'Rows per (bucket, groups…, currency); quantities per unit. Served from the hourly rollups when both ends fall on an hour and no tag is involved, else from line items (`source`).',
        querystring: {
          type: 'object',
          required: ['from', 'to'],
          additionalProperties: false,
          properties: {
            from: timeParam('start, inclusive'),
            to: timeParam('end, exclusive'),
            grain: { type: 'string', enum: ['hour', 'day'], default: 'day' },
            group_by: {
              type: 'string',
              maxLength: 300,
              description:
                'comma-separated: org, feature, customer, environment, agent, model, provider, category, tag:<key>',
            },
            ...dimensionFilters,
            tag: {
              type: 'array',
              maxItems: 100,
              items: { type: 'string', maxLength: 300 },
              description: 'tag filter key=value (repeat for several)',
            },
            limit: limitParam(50_000, 10_000),
            format: formatParam,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              from: { type: 'string' },
              to: { type: 'string' },
              grain: { type: 'string' },
              group_by: { type: 'array', items: { type: 'string' } },
              source: { type: 'string', enum: ['rollup', 'line_items'] },
              truncated: { type: 'boolean' },
              rows: { type: 'array', items: { type: 'object', additionalProperties: true } },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const grain = request.query.grain ?? 'day';
      const range = parseRange(request.query.from, request.query.to, MAX_RANGE_MS[grain]);
      const groupBy = parseGroupBy(request.query.group_by);
      const filters = parseFilters(request.query);
      const limit = parseLimit(request.query.limit, 10_000, 50_000);
      const { query, source } = allocationQuery({
        orgId: request.principal.orgId,
        range,
        grain,
        groupBy,
        filters,
        limit,
      });
      const found = await clickhouse.rows<AllocationRow>(query);
      const truncated = found.length > limit;
      // Output names: the dimension, or `tag:<key>` for the tag (its SQL alias is `tag`).
      const columns = groupBy.map((group) => ({
        sqlName: groupColumn(group).name,
        name: group.kind === 'tag' ? `tag:${group.key}` : group.dimension,
      }));
      const names = columns.map((c) => c.name);
      const rows = found.slice(0, limit).map((row) => ({
        bucket: isoTime(row.bucket),
        ...Object.fromEntries(columns.map((c) => [c.name, row[c.sqlName]])),
        currency: row.currency,
        cost_nanos: row.cost_nanos,
        cost: decimal(row.cost_nanos),
        lines: Number(row.lines),
        unpriced_lines: Number(row.unpriced_lines),
        quantities: Object.fromEntries(
          row.units
            .map((unit, i) => [unit, row.quantities[i] ?? 0] as const)
            .sort(([a], [b]) => (a < b ? -1 : 1)),
        ),
      }));
      if (wantedFormat(request) === 'csv') {
        const units = [...new Set(rows.flatMap((row) => Object.keys(row.quantities)))].sort();
        return sendCsv(
          reply,
          'allocation',
          [
            'bucket',
            ...names,
            'currency',
            'cost_nanos',
            'cost',
            'lines',
            'unpriced_lines',
            ...units.map((u) => `quantity_${u}`),
          ],
          rows.map((row) => ({
            ...row,
            ...Object.fromEntries(units.map((u) => [`quantity_${u}`, row.quantities[u] ?? 0])),
          })),
        );
      }
      return {
        from: range.from.toISOString(),
        to: range.to.toISOString(),
        grain,
        group_by: names,
        source,
        truncated,
        rows,
      };
    },
  );
}
