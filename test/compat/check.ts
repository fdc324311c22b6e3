/**
 * ClickHouse compatibility check: every statement Tollgate sends, on 18.16 (the local and CI server)
 * and on a current release (the ClickHouse 26.9 engine embedded in chdb), compared result by result.
 *
 *   node test/compat/check.ts            # see test/compat/README.md
 *
 * How: the real code runs against a fresh database on the 18.16 server, through a recording HTTP proxy
 * (this file): the migrations (core applyMigrations), the sink's inserts and resync reads (sink writer,
 * TSV and JSONEachRow), core's JSONEachRow insert, every API route (buildApp + inject, with several
 * parameter sets), the CLI report and the demo's queries. The proxy forwards each request unchanged
 * (gzip body, URL settings) to 18.16, then runs the same statement, as the HTTP server assembles it
 * (URL `query` + body), with the same URL settings, on a chdb session; it compares the two answers and
 * returns the 18.16 one to the caller, so the run behaves exactly like the product on 18.16. So the
 * list of statements follows the code: nothing is written here but the data checks at the end
 * (whole-table dumps, column types).
 *
 * Exit code: 0 when every statement gave the same answer on both, 1 otherwise, 2 on a setup error.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { gunzipSync } from 'node:zlib';
import { buildApp, createKeyStore, generateApiKey } from '@tollgate/api';
import { isoTime } from '@tollgate/api/format';
import { demoAlertsQuery, demoVisibleQuery } from '@tollgate/cli/commands/demo';
import {
  type PendingDeadLetter,
  pendingDeadLettersQuery,
  pendingDeadLettersSummaryQuery,
  REPLAY_SOURCE_TOPICS,
  replayRow,
  storedPositionsQuery,
} from '@tollgate/cli/commands/dlq-queries';
import { dropPartitionStatement, partitionsQuery } from '@tollgate/cli/commands/prune-queries';
import { buildReport, SECTIONS } from '@tollgate/cli/commands/report';
import {
  applyMigrations,
  type ClickHouse,
  createClickHouse,
  createRegistry,
  dropDatabase,
  ensureDatabase,
  formatDateTime,
  loadMigrations,
  silentLogger,
} from '@tollgate/core';
import { alertRow, deadLetterRow, lineItemRows, type Row, runEventRow } from '@tollgate/sink/rows';
import { SINK_TABLES } from '@tollgate/sink/tables';
import { lineItemTsv } from '@tollgate/sink/tsv';
import { createSinkWriter } from '@tollgate/sink/writer';
import { alerts, deadLetters, jsonEvents, ODD_RUN_ID, sinkEvents } from './dataset.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CLICKHOUSE_URL = process.env.COMPAT_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123';
const VENV = process.env.COMPAT_VENV ?? join(ROOT, '.tollgate', 'compat-venv');
const PIP_PACKAGES = ['--no-deps', 'chdb-core==26.9.0'];
const WORK_DIR = join(ROOT, '.tollgate', 'compat');
const DATABASE = `tollgate_compat_${Date.now().toString(36)}`;
/** URL parameters that are HTTP plumbing, not settings: never SET on chdb. */
const HTTP_ONLY = new Set([
  'query',
  'database',
  'query_id',
  'session_id',
  'session_timeout',
  'session_check',
  'user',
  'password',
  'default_format',
  'enable_http_compression',
  'http_zlib_compression_level',
  'wait_end_of_query',
  'send_progress_in_http_headers',
  'compress',
  'decompress',
  'quota_key',
  'buffer_size',
]);

const started = performance.now();
const log = (text: string) =>
  process.stdout.write(
    `[compat ${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${text}\n`,
  );

// ---------------------------------------------------------------------------------------------------
// chdb: a venv of our own, and a helper process holding one session

