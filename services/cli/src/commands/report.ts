/**
 * `tollgate report`: the API's answers for each org, as terminal tables (or JSON, or one section as
 * CSV). The report runs the API in-process against ClickHouse (`app.inject`) with a key of each org,
 * so what it prints is exactly what the API serves: same queries, same org confinement, same rounding.
 */
import { buildApp, createKeyStore, generateApiKey } from '@tollgate/api';
import { type ClickHouse, createRegistry, silentLogger, sql, TollgateError } from '@tollgate/core';
import { formatMoney, printTable } from '../output.ts';

export const SECTIONS = [
  'spend',
  'categories',
  'cost-per-run',
  'top-runs',
  'untagged',
  'unpriced',
  'alerts',
] as const;
export type Section = (typeof SECTIONS)[number];

export interface ReportOptions {
  clickhouse: ClickHouse;
  /** Orgs to report; all orgs with spend in the range when empty. */
  orgs: string[];
  from: Date;
  to: Date;
  /** Dimension for the `spend` section: feature, customer, model, provider, agent, environment, tag:<key>. */
  by: string;
  sections: readonly Section[];
}

export type OrgReport = Record<Section, unknown> & { org: string };

/** Orgs with any line item in the range (an operator's view: the API itself never lists orgs). */
export async function orgsWithSpend(clickhouse: ClickHouse, from: Date, to: Date): Promise<string[]> {
  const rows = await clickhouse.rows<{ org_id: string }>(
    sql`SELECT DISTINCT org_id FROM line_items WHERE event_time >= ${from} AND event_time < ${to} ORDER BY org_id`,
  );
  return rows.map((row) => row.org_id);
}

const PATHS: Record<Section, (by: string) => string> = {
  spend: (by) => `/v1/allocation?group_by=${encodeURIComponent(by)}`,
  categories: () => '/v1/allocation?group_by=category',
  'cost-per-run': () => '/v1/runs/cost-per-run',
  'top-runs': () => '/v1/runs/top?limit=5',
  untagged: () => '/v1/spend/untagged',
  unpriced: () => '/v1/spend/unpriced',
  alerts: () => '/v1/alerts',
};

export interface ReportOptionsWithFormat extends ReportOptions {
  /** `csv` asks the API for CSV (one org, one section). */
  csv?: boolean;
}

export async function buildReport(options: ReportOptionsWithFormat): Promise<OrgReport[]> {
  const orgs =
    options.orgs.length > 0
      ? options.orgs
      : await orgsWithSpend(options.clickhouse, options.from, options.to);
  const generated = orgs.map((org) => ({ org, ...generateApiKey(`report-${org}`, org, 'reader') }));
  const app = buildApp({
    clickhouse: options.clickhouse,
    keys: createKeyStore(generated.map((g) => g.record)),
    logger: silentLogger(),
    registry: createRegistry('cli-report'),
  });
  const range = `from=${encodeURIComponent(options.from.toISOString())}&to=${encodeURIComponent(options.to.toISOString())}`;
  try {
    const reports: OrgReport[] = [];
    for (const { org, key } of generated) {
      const report = { org } as OrgReport;
      for (const section of options.sections) {
        const path = PATHS[section](options.by);
        const response = await app.inject({
          method: 'GET',
          url: `${path}${path.includes('?') ? '&' : '?'}${range}${options.csv ? '&format=csv' : ''}`,
          headers: { authorization: `Bearer ${key}` },
        });
        if (response.statusCode !== 200) {
          const body = response.json() as { error?: { message: string } };
          const reason = body.error?.message ?? `HTTP ${response.statusCode}`;
          throw new TollgateError(`report ${section}: ${reason}`, { code: 'TG_CLI_REPORT' });
        }
        report[section] = options.csv ? response.body : response.json();
      }
      reports.push(report);
    }
    return reports;
  } finally {
    await app.close();
  }
}

interface AllocationRow {
  cost_nanos: string;
  currency: string;
  lines: number;
  [dimension: string]: unknown;
}

/** Sums allocation rows over time buckets, per value of `dimension`, largest first. */
function collapse(
  rows: AllocationRow[],
  dimension: string,
): { value: string; nanos: bigint; lines: number }[] {
  const totals = new Map<string, { value: string; nanos: bigint; lines: number }>();
  for (const row of rows) {
    const value = String(row[dimension] ?? '') || '(untagged)';
    const entry = totals.get(value) ?? { value, nanos: 0n, lines: 0 };
    entry.nanos += BigInt(row.cost_nanos);
    entry.lines += row.lines;
    totals.set(value, entry);
  }
  return [...totals.values()].sort((a, b) => (b.nanos > a.nanos ? 1 : b.nanos < a.nanos ? -1 : 0));
}

