/**
 * GET /v1/spend/untagged, GET /v1/spend/unpriced, GET /v1/alerts, and the admin-only
 * GET /v1/admin/freshness (what the sink has stored for the org, and when).
 */
import { type ClickHouse, sql } from '@tollgate/core';
import type { FastifyInstance } from 'fastify';
import { decimal, isoTime, sendCsv, wantedFormat } from '../format.ts';
import { MAX_RANGE_MS, parseLimit, parseRange } from '../params.ts';
import { alertsQuery, unpricedQuery, untaggedSourcesQuery, untaggedTotalsQuery } from '../queries/spend.ts';
import { errorResponses, formatParam, limitParam, timeParam } from './schemas.ts';

interface RangeQuery {
  from: string;
  to: string;
  limit?: number;
  format?: string;
  severity?: string[];
}

const rangeProperties = {
  from: timeParam('start, inclusive'),
  to: timeParam('end, exclusive'),
  format: formatParam,
};

function share(part: bigint, total: bigint): number | null {
  return total === 0n ? null : Number((part * 1_000_000n) / total) / 1_000_000;
}

export function registerSpendRoutes(app: FastifyInstance, clickhouse: ClickHouse): void {
  app.get<{ Querystring: RangeQuery }>(
    '/spend/untagged',
    {
      schema: {
        summary: 'Spend without business tags (feature, customer, environment) and where it comes from',
        querystring: {
          type: 'object',
          required: ['from', 'to'],
          additionalProperties: false,
          properties: { ...rangeProperties, limit: limitParam(1_000, 20) },
        },
        response: { ...errorResponses },
      },
    },
    async (request, reply) => {
      const range = parseRange(request.query.from, request.query.to, MAX_RANGE_MS.day);
      const limit = parseLimit(request.query.limit, 20, 1_000);
      const { orgId } = request.principal;
      const [totals, sources] = await Promise.all([
        clickhouse.rows<Record<string, string>>(untaggedTotalsQuery(orgId, range)),
        clickhouse.rows<Record<string, string>>(untaggedSourcesQuery(orgId, range, limit)),
      ]);
      const currencies = totals.map((row) => {
        const total = BigInt(row.total_nanos ?? '0');
        const without = BigInt(row.without_feature_nanos ?? '0');
        return {
          currency: row.currency,
          total_cost_nanos: row.total_nanos,
          without_feature_cost_nanos: row.without_feature_nanos,
          without_customer_cost_nanos: row.without_customer_nanos,
          without_environment_cost_nanos: row.without_environment_nanos,
          untagged_cost_nanos: row.untagged_nanos,
          without_feature_share: share(without, total),
          without_feature_cost: decimal(without),
        };
      });
      const bySource = sources.map((row) => ({
        agent: row.agent,
        provider: row.provider,
        model: row.model,
        currency: row.currency,
        cost_nanos: row.cost_total_nanos,
        cost: decimal(row.cost_total_nanos ?? '0'),
      }));
      if (wantedFormat(request) === 'csv')
        return sendCsv(
          reply,
          'untagged',
          ['agent', 'provider', 'model', 'currency', 'cost_nanos', 'cost'],
          bySource,
        );
      return {
        from: range.from.toISOString(),
        to: range.to.toISOString(),
        currencies,
        without_feature_by_source: bySource,
      };
    },
  );

  app.get<{ Querystring: RangeQuery }>(
    '/spend/unpriced',
    {
      schema: {
        summary: 'Usage the rate card had no price for (cost unknown, reported by quantity)',
        querystring: {
          type: 'object',
          required: ['from', 'to'],
          additionalProperties: false,
          properties: { ...rangeProperties, limit: limitParam(10_000, 1_000) },
        },
        response: { ...errorResponses },
      },
    },
    async (request, reply) => {
      const range = parseRange(request.query.from, request.query.to, MAX_RANGE_MS.day);
      const limit = parseLimit(request.query.limit, 1_000, 10_000);
      const found = await clickhouse.rows<Record<string, string | number>>(
        unpricedQuery(request.principal.orgId, range, limit),
      );
      const items = found.map((row) => ({
        provider: row.provider,
        model: row.model,
        category: row.category,
        item: row.item,
        unit: row.unit,
        lines: Number(row.lines),
        events: Number(row.events),
        quantity: Number(row.quantity_total),
        first_seen: isoTime(row.first_seen),
        last_seen: isoTime(row.last_seen),
      }));
      if (wantedFormat(request) === 'csv')
        return sendCsv(reply, 'unpriced', Object.keys(items[0] ?? { provider: '' }), items);
      return { from: range.from.toISOString(), to: range.to.toISOString(), items };
    },
  );

  app.get<{ Querystring: RangeQuery }>(
    '/alerts',
    {
      schema: {
        summary: 'Cost alerts detected within the range, newest first',
        querystring: {
          type: 'object',
          required: ['from', 'to'],
          additionalProperties: false,
          properties: {
            ...rangeProperties,
            severity: {
              type: 'array',
              maxItems: 3,
              items: { type: 'string', enum: ['info', 'warning', 'critical'] },
            },
            limit: limitParam(10_000, 100),
          },
        },
        response: { ...errorResponses },
      },
    },
    async (request, reply) => {
      const range = parseRange(request.query.from, request.query.to, MAX_RANGE_MS.day);
      const limit = parseLimit(request.query.limit, 100, 10_000);
      const found = await clickhouse.rows<Record<string, unknown>>(
        alertsQuery(request.principal.orgId, range, request.query.severity, limit),
      );
      const alerts = found.map((row) => {
        const dimensions = (row.contributor_dimensions as string[]) ?? [];
        return {
          alert_id: row.alert_id,
          rule: row.rule,
          severity: row.severity,
          scope: row.scope,
          run_id: row.run_id || null,
          feature: row.feature || null,
          customer_id: row.customer_id || null,
          window_start: isoTime(row.window_start),
          window_end: isoTime(row.window_end),
          observed: row.observed,
          expected: row.expected,
          unit: row.unit,
          explanation: row.explanation,
          contributors: dimensions.map((dimension, i) => ({
            dimension,
            value: (row.contributor_values as string[])[i],
            observed: (row.contributor_observed as number[])[i],
            expected: (row.contributor_expected as number[])[i],
          })),
          first_event_time: isoTime(row.first_event_time),
          detected_at: isoTime(row.detected_at),
          policy_id: row.policy_id || null,
        };
      });
      if (wantedFormat(request) === 'csv')
        return sendCsv(reply, 'alerts', Object.keys(alerts[0] ?? { alert_id: '' }), alerts);
      return { from: range.from.toISOString(), to: range.to.toISOString(), alerts };
    },
  );

  app.get(
    '/admin/freshness',
    {
      config: { role: 'admin' },
      schema: {
        summary:
          "What the sink stored for the key's org: latest event and insert times, lines in the last hour (admin keys)",
        response: { ...errorResponses },
      },
    },
    async (request) => {
      const [row] = await clickhouse.rows<Record<string, string>>(
        sql`SELECT toString(count()) AS lines, max(event_time) AS latest_event, max(inserted_at) AS latest_insert, toString(countIf(inserted_at >= now() - 3600)) AS lines_last_hour, toString(countIf(priced = 0)) AS unpriced_lines FROM line_items WHERE org_id = ${request.principal.orgId}`,
      );
      return {
        org_id: request.principal.orgId,
        lines: Number(row?.lines ?? 0),
        unpriced_lines: Number(row?.unpriced_lines ?? 0),
        lines_last_hour: Number(row?.lines_last_hour ?? 0),
        latest_event_time: isoTime(row?.latest_event),
        latest_insert_time: isoTime(row?.latest_insert),
      };
    },
  );
}