function ensureVenv(): string {
  const python = join(VENV, 'bin', 'python');
  const probe = () =>
    spawnSync(
      python,
      [
        '-c',
        "import chdb, importlib.metadata as m, sys; sys.exit(0 if m.version('chdb-core') == '26.9.0' else 3)",
      ],
      { stdio: 'ignore' },
    ).status === 0;
  if (probe()) return python;
  log(
    `creating ${VENV}: python3 -m venv, pip install ${PIP_PACKAGES.join(' ')} (180 MB download, 560 MB installed)`,
  );
  for (const [command, args] of [
    ['python3', ['-m', 'venv', VENV]],
    [join(VENV, 'bin', 'pip'), ['install', '--disable-pip-version-check', '--no-input', ...PIP_PACKAGES]],
  ] as const) {
    const result = spawnSync(command, args, { stdio: 'inherit' });
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status})`);
  }
  if (!probe()) throw new Error(`${python}: chdb-core 26.9.0 still not importable`);
  return python;
}

interface ChdbAnswer {
  ok: boolean;
  output?: string;
  error?: string;
  version?: string;
}

interface Chdb {
  version: string;
  run(request: { sql: string; database?: string; settings: Record<string, string> }): Promise<ChdbAnswer>;
  close(): Promise<void>;
}

async function startChdb(python: string, sessionDir: string): Promise<Chdb> {
  const child = spawn(python, [join(import.meta.dirname, 'chdb_runner.py'), sessionDir], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting: ((answer: ChdbAnswer) => void)[] = [];
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => waiting.shift()?.(JSON.parse(line) as ChdbAnswer));
  const exited = new Promise<void>((done) => child.on('exit', () => done()));
  child.on('exit', (code) => {
    for (const resolveAnswer of waiting.splice(0))
      resolveAnswer({ ok: false, error: `chdb helper exited (${code})` });
  });
  const first = await new Promise<ChdbAnswer>((done) => waiting.push(done));
  if (!first.ok || !first.version) throw new Error(`chdb helper did not start: ${first.error}`);
  return {
    version: first.version,
    run(request) {
      return new Promise((done) => {
        waiting.push(done);
        child.stdin.write(`${JSON.stringify(request)}\n`);
      });
    },
    async close() {
      child.stdin.end();
      await exited;
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// the recording proxy

type Verdict = 'ok' | 'differs' | 'fails-on-26.9' | 'fails-on-18.16' | 'fails-on-both';

interface Exchange {
  n: number;
  step: string;
  name: string;
  sql: string;
  settings: Record<string, string>;
  old: { status: number; body: string };
  current: ChdbAnswer;
  verdict: Verdict;
  detail: string;
  /** Rows returned by 18.16 / 26.9 (queries only). */
  rows?: string;
}

const exchanges: Exchange[] = [];
/** Facts worth reporting that are not a comparison of one statement (they do not fail the check). */
const observations: string[] = [];
const settingsSeen = new Map<string, Set<string>>();
const plumbingSeen = new Set<string>();
let currentStep = 'setup';
function step(name: string): void {
  currentStep = name;
}

const firstLine = (text: string) =>
  text
    .trim()
    .split('\n')
    .find((line) => line.trim() !== '')
    ?.slice(0, 300) ?? '';

function startProxy(target: URL, chdb: Chdb): Promise<http.Server> {
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://proxy');
    const outgoing: http.OutgoingHttpHeaders = { ...req.headers, host: target.host };
    const decoded = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8');
    const upstream = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>(
      (done, fail) => {
        const forwarded = http.request(
          {
            host: target.hostname,
            port: target.port,
            method: req.method,
            path: req.url,
            headers: outgoing,
          },
          async (response) => {
            const parts: Buffer[] = [];
            for await (const part of response) parts.push(part as Buffer);
            done({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(parts) });
          },
        );
        forwarded.on('error', fail);
        forwarded.end(body);
      },
    ).catch((err: Error) => ({ status: 502, headers: {}, body: Buffer.from(`proxy: ${err.message}`) }));
    if (url.pathname === '/') await record(url, decoded, upstream, chdb);
    const headers = { ...upstream.headers };
    for (const name of ['transfer-encoding', 'connection', 'keep-alive', 'content-length'])
      delete headers[name];
    res.writeHead(upstream.status, { ...headers, 'content-length': upstream.body.length });
    res.end(upstream.body);
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)));
}

async function record(
  url: URL,
  body: string,
  old: { status: number; body: Buffer },
  chdb: Chdb,
): Promise<void> {
  const query = url.searchParams.get('query');
  const statement = query === null ? body : body === '' ? query : `${query}\n${body}`;
  if (statement.trim() === '') return;
  const settings: Record<string, string> = {};
  for (const [name, value] of url.searchParams) {
    if (HTTP_ONLY.has(name)) {
      plumbingSeen.add(name);
      continue;
    }
    settings[name] = value;
    const values = settingsSeen.get(name) ?? new Set();
    values.add(value);
    settingsSeen.set(name, values);
  }
  const current = await chdb.run({
    sql: statement,
    database: url.searchParams.get('database') ?? undefined,
    settings,
  });
  const exchange: Exchange = {
    n: exchanges.length + 1,
    step: currentStep,
    name: describe(statement, currentStep),
    sql: statement,
    settings,
    old: { status: old.status, body: old.body.toString('utf8') },
    current,
    ...judge(statement, old.status, old.body.toString('utf8'), current),
  };
  exchanges.push(exchange);
}

// ---------------------------------------------------------------------------------------------------
// naming and comparing statements

/** Which builder a statement came from: a distinctive fragment of each builder's text. */
const FINGERPRINTS: [string, RegExp][] = [
  ['applyMigrations: schema_migrations', /schema_migrations/],
  ['api allocationQuery', /groupArray\(unit\) AS units/],
  ['api costPerRunQuery', /toString\(count\(\)\) AS runs/],
  ['api topRunsQuery', /run_cost_nanos, run_lines/],
  ['api runAgentsQuery', /AS agent_cost_nanos/],
  ['api runSpawnsQuery', /AS child_name/],
  ['api runSummaryQuery', /^SELECT run_id, maxMerge\(feature\) AS run_feature/],
  ['api untaggedTotalsQuery', /AS without_feature_nanos/],
  ['api untaggedSourcesQuery', /AS cost_total_nanos/],
  ['api unpricedQuery', /AS quantity_total/],
  ['api alertsQuery', /FROM alerts FINAL/],
  ['api /admin/freshness (routes/spend.ts)', /AS lines_last_hour/],
  ['cli orgsWithSpend', /^SELECT DISTINCT org_id FROM line_items/],
  ['cli demo visible', /uniqExact\(event_id\) AS n FROM line_items WHERE has/],
  ['cli demo alerts', /^SELECT rule, severity, explanation FROM alerts/],
  ['sink storedOffsetsQuery', /AS partition, toString\(/],
  ['sink runningInsertsQuery', /FROM system\.processes WHERE startsWith/],
  ['sink stillRunningQuery/ownInsertQuery', /FROM system\.processes WHERE has\(/],
];

function describe(statement: string, stepName: string): string {
  const text = statement.split('\n').join(' ').replace(/\s+/g, ' ').trim();
  if (stepName === 'data check') return text.replace(/ FORMAT JSONEachRow$/, '').slice(0, 80);
  const insert = /^INSERT INTO (\S+?)(?: ?\(([^)]*)\))? ?(FORMAT \w+|VALUES)/i.exec(text);
  if (insert) {
    const columns = insert[2] ? ` (${insert[2].split(',').length} columns)` : '';
    const origin = /schema_migrations/.test(text) ? 'applyMigrations: ' : '';
    return `${origin}INSERT INTO ${insert[1]}${columns} ${insert[3] === 'VALUES' ? 'VALUES' : insert[3]}`;
  }
  const ddl = /^(CREATE|DROP) (TABLE|MATERIALIZED VIEW|DATABASE|VIEW)(?: IF (?:NOT )?EXISTS)? (\S+)/i.exec(
    text,
  );
  if (ddl) return `${ddl[1]} ${ddl[2]} ${ddl[3]}`;
  const name = FINGERPRINTS.find(([, pattern]) => pattern.test(text))?.[0] ?? text.slice(0, 60);
  const tables = [...new Set([...text.matchAll(/\bFROM `?(\w+(?:\.\w+)?)`?/g)].map((m) => m[1]))];
  return `${name} [${tables.join(', ')}]`;
}

/** The statement without its string literals, for looking at its structure. */
const withoutLiterals = (text: string) => text.replace(/'(?:\\.|[^'\\])*'/g, "''");

/** True when the outermost SELECT has an ORDER BY: then row order is part of the answer. */
function ordered(statement: string): boolean {
  const text = withoutLiterals(statement);
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0 && /^ORDER BY\b/i.test(text.slice(i, i + 9))) return true;
  }
  return false;
}

function parseRows(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Formatting-blind form: numbers and numeric strings as one canonical text, keys sorted. */
function canonical(value: unknown): unknown {
  if (typeof value === 'number') return canonicalNumber(String(value));
  if (typeof value === 'string' && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(value)) return canonicalNumber(value);
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  return value;
}

function canonicalNumber(text: string): string {
  if (/^-?\d+$/.test(text)) return BigInt(text).toString();
  return `#${Number(Number(text).toPrecision(12))}`;
}

