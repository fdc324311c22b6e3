import { DIMENSION_NAMES } from '@tollgate/api';
import { createClickHouse, silentLogger } from '@tollgate/core';
import { usageError } from '../output.ts';
import type { ProgramDeps } from '../program.ts';
import { buildReport, orgsWithSpend, printReport, SECTIONS, type Section } from './report.ts';

export interface ReportFlags {
  org?: string;
  since: string;
  from?: string;
  to?: string;
  by: string;
  section?: string;
  format: string;
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number {
  const match = /^(\d+)([mhd])$/.exec(text.trim());
  if (!match) throw usageError(`--since must look like 30m, 6h or 7d, got ${JSON.stringify(text)}`);
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

export function parseTime(option: string, text: string): Date {
  const date = new Date(text);
  if (Number.isNaN(date.getTime()))
    throw usageError(`${option} must be an ISO-8601 time, got ${JSON.stringify(text)}`);
  return date;
}

/**
 * The default range ends at the next whole hour and starts on a whole hour, so the API can answer
 * from the hourly rollups.
 */
export function reportRange(
  flags: Pick<ReportFlags, 'since' | 'from' | 'to'>,
  now = Date.now(),
): { from: Date; to: Date } {
  const hour = 3_600_000;
  const to = flags.to ? parseTime('--to', flags.to) : new Date(Math.ceil(now / hour) * hour);
  const from = flags.from
    ? parseTime('--from', flags.from)
    : new Date(Math.floor((to.getTime() - parseDuration(flags.since)) / hour) * hour);
  if (from >= to) throw usageError('the range is empty: --from must be before --to');
  return { from, to };
}

/** `--by`: one dimension or one `tag:<key>` (the spend table has one grouping column). */
export function parseBy(text: string): string {
  const by = text.trim();
  const known = `${DIMENSION_NAMES.join(', ')} or tag:<key>`;
  if (by.includes(',')) throw usageError(`--by takes one dimension (${known}), got ${JSON.stringify(text)}`);
  if (by.startsWith('tag:') ? by.length === 4 : !(DIMENSION_NAMES as string[]).includes(by))
    throw usageError(`--by must be ${known}, got ${JSON.stringify(text)}`);
  return by;
}

export async function runReport(
  deps: ProgramDeps,
  flags: ReportFlags,
  out: NodeJS.WritableStream,
): Promise<void> {
  if (!['table', 'json', 'csv'].includes(flags.format))
    throw usageError(`--format must be table, json or csv, got ${JSON.stringify(flags.format)}`);
  const by = parseBy(flags.by);
  const sections = (
    flags.section ? flags.section.split(',').map((s) => s.trim()) : [...SECTIONS]
  ) as Section[];
  for (const section of sections) {
    if (!(SECTIONS as readonly string[]).includes(section))
      throw usageError(
        `--section: unknown section ${JSON.stringify(section)}; known: ${SECTIONS.join(', ')}`,
      );
  }
  const orgs = flags.org
    ? flags.org
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean)
    : [];
  if (flags.format === 'csv' && (sections.length !== 1 || orgs.length !== 1)) {
    throw usageError('--format csv prints one table: give one --org and one --section');
  }
  const { from, to } = reportRange(flags);
  const clickhouse = createClickHouse({ ...deps.config.clickhouse, logger: silentLogger() });
  try {
    const reports = await buildReport({
      clickhouse,
      orgs,
      from,
      to,
      by,
      sections,
      csv: flags.format === 'csv',
    });
    if (flags.format === 'json') {
      out.write(
        `${JSON.stringify({ from: from.toISOString(), to: to.toISOString(), orgs: reports }, null, 2)}\n`,
      );
    } else if (flags.format === 'csv') {
      out.write(String(reports[0]?.[sections[0]!] ?? ''));
    } else {
      out.write(`Tollgate report ${from.toISOString()} → ${to.toISOString()}\n`);
      if (reports.length === 0) out.write('no spend in this range\n');
      // An org asked for by name with nothing in the range (a typo, say): one line, not empty tables.
      const withSpend = orgs.length > 0 ? await orgsWithSpend(clickhouse, from, to) : undefined;
      for (const report of reports) {
        if (withSpend === undefined || withSpend.includes(report.org)) printReport(report, by, out);
        else
          out.write(
            `\n=== org ${report.org} ===\nno spend recorded in this range` +
              `${withSpend.length > 0 ? ` (orgs with spend in it: ${withSpend.join(', ')})` : ''}\n`,
          );
      }
    }
  } finally {
    await clickhouse.close();
  }
}