export function share(part: bigint, total: bigint): string {
  if (total === 0n) return '-';
  return `${(Number((part * 10_000n) / total) / 100).toFixed(1)} %`;
}

function heading(out: NodeJS.WritableStream, text: string): void {
  out.write(`\n${text}\n`);
}

/** The spend section of a report summed per value of `by` over the range, largest first. */
export function spendRows(report: OrgReport, by: string): { value: string; nanos: bigint; lines: number }[] {
  return report.spend ? collapse((report.spend as { rows: AllocationRow[] }).rows, by) : [];
}

/** The categories section summed per cost category over the range, largest first. */
export function categoryRows(report: OrgReport): { value: string; nanos: bigint; lines: number }[] {
  return report.categories ? collapse((report.categories as { rows: AllocationRow[] }).rows, 'category') : [];
}

/** Prints one org's report as terminal tables. */
export function printReport(
  report: OrgReport,
  by: string,
  out: NodeJS.WritableStream = process.stdout,
): void {
  out.write(`\n=== org ${report.org} ===\n`);
  if (report.spend) {
    const rows = spendRows(report, by);
    const total = rows.reduce((sum, row) => sum + row.nanos, 0n);
    heading(out, `Spend by ${by} (total ${formatMoney(total)})`);
    printTable(
      [by, 'cost', 'share', 'lines'],
      rows.map((r) => [r.value, formatMoney(r.nanos), share(r.nanos, total), r.lines]),
      out,
    );
  }
  if (report.categories) {
    const rows = categoryRows(report);
    const total = rows.reduce((sum, row) => sum + row.nanos, 0n);
    heading(out, 'Spend by cost category');
    printTable(
      ['category', 'cost', 'share'],
      rows.map((r) => [r.value, formatMoney(r.nanos), share(r.nanos, total)]),
      out,
    );
  }
  if (report['cost-per-run']) {
    const features = (report['cost-per-run'] as { features: Record<string, string | number | null>[] })
      .features;
    heading(out, 'Cost per successful run by feature');
    printTable(
      ['feature', 'successful runs', 'cost / successful run', 'failed runs', 'cost of failed runs'],
      features.map((f) => [
        String(f.feature || '(untagged)'),
        Number(f.successful_runs),
        f.cost_per_successful_run_nanos === null ? '-' : formatMoney(String(f.cost_per_successful_run_nanos)),
        Number(f.failed_runs),
        formatMoney(String(f.failed_cost_nanos)),
      ]),
      out,
    );
  }
  if (report['top-runs']) {
    const runs = (report['top-runs'] as { runs: Record<string, string | number>[] }).runs;
    heading(out, 'Top runs by cost');
    printTable(
      ['run', 'feature', 'outcome', 'agents', 'cost'],
      runs.map((r) => [
        String(r.run_id),
        String(r.feature || '-'),
        String(r.outcome ?? '-'),
        Number(r.agents),
        formatMoney(String(r.cost_nanos)),
      ]),
      out,
    );
  }
  if (report.untagged) {
    const currencies = (report.untagged as { currencies: Record<string, string | number>[] }).currencies;
    heading(out, 'Untagged spend (no feature)');
    printTable(
      ['currency', 'total', 'without feature', 'share'],
      currencies.map((c) => [
        String(c.currency),
        formatMoney(String(c.total_cost_nanos)),
        formatMoney(String(c.without_feature_cost_nanos)),
        `${(Number(c.without_feature_share) * 100).toFixed(1)} %`,
      ]),
      out,
    );
  }
  if (report.unpriced) {
    const items = (report.unpriced as { items: Record<string, string | number>[] }).items;
    heading(
      out,
      `Unpriced usage (${items.length === 0 ? 'none: every line has a price' : 'cost unknown, not zero'})`,
    );
    if (items.length > 0) {
      const columns = Object.keys(items[0]!);
      printTable(
        columns,
        items.map((item) => columns.map((c) => String(item[c] ?? ''))),
        out,
      );
    }
  }
  if (report.alerts) {
    const alerts = (report.alerts as { alerts: Record<string, unknown>[] }).alerts;
    heading(out, `Alerts (${alerts.length})`);
    const counts = new Map<string, number>();
    for (const alert of alerts)
      counts.set(`${alert.severity} ${alert.rule}`, (counts.get(`${alert.severity} ${alert.rule}`) ?? 0) + 1);
    printTable(
      ['severity and rule', 'alerts'],
      [...counts.entries()].map(([k, n]) => [k, n]),
      out,
    );
  }
}