/**
 * groupArray columns whose element order is unspecified (it follows the hash table of the inner GROUP BY,
 * which differs between versions) and which their consumer treats as a set of pairs.
 */
const UNORDERED_PAIRS: [RegExp, string, string, string][] = [
  [
    /groupArray\(unit\) AS units, groupArray\(q\) AS quantities/,
    'units',
    'quantities',
    'groupArray order is unspecified; routes/allocation.ts zips and sorts them by unit',
  ],
];

function sortPairs(row: Record<string, unknown>, left: string, right: string): Record<string, unknown> {
  const a = row[left];
  const b = row[right];
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return row;
  const zipped = a.map((value, i) => [JSON.stringify(value), JSON.stringify(b[i])] as const).sort();
  return {
    ...row,
    [left]: zipped.map(([value]) => JSON.parse(value)),
    [right]: zipped.map(([, value]) => JSON.parse(value)),
  };
}

/**
 * The zero DateTime is text `0000-00-00 00:00:00` on 18.16 and `1970-01-01 00:00:00` from 20.7 on
 * (ClickHouse#12442). The two count as equal only once the API reads both as "never set": asked of the
 * real isoTime (services/api/src/format.ts) at start.
 */
const ZERO_DATETIME_HANDLED = isoTime('0000-00-00 00:00:00') === null;

