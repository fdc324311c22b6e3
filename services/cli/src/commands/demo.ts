/**
 * What `tollgate up` shows a newcomer: a short simulated fleet with each field scenario, run through
 * the pipeline that just started, then the report and the alerts it raised.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type ClickHouse, createClickHouse, type Sql, silentLogger, sql } from '@tollgate/core';
import { publishPolicyChanges } from '@tollgate/detector/set-policy';
import { cliKafka } from '../kafka.ts';
import type { ProgramDeps } from '../program.ts';
import { costlyEvents, type RunLedger } from '../simulate/index.ts';
import { buildReport, categoryRows, type OrgReport, printReport, share, spendRows } from './report.ts';
import { reportRange } from './report-command.ts';
import { runSimulation } from './simulate.ts';

const DEMO_ORGS = ['acme', 'initech', 'globex'];

/** Distinct events with line items among these runs (test/compat runs it on current ClickHouse too). */
export function demoVisibleQuery(runIds: string[]): Sql {
  return sql`SELECT uniqExact(event_id) AS n FROM line_items WHERE has(${runIds}, run_id)`;
}

/** The alerts raised for these runs, oldest first. */
export function demoAlertsQuery(runIds: string[]): Sql {
  return sql`SELECT rule, severity, explanation FROM alerts WHERE has(${runIds}, run_id) ORDER BY detected_at, rule LIMIT 1000`;
}

/** Polls until ClickHouse holds the line items of every costly event the simulation sent. */
async function waitUntilVisible(ch: ClickHouse, ledgers: RunLedger[], timeoutMs: number): Promise<boolean> {
  const runIds = ledgers.map((l) => l.plan.runId);
  const expected = costlyEvents(ledgers);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [row] = await ch.rows<{ n: string }>(demoVisibleQuery(runIds));
    if (Number(row?.n) >= expected) return true;
    await sleep(500);
  }
  return false;
}

async function demoAlerts(
  ch: ClickHouse,
  ledgers: RunLedger[],
): Promise<{ rule: string; severity: string; explanation: string }[]> {
  return ch.rows(demoAlertsQuery(ledgers.map((l) => l.plan.runId)));
}

export async function runDemo(deps: ProgramDeps, out: NodeJS.WriteStream = process.stdout): Promise<void> {
  const { config } = deps;
  // The research team's per-run threshold, so the fan-out scenario has a line to cross.
  await publishPolicyChanges(cliKafka(config.kafka), config.topics.policies, [
    {
      set: {
        policy_id: 'demo-initech-research',
        kind: 'thresholds',
        scope: { org_id: 'initech', feature: 'research' },
        currency: 'USD',
        run: { cost_per_run: '1.00' },
        feature: {},
        description: 'tollgate up demo: research runs over $1.00 are worth a look',
      },
    },
  ]);
  const result = await runSimulation(
    deps,
    {
      preset: 'scenarios',
      runs: '20',
      rate: '0',
      duration: '0',
      orgs: DEMO_ORGS.join(','),
      features: 'support-bot',
      seed: '2026',
    },
    out,
  );
  const ch = createClickHouse({ ...config.clickhouse, logger: silentLogger() });
  try {
    out.write('tollgate: waiting for the pipeline to price and store the fleet…\n');
    const visible = await waitUntilVisible(ch, result.ledgers, 90_000);
    if (!visible)
      out.write('  (not all of it arrived within 90 s: see `tollgate status` and the service logs)\n');
    // Alerts travel detector → alert topic → sink: give them a moment, until they stop arriving.
    let alerts = await demoAlerts(ch, result.ledgers);
    for (let quiet = 0; quiet < 3; ) {
      await sleep(1_000);
      const again = await demoAlerts(ch, result.ledgers);
      quiet = again.length === alerts.length ? quiet + 1 : 0;
      alerts = again;
    }
    const { from, to } = reportRange({ since: '24h' });
    const reports = await buildReport({
      clickhouse: ch,
      orgs: DEMO_ORGS,
      from,
      to,
      by: 'feature',
      sections: ['spend', 'categories', 'cost-per-run', 'untagged', 'unpriced'],
    });
    out.write(`\nTollgate report, last 24 hours (${from.toISOString()} → ${to.toISOString()})\n`);
    out.write(`  ${acmeHeadline(reports.find((report) => report.org === 'acme'))}\n`);
    out.write(`  ${initechHeadline(result.ledgers)}\n`);
    out.write(`  ${globexHeadline(reports.find((report) => report.org === 'globex'))}\n`);
    for (const report of reports) printReport(report, 'feature', out);
    out.write(`\nAlerts this demo raised (${alerts.length}):\n`);
    const shown = new Map<string, number>();
    for (const alert of alerts) {
      const n = shown.get(alert.rule) ?? 0;
      shown.set(alert.rule, n + 1);
      if (n < 2)
        out.write(`  ${alert.severity.toUpperCase().padEnd(8)} ${alert.rule}: ${alert.explanation}\n`);
    }
    for (const [rule, n] of shown) if (n > 2) out.write(`  … and ${n - 2} more ${rule} alerts\n`);
  } finally {
    await ch.close();
  }
}

/** The shared-key scenario in the figures the report below shows: untagged share, then the top feature. */
export function acmeHeadline(report: OrgReport | undefined): string {
  const rows = report ? spendRows(report, 'feature') : [];
  const total = rows.reduce((sum, row) => sum + row.nanos, 0n);
  const untagged = rows.find((row) => row.value === '(untagged)')?.nanos ?? 0n;
  const top = rows.find((row) => row.value !== '(untagged)');
  const tagged = top
    ? `, then tagged: ${top.value} drives ${share(top.nanos, total - untagged)} of tagged spend`
    : '';
  return `acme: one shared key, first untagged (${share(untagged, total)} of spend)${tagged}; a per-run ceiling stopped a looping run`;
}

/** The fan-out scenario as the SDK played it: how many workers were asked for and granted. */
export function initechHeadline(ledgers: RunLedger[]): string {
  for (const ledger of ledgers) {
    if (ledger.plan.org !== 'initech') continue;
    for (const [index, granted] of ledger.granted) {
      const action = ledger.plan.actions[index];
      if (action?.op === 'spawn' && granted < action.count)
        return `initech: one run asked for ${action.count} workers; the subagent ceiling granted ${granted}`;
    }
  }
  return 'initech: no spawn was cut down by the subagent ceiling';
}

/** The hidden-costs scenario by cost category: what sandboxes and search cost next to tokens. */
export function globexHeadline(report: OrgReport | undefined): string {
  const rows = report ? categoryRows(report) : [];
  const total = rows.reduce((sum, row) => sum + row.nanos, 0n);
  const of = (category: string) => share(rows.find((row) => row.value === category)?.nanos ?? 0n, total);
  return `globex: with prompt caching on, sandboxes left running take ${of('sandbox')} and per-query search ${of('retrieval')} of spend, tokens ${of('tokens')}`;
}
