/**
 * GET /v1/runs/cost-per-run (by feature: cost per successful run, failed runs' cost beside it),
 * GET /v1/runs/top, GET /v1/runs/:run_id/tree (a run's cost tree; 404 when the key's org has no such run).
 */
import { type ClickHouse, divideHalfEven } from '@tollgate/core';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.ts';
import { decimal, isoTime, sendCsv, wantedFormat } from '../format.ts';
import { MAX_RANGE_MS, parseLimit, parseRange } from '../params.ts';
import {
  costPerRunQuery,
  runAgentsQuery,
  runSpawnsQuery,
  runSummaryQuery,
  topRunsQuery,
} from '../queries/runs.ts';
import { type AgentCostRow, buildCostTree, type SpawnRow } from '../tree.ts';
import { costsMap, errorResponses, filterParam, formatParam, limitParam, timeParam } from './schemas.ts';

const FAILED = new Set(['failure', 'timeout', 'cancelled']);

interface RangeQuery {
  from: string;
  to: string;
  feature?: string[];
  limit?: number;
  format?: string;
}

const rangeQuerystring = (extra: Record<string, unknown> = {}) => ({
  type: 'object',
  required: ['from', 'to'],
  additionalProperties: false,
  properties: {
    from: timeParam('start, inclusive'),
    to: timeParam('end, exclusive'),
    feature: filterParam('feature'),
    format: formatParam,
    ...extra,
  },
});

interface Bucket {
  feature: string;
  currency: string;
  successful_runs: bigint;
  failed_runs: bigint;
  other_runs: bigint;
  success_nanos: bigint;
  failed_nanos: bigint;
  other_nanos: bigint;
}