function zeroDateTimes(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row).map(([key, value]) => [
      key,
      typeof value === 'string' && value.startsWith('0000-00-00 00:00:00') ? '1970-01-01 00:00:00' : value,
    ]),
  );
}

function sameRows(a: unknown[], b: unknown[], keepOrder: boolean): boolean {
  const left = a.map((row) => JSON.stringify(row));
  const right = b.map((row) => JSON.stringify(row));
  if (!keepOrder) {
    left.sort();
    right.sort();
  }
  return left.length === right.length && left.every((row, i) => row === right[i]);
}

function judge(
  statement: string,
  oldStatus: number,
  oldBody: string,
  current: ChdbAnswer,
): { verdict: Verdict; detail: string; rows?: string } {
  const oldOk = oldStatus === 200;
  if (!oldOk && !current.ok)
    return {
      verdict: 'fails-on-both',
      detail: `18.16: ${firstLine(oldBody)}\n26.9: ${firstLine(current.error ?? '')}`,
    };
  if (!oldOk)
    return { verdict: 'fails-on-18.16', detail: `18.16 (HTTP ${oldStatus}): ${firstLine(oldBody)}` };
  if (!current.ok) return { verdict: 'fails-on-26.9', detail: `26.9: ${firstLine(current.error ?? '')}` };
  const output = current.output ?? '';
  if (!/FORMAT JSONEachRow\s*$/.test(statement)) {
    return oldBody === output
      ? { verdict: 'ok', detail: '' }
      : {
          verdict: 'differs',
          detail: `18.16: ${JSON.stringify(oldBody.slice(0, 200))}\n26.9: ${JSON.stringify(output.slice(0, 200))}`,
        };
  }
  const pairs = UNORDERED_PAIRS.find(([pattern]) => pattern.test(statement));
  const normalise = (row: Record<string, unknown>) => {
    const paired = pairs ? sortPairs(row, pairs[1], pairs[2]) : row;
    return ZERO_DATETIME_HANDLED ? zeroDateTimes(paired) : paired;
  };
  const oldRows = parseRows(oldBody).map(normalise);
  const newRows = parseRows(output).map(normalise);
  const rows = `${oldRows.length}/${newRows.length}`;
  const keepOrder = ordered(statement.replace(/FORMAT JSONEachRow\s*$/, ''));
  const note = [
    pairs ? `${pairs[1]}/${pairs[2]} compared as unordered pairs (${pairs[3]})` : '',
    ZERO_DATETIME_HANDLED && /"0000-00-00 00:00:00"/.test(oldBody) ? 'zero DateTime text normalised' : '',
  ]
    .filter(Boolean)
    .join('; ');
  if (sameRows(oldRows, newRows, keepOrder)) return { verdict: 'ok', detail: note, rows };
  const zeroOnly =
    !ZERO_DATETIME_HANDLED && sameRows(oldRows.map(zeroDateTimes), newRows.map(zeroDateTimes), keepOrder);
  const how = zeroOnly
    ? 'same values except the zero DateTime text (18.16: 0000-00-00 00:00:00, 26.9: 1970-01-01 00:00:00)'
    : sameRows(oldRows, newRows, false)
      ? 'same rows, another order'
      : sameRows(oldRows.map(canonical), newRows.map(canonical), keepOrder)
        ? 'same values, other JSON formatting (quoting or number text)'
        : sameRows(oldRows.map(canonical), newRows.map(canonical), false)
          ? 'same values in another order, other JSON formatting'
          : 'other values';
  const firstDiff = oldRows.findIndex((row, i) => JSON.stringify(row) !== JSON.stringify(newRows[i]));
  const at = firstDiff === -1 ? oldRows.length : firstDiff;
  return {
    verdict: 'differs',
    rows,
    detail: `${how}; ${oldRows.length} vs ${newRows.length} rows; first difference at row ${at}:\n  18.16: ${JSON.stringify(oldRows[at] ?? null)}\n  26.9:  ${JSON.stringify(newRows[at] ?? null)}`,
  };
}

// ---------------------------------------------------------------------------------------------------
// the scenario: what Tollgate does, in order

const RANGE_DAY = 'from=2026-01-15T00:00:00Z&to=2026-01-16T00:00:00Z';
const RANGE_TWO_DAYS = 'from=2026-01-15T00:00:00Z&to=2026-01-17T00:00:00Z';
const RANGE_UNALIGNED = 'from=2026-01-15T10:07:00Z&to=2026-01-16T09:30:00Z';

/** [org, role, path] of every API request the check makes. */
const API_REQUESTS: [string, 'reader' | 'admin', string][] = [
  ['acme', 'reader', `/v1/allocation?group_by=feature&${RANGE_DAY}`],
  ['acme', 'reader', `/v1/allocation?${RANGE_TWO_DAYS}`],
  ['acme', 'reader', `/v1/allocation?grain=hour&group_by=agent,model&${RANGE_TWO_DAYS}`],
  [
    'acme',
    'reader',
    `/v1/allocation?group_by=customer,environment&feature=search&feature=&${RANGE_TWO_DAYS}`,
  ],
  ['acme', 'reader', `/v1/allocation?group_by=org,provider,category&limit=3&${RANGE_TWO_DAYS}`],
  ['acme', 'reader', `/v1/allocation?group_by=tag:team&${RANGE_TWO_DAYS}`],
  ['acme', 'reader', `/v1/allocation?grain=hour&group_by=feature&tag=team=growth&tag=team=&${RANGE_DAY}`],
  ['acme', 'reader', `/v1/allocation?group_by=category,model&${RANGE_UNALIGNED}`],
  ['acme', 'reader', `/v1/allocation?group_by=tag:${encodeURIComponent("k'ey")}&${RANGE_DAY}`],
  ['acme', 'reader', `/v1/runs/cost-per-run?${RANGE_TWO_DAYS}`],
  ['acme', 'reader', `/v1/runs/cost-per-run?feature=search&feature=research&${RANGE_DAY}`],
  ['acme', 'reader', `/v1/runs/top?${RANGE_TWO_DAYS}`],
  ['acme', 'reader', `/v1/runs/top?limit=2&feature=search&${RANGE_UNALIGNED}`],
  ['acme', 'reader', '/v1/runs/run-1/tree'],
  ['acme', 'reader', '/v1/runs/run-5/tree'],
  ['acme', 'reader', `/v1/runs/${encodeURIComponent(ODD_RUN_ID)}/tree`],
  ['acme', 'reader', '/v1/runs/run-g/tree'],
  ['acme', 'reader', '/v1/runs/run-7/tree'],
  ['acme', 'reader', `/v1/spend/untagged?${RANGE_DAY}`],
  ['acme', 'reader', `/v1/spend/untagged?limit=2&${RANGE_UNALIGNED}`],
  ['acme', 'reader', `/v1/spend/unpriced?${RANGE_TWO_DAYS}`],
  ['acme', 'reader', `/v1/alerts?${RANGE_TWO_DAYS}`],
  ['acme', 'reader', `/v1/alerts?severity=critical&severity=info&${RANGE_TWO_DAYS}`],
  ['acme', 'admin', '/v1/admin/freshness'],
  ['nobody', 'admin', '/v1/admin/freshness'],
  ['globex', 'reader', `/v1/allocation?group_by=feature,customer&${RANGE_TWO_DAYS}`],
  ['globex', 'reader', `/v1/runs/cost-per-run?${RANGE_TWO_DAYS}`],
  ['initech', 'reader', `/v1/allocation?group_by=agent,category&${RANGE_DAY}`],
  ['initech', 'reader', '/v1/runs/run-i1/tree'],
  ['initech', 'reader', `/v1/spend/unpriced?${RANGE_DAY}`],
  ['initech', 'reader', `/v1/spend/untagged?${RANGE_DAY}`],
];