export function registerRunRoutes(app: FastifyInstance, clickhouse: ClickHouse): void {
  app.get<{ Querystring: RangeQuery }>(
    '/runs/cost-per-run',
    {
      schema: {
        summary: 'Cost per successful run by feature, with failed runs and their cost beside it',
        description:
          'Runs that ended within the range (their whole cost). cost_per_successful_run = cost of successful runs / successful runs; all_in_cost_per_successful_run also carries failed and other runs. Divisions round half-even to the nano.',
        querystring: rangeQuerystring(),
        response: { ...errorResponses },
      },
    },
    async (request, reply) => {
      const range = parseRange(request.query.from, request.query.to, MAX_RANGE_MS.day);
      const rows = await clickhouse.rows<{
        feature: string;
        outcome: string;
        currency: string;
        runs: string;
        cost_nanos: string;
      }>(costPerRunQuery({ orgId: request.principal.orgId, range, features: request.query.feature }));
      const buckets = new Map<string, Bucket>();
      const zero = (feature: string): Bucket => ({
        feature,
        currency: '',
        successful_runs: 0n,
        failed_runs: 0n,
        other_runs: 0n,
        success_nanos: 0n,
        failed_nanos: 0n,
        other_nanos: 0n,
      });
      for (const row of rows) {
        // A run without any cost has currency '': it counts as a run of cost 0 in every currency seen.
        const key = `${row.feature}\u0000${row.currency}`;
        const b = buckets.get(key) ?? { ...zero(row.feature), currency: row.currency };
        buckets.set(key, b);
        const runs = BigInt(row.runs);
        const cost = BigInt(row.cost_nanos);
        if (row.outcome === 'success') {
          b.successful_runs += runs;
          b.success_nanos += cost;
        } else if (FAILED.has(row.outcome)) {
          b.failed_runs += runs;
          b.failed_nanos += cost;
        } else {
          b.other_runs += runs;
          b.other_nanos += cost;
        }
      }
      const result = [...buckets.values()]
        .sort((a, b) =>
          a.feature === b.feature ? (a.currency < b.currency ? -1 : 1) : a.feature < b.feature ? -1 : 1,
        )
        .map((b) => {
          const total = b.success_nanos + b.failed_nanos + b.other_nanos;
          const perSuccess =
            b.successful_runs > 0n ? divideHalfEven(b.success_nanos, b.successful_runs) : null;
          const allIn = b.successful_runs > 0n ? divideHalfEven(total, b.successful_runs) : null;
          return {
            feature: b.feature,
            currency: b.currency,
            successful_runs: Number(b.successful_runs),
            failed_runs: Number(b.failed_runs),
            other_runs: Number(b.other_runs),
            successful_cost_nanos: b.success_nanos.toString(),
            failed_cost_nanos: b.failed_nanos.toString(),
            other_cost_nanos: b.other_nanos.toString(),
            cost_per_successful_run_nanos: perSuccess?.toString() ?? null,
            cost_per_successful_run: perSuccess === null ? null : decimal(perSuccess),
            all_in_cost_per_successful_run_nanos: allIn?.toString() ?? null,
          };
        });
      if (wantedFormat(request) === 'csv') {
        const columns = Object.keys(result[0] ?? { feature: '', currency: '' });
        return sendCsv(reply, 'cost-per-run', columns, result);
      }
      return { from: range.from.toISOString(), to: range.to.toISOString(), features: result };
    },
  );

  app.get<{ Querystring: RangeQuery }>(
    '/runs/top',
    {
      schema: {
        summary: 'The costliest runs (cost incurred in the hours overlapping the range)',
        querystring: rangeQuerystring({ limit: limitParam(1_000, 20) }),
        response: { ...errorResponses },
      },
    },
    async (request, reply) => {
      const range = parseRange(request.query.from, request.query.to, MAX_RANGE_MS.day);
      const limit = parseLimit(request.query.limit, 20, 1_000);
      const found = await clickhouse.rows<Record<string, string>>(
        topRunsQuery({ orgId: request.principal.orgId, range, features: request.query.feature, limit }),
      );
      const runs = found.map((row) => ({
        run_id: row.run_id,
        feature: row.run_feature,
        customer: row.run_customer,
        outcome: row.run_outcome || null,
        started_at: isoTime(row.run_started_text),
        ended_at: isoTime(row.run_ended_text),
        currency: row.currency,
        cost_nanos: row.run_cost_nanos,
        cost: decimal(row.run_cost_nanos ?? '0'),
        lines: Number(row.run_lines),
        unpriced_lines: Number(row.run_unpriced_lines),
        agents: Number(row.run_agents),
        max_depth: Number(row.run_max_depth),
      }));
      if (wantedFormat(request) === 'csv')
        return sendCsv(reply, 'top-runs', Object.keys(runs[0] ?? { run_id: '' }), runs);
      return { from: range.from.toISOString(), to: range.to.toISOString(), runs };
    },
  );

  app.get<{ Params: { run_id: string }; Querystring: { format?: string } }>(
    '/runs/:run_id/tree',
    {
      schema: {
        summary: "A run's cost tree: exclusive and inclusive cost per agent, fan-out, depth",
        params: {
          type: 'object',
          properties: { run_id: { type: 'string', minLength: 1, maxLength: 200 } },
          required: ['run_id'],
        },
        querystring: { type: 'object', additionalProperties: false, properties: { format: formatParam } },
        response: {
          200: {
            type: 'object',
            properties: {
              run_id: { type: 'string' },
              feature: { type: 'string' },
              customer: { type: 'string' },
              environment: { type: 'string' },
              outcome: { type: 'string', nullable: true },
              started_at: { type: 'string', nullable: true },
              ended_at: { type: 'string', nullable: true },
              total_cost_nanos: costsMap,
              run_level_cost_nanos: costsMap,
              agent_count: { type: 'integer' },
              max_depth: { type: 'integer' },
              max_fan_out: { type: 'integer' },
              agents: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    agent_id: { type: 'string' },
                    agent_name: { type: 'string', nullable: true },
                    parent_agent_id: { type: 'string', nullable: true },
                    depth: { type: 'integer' },
                    fan_out: { type: 'integer' },
                    children: { type: 'array', items: { type: 'string' } },
                    lines: { type: 'integer' },
                    unpriced_lines: { type: 'integer' },
                    exclusive_cost_nanos: costsMap,
                    inclusive_cost_nanos: costsMap,
                  },
                },
              },
            },
          },
          404: errorResponses[400],
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { orgId } = request.principal;
      const runId = request.params.run_id;
      const [summary, costs, spawns] = await Promise.all([
        clickhouse.rows<Record<string, string>>(runSummaryQuery(orgId, runId)),
        clickhouse.rows<AgentCostRow>(runAgentsQuery(orgId, runId)),
        clickhouse.rows<SpawnRow>(runSpawnsQuery(orgId, runId)),
      ]);
      // Another org's run looks exactly like a run that does not exist.
      if (summary.length === 0 && costs.length === 0 && spawns.length === 0)
        throw new ApiError('TG_RUN_NOT_FOUND', `run ${JSON.stringify(runId.slice(0, 200))} not found`);
      const run = summary[0] ?? {};
      const tree = buildCostTree(costs, spawns);
      if (wantedFormat(request) === 'csv') {
        const rows = tree.agents.flatMap((agent) => {
          const currencies = Object.keys(agent.inclusive_cost_nanos);
          return (currencies.length > 0 ? currencies : ['']).map((currency) => ({
            ...agent,
            children: agent.children.join(' '),
            currency,
            exclusive_cost_nanos: agent.exclusive_cost_nanos[currency] ?? '0',
            inclusive_cost_nanos: agent.inclusive_cost_nanos[currency] ?? '0',
          }));
        });
        const columns = [
          'agent_id',
          'agent_name',
          'parent_agent_id',
          'depth',
          'fan_out',
          'children',
          'lines',
          'unpriced_lines',
          'currency',
          'exclusive_cost_nanos',
          'inclusive_cost_nanos',
        ];
        return sendCsv(reply, `run-${runId.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 100)}`, columns, rows);
      }
      return {
        run_id: runId,
        feature: run.run_feature ?? '',
        customer: run.run_customer ?? '',
        environment: run.run_environment ?? '',
        outcome: run.run_outcome || null,
        started_at: isoTime(run.run_started),
        ended_at: isoTime(run.run_ended),
        ...tree,
      };
    },
  );
}