/** Whole tables and schema, our own SQL: did the inserts and the materialized views store the same? */
const DATA_CHECKS = [
  'SELECT name, engine FROM system.tables WHERE database = currentDatabase() ORDER BY name',
  'SELECT table, name, type FROM system.columns WHERE database = currentDatabase() ORDER BY table, name',
  'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
  'SELECT * FROM line_items ORDER BY org_id, event_id, line_no, source_offset',
  'SELECT * FROM run_events ORDER BY org_id, event_id',
  'SELECT * FROM alerts ORDER BY alert_id, inserted_at',
  'SELECT * FROM alerts FINAL ORDER BY alert_id',
  'SELECT * FROM dead_letters ORDER BY dlq_partition, dlq_offset',
  'SELECT * FROM dead_letter_replays ORDER BY source_topic, source_partition, source_offset',
  'SELECT org_id, hour, feature, customer_id, environment, agent_name, provider, model, category, unit, currency, sum(cost_nanos) AS c, sum(lines) AS l, sum(unpriced_lines) AS u, sum(quantity) AS q, sum(unpriced_quantity) AS uq FROM line_items_by_attribution_hourly GROUP BY org_id, hour, feature, customer_id, environment, agent_name, provider, model, category, unit, currency ORDER BY org_id, hour, feature, customer_id, environment, agent_name, provider, model, category, unit, currency',
  'SELECT org_id, run_id, agent_id, parent_agent_id, agent_name, agent_depth, feature, customer_id, environment, currency, hour, sum(cost_nanos) AS c, sum(lines) AS l, sum(unpriced_lines) AS u FROM line_items_by_run_agent_hourly GROUP BY org_id, run_id, agent_id, parent_agent_id, agent_name, agent_depth, feature, customer_id, environment, currency, hour ORDER BY org_id, run_id, agent_id, parent_agent_id, agent_name, agent_depth, feature, customer_id, environment, currency, hour',
  'SELECT org_id, run_id, maxMerge(feature) AS f, maxMerge(customer_id) AS c, maxMerge(environment) AS e, minIfMerge(started_at) AS s, maxIfMerge(ended_at) AS x, argMaxIfMerge(outcome) AS o FROM runs_monthly GROUP BY org_id, run_id ORDER BY org_id, run_id',
];

async function scenario(ch: ClickHouse, proxyUrl: string): Promise<string[]> {
  const notes: string[] = [];
  const logger = silentLogger();

  step('database');
  await ensureDatabase({ url: proxyUrl, database: DATABASE, logger });

  step('migrations');
  const migrations = await loadMigrations(join(ROOT, 'schemas', 'clickhouse'));
  const applied = await applyMigrations(ch, migrations);
  log(`migrations applied on 18.16: ${applied.applied.join(', ')}`);
  step('migrations, again (all applied)');
  const again = await applyMigrations(ch, migrations);
  if (again.applied.length > 0 || again.changed.length > 0)
    notes.push(`second applyMigrations: ${JSON.stringify(again)}`);

  step('sink inserts');
  const insertedAt = formatDateTime(new Date());
  const writer = createSinkWriter({ clickhouse: ch, instanceId: 'compat' });
  const events = sinkEvents();
  const position = (i: number) => ({
    topic: 'tollgate.priced.v1',
    partition: i % 3,
    offset: String(100 + i),
  });
  const tsv = events
    .map((event, i) => lineItemTsv(event, position(i), insertedAt))
    .filter((block) => block !== '');
  const lineItemsQueryId = writer.newQueryId('line_items');
  await writer.insert('line_items', { tsv }, lineItemsQueryId);
  const runRows = events
    .map((event, i) => runEventRow(event, position(i), insertedAt))
    .filter((row): row is Row => row !== undefined);
  await writer.insert('run_events', runRows, writer.newQueryId('run_events'));
  const { first, refired } = alerts();
  await writer.insert(
    'alerts',
    first.map((alert, i) =>
      alertRow(alert, { topic: 'tollgate.alerts.v1', partition: 0, offset: String(i) }, insertedAt),
    ),
    writer.newQueryId('alerts'),
  );
  const later = formatDateTime(new Date(Date.now() + 60_000));
  await writer.insert(
    'alerts',
    refired.map((alert, i) =>
      alertRow(alert, { topic: 'tollgate.alerts.v1', partition: 1, offset: String(i) }, later),
    ),
    writer.newQueryId('alerts'),
  );
  await writer.insert(
    'dead_letters',
    deadLetters().map((letter, i) =>
      deadLetterRow(letter, { topic: 'tollgate.dlq.v1', partition: i % 2, offset: String(i) }),
    ),
    writer.newQueryId('dead_letters'),
  );
  const lineCount = events.reduce((n, event) => n + event.line_items.length, 0);

  step('core ch.insert (JSONEachRow, the API fixtures path)');
  const initech = jsonEvents();
  const jsonPosition = (i: number) => ({ topic: 'tollgate.priced.v1', partition: 3, offset: String(i) });
  await ch.insert(
    'line_items',
    initech.flatMap((event, i) => lineItemRows(event, jsonPosition(i), insertedAt)),
  );
  await ch.insert(
    'run_events',
    initech
      .map((event, i) => runEventRow(event, jsonPosition(i), insertedAt))
      .filter((row): row is Row => row !== undefined),
  );
  const totalLines = lineCount + initech.reduce((n, event) => n + event.line_items.length, 0);
  log(
    `inserted ${totalLines} line items, ${runRows.length + initech.filter((e) => e.line_items.length === 0).length} run events, ${first.length + refired.length} alerts, ${deadLetters().length} dead letters`,
  );

  step('sink resync reads');
  for (const table of SINK_TABLES) {
    const topic = table === 'alerts' ? 'tollgate.alerts.v1' : 'tollgate.priced.v1';
    await writer.storedOffsets(table, topic, [
      { partition: 0, fromOffset: '0' },
      { partition: 1, fromOffset: '105' },
      { partition: 2, fromOffset: '9223372036854775000' },
    ]);
  }
  await writer.waitForRunningInserts({ pollMs: 50, timeoutMs: 5_000 });
  await writer.waitForInsert(lineItemsQueryId, { pollMs: 50, timeoutMs: 5_000 });

  step('api');
  const keys = new Map<string, string>();
  const records = [];
  for (const [org, role] of new Map(API_REQUESTS.map(([o, r]) => [`${o}:${r}`, [o, r] as const])).values()) {
    const generated = generateApiKey(`compat-${org}-${role}`, org, role);
    keys.set(`${org}:${role}`, generated.key);
    records.push(generated.record);
  }
  const app = buildApp({
    clickhouse: ch,
    keys: createKeyStore(records),
    logger,
    registry: createRegistry('compat'),
  });
  try {
    for (const [org, role, path] of API_REQUESTS) {
      step(`api ${org} GET ${path.split('&from=')[0]?.split('?from=')[0]}`);
      const response = await app.inject({
        method: 'GET',
        url: path,
        headers: { authorization: `Bearer ${keys.get(`${org}:${role}`)}` },
      });
      const expected = path.includes('/run-g/tree') ? 404 : 200;
      if (response.statusCode !== expected)
        notes.push(
          `API ${org} ${path}: HTTP ${response.statusCode} on 18.16 (expected ${expected}): ${response.body.slice(0, 200)}`,
        );
      // what a client of the API sees on 18.16 (the answers the API builds from the 18.16 rows)
      const zeroTimes = [...response.body.matchAll(/"(\w+)":"0000-00-00T00:00:00Z"/g)].map((m) => m[1]);
      if (zeroTimes.length > 0)
        observations.push(
          `API ${org} GET ${path.split('?')[0]} on 18.16 answers ${[...new Set(zeroTimes)].join(', ')} = "0000-00-00T00:00:00Z" (null on 20.7+)`,
        );
    }
  } finally {
    await app.close();
  }

  step('cli report');
  for (const by of ['feature', 'tag:team']) {
    await buildReport({
      clickhouse: ch,
      orgs: [],
      from: new Date('2026-01-15T00:00:00Z'),
      to: new Date('2026-01-17T00:00:00Z'),
      by,
      sections: by === 'feature' ? SECTIONS : ['spend'],
    });
  }

  step('cli demo');
  const runIds = ['run-1', 'run-5', ODD_RUN_ID];
  await ch.rows(demoVisibleQuery(runIds));
  await ch.rows(demoAlertsQuery(runIds));

  step('cli dlq replay');
  const replayFilter = {
    stage: 'pricer',
    sourceTopics: REPLAY_SOURCE_TOPICS.pricer,
    from: new Date('2000-01-01T00:00:00Z'),
    to: new Date('2100-01-01T00:00:00Z'),
  };
  await ch.rows(pendingDeadLettersSummaryQuery(replayFilter));
  const pending = await ch.rows<PendingDeadLetter>(pendingDeadLettersQuery(replayFilter, 2));
  const replayedAt = new Date('2026-01-15T12:00:00Z');
  await ch.insert(
    'dead_letter_replays',
    pending.map((letter, i) => replayRow(letter, letter.source_partition, String(500 + i), replayedAt)),
  );
  await ch.rows(pendingDeadLettersQuery({ ...replayFilter, reasonCode: 'unknown_fingerprint' }, 10));
  await ch.rows(pendingDeadLettersSummaryQuery(replayFilter));
  // the sink's replay: its letters a page at a time, and which of them are stored already
  const sinkFilter = { ...replayFilter, stage: 'sink', sourceTopics: REPLAY_SOURCE_TOPICS.sink };
  await ch.rows(pendingDeadLettersQuery(sinkFilter, 2, 1));
  if (pending.length > 0) await ch.rows(storedPositionsQuery(pending));

  step('cli prune');
  await ch.rows(
    partitionsQuery(DATABASE, ['line_items', 'line_items_by_attribution_hourly', 'dead_letters']),
  );
  // a month with no data: the statement's syntax on both engines, the data checks below unchanged
  await ch.exec(dropPartitionStatement('line_items', '200001'));

  step('data check');
  for (const query of DATA_CHECKS) await ch.rows(query);
  return notes;
}

// ---------------------------------------------------------------------------------------------------

function printTable(): void {
  const rows = exchanges.map((e) => [String(e.n), e.step, e.name, e.rows ?? '', e.verdict]);
  const headers = ['#', 'step', 'statement', 'rows', 'result'];
  const widths = headers.map((h, i) =>
    Math.min(90, Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length))),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.slice(0, widths[i]).padEnd(widths[i] ?? 0))
      .join(' | ')
      .trimEnd();
  process.stdout.write(`\n${line(headers)}\n${widths.map((w) => '-'.repeat(w)).join('-+-')}\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
}

async function main(): Promise<number> {
  const target = new URL(CLICKHOUSE_URL);
  const versionResponse = await fetch(`${CLICKHOUSE_URL}/?query=${encodeURIComponent('SELECT version()')}`);
  const oldVersion = (await versionResponse.text()).trim();
  if (!versionResponse.ok) throw new Error(`ClickHouse at ${CLICKHOUSE_URL}: ${oldVersion}`);
  log(`HTTP server ${CLICKHOUSE_URL}: ClickHouse ${oldVersion}; database ${DATABASE}`);
  const python = ensureVenv();
  mkdirSync(WORK_DIR, { recursive: true });
  const sessionDir = join(WORK_DIR, `chdb-${process.pid}`);
  rmSync(sessionDir, { recursive: true, force: true });
  const chdb = await startChdb(python, sessionDir);
  log(`chdb session ${sessionDir}: ClickHouse ${chdb.version}`);
  const proxy = await startProxy(target, chdb);
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const ch = createClickHouse({ url: proxyUrl, database: DATABASE, logger: silentLogger() });
  let notes: string[] = [];
  try {
    notes = await scenario(ch, proxyUrl);
  } catch (err) {
    notes.push(`scenario stopped: ${(err as Error).message}`);
  } finally {
    await ch.close();
    proxy.close();
    await chdb.close();
    await dropDatabase({ url: CLICKHOUSE_URL, database: DATABASE, logger: silentLogger() });
    rmSync(sessionDir, { recursive: true, force: true });
    log(`dropped ${DATABASE} on 18.16; removed the chdb session`);
  }

  printTable();
  const bad = exchanges.filter((e) => e.verdict !== 'ok');
  for (const e of bad) {
    process.stdout.write(`\n#${e.n} ${e.verdict}: ${e.step} / ${e.name}\n${e.detail}\n`);
    process.stdout.write(`  SQL: ${e.sql.slice(0, 2000).replace(/\n(?=FORMAT)/, ' ')}\n`);
  }
  const counts = new Map<Verdict, number>();
  for (const e of exchanges) counts.set(e.verdict, (counts.get(e.verdict) ?? 0) + 1);
  process.stdout.write(
    `\nsettings sent in the URL (SET on chdb): ${[...settingsSeen].map(([k, v]) => `${k}=${[...v].join('|')}`).join(', ') || 'none'}\n`,
  );
  process.stdout.write(`HTTP-only parameters (not replayed on chdb): ${[...plumbingSeen].join(', ')}\n`);
  for (const note of notes) process.stdout.write(`note: ${note}\n`);
  for (const seen of new Set(observations)) process.stdout.write(`observed: ${seen}\n`);
  const report = join(WORK_DIR, 'last-run.json');
  writeFileSync(
    report,
    JSON.stringify({ oldVersion, newVersion: chdb.version, database: DATABASE, notes, exchanges }, null, 1),
  );
  process.stdout.write(
    `\n${exchanges.length} statements: ${[...counts].map(([v, n]) => `${n} ${v}`).join(', ')}; details in ${report}\n`,
  );
  log('done');
  return bad.length === 0 && notes.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`compat check: ${(err as Error).stack ?? err}\n`);
    process.exit(2);
  },
);
