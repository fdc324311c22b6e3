import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  ACL_CLIENT_DESCRIPTIONS,
  ACL_CLIENTS,
  createKafka,
  silentLogger,
  TollgateError,
} from '@tollgate/core';
import {
  clickhouseSecureClientEnvFile,
  clickhouseUrl,
  infraDown,
  infraStatus,
  infraUp,
  kafkaBrokers,
  secureClientEnvFile,
} from '@tollgate/infra';
import { Command } from 'commander';
import { runAcls } from './commands/acls.ts';
import {
  checkRateCards,
  deletePolicies,
  publishRateCardFile,
  type RestateFlags,
  restateRange,
  setPolicies,
} from './commands/admin.ts';
import { type AlertFilterFlags, alertFilter, followAlerts, formatAlert } from './commands/alerts.ts';
import { runDemo } from './commands/demo.ts';
import { REPLAYABLE_STAGES, runReplay } from './commands/dlq.ts';
import {
  type ListFlags,
  printPolicyList,
  printPolicyShow,
  readPolicies,
  type ShowFlags,
} from './commands/policies.ts';
import { runProvision } from './commands/provision.ts';
import { runPrune } from './commands/prune.ts';
import type { PruneGroup } from './commands/prune-queries.ts';
import { printRateCard, printRateCardList, readRateCards } from './commands/ratecards.ts';
import { SECTIONS } from './commands/report.ts';
import { type ReportFlags, runReport } from './commands/report-command.ts';
import { runSimulation, type SimulateFlags } from './commands/simulate.ts';
import type { readCliConfig } from './config.ts';
import { printTable } from './output.ts';
import { PRESETS } from './simulate/index.ts';
import { ensureLocalKeys } from './stack/keys.ts';
import { type ConsumerService, groupLag, serviceGroups } from './stack/lag.ts';
import {
  type ServiceName,
  type StackSettings,
  servicesStatus,
  startServices,
  stopServices,
} from './stack/services.ts';

interface AlertsFlags extends AlertFilterFlags {
  fromBeginning: boolean;
  json: boolean;
  count?: string;
  for?: string;
}

export interface ProgramDeps {
  root: string;
  config: ReturnType<typeof readCliConfig>;
}

const progress = (line: string) => process.stdout.write(`  ${line}\n`);

export function infraSettings({ root, config }: ProgramDeps, quiet = false): StackSettings {
  return {
    root,
    home: config.home,
    kafkaPort: config.TOLLGATE_KAFKA_PORT,
    kafkaControllerPort: config.TOLLGATE_KAFKA_CONTROLLER_PORT,
    kafkaSecurePort: config.TOLLGATE_KAFKA_SECURE_PORT,
    clickhouseHttpPort: config.TOLLGATE_CLICKHOUSE_HTTP_PORT,
    clickhouseTcpPort: config.TOLLGATE_CLICKHOUSE_TCP_PORT,
    clickhouseHttpsPort: config.TOLLGATE_CLICKHOUSE_HTTPS_PORT,
    clickhouseDatabase: config.CLICKHOUSE_DATABASE,
    topicPrefix: config.TOPIC_PREFIX,
    allowApt: config.TOLLGATE_ALLOW_APT === '1',
    progress: quiet ? () => {} : progress,
    servicePorts: {
      pricer: config.TOLLGATE_PRICER_PORT,
      sink: config.TOLLGATE_SINK_PORT,
      detector: config.TOLLGATE_DETECTOR_PORT,
      ingest: config.TOLLGATE_INGEST_PORT,
      api: config.TOLLGATE_API_PORT,
    },
  };
}

async function up(deps: ProgramDeps): Promise<void> {
  const settings = infraSettings(deps);
  process.stdout.write('tollgate: starting local infrastructure\n');
  const result = await infraUp(settings);
  const verb = (started: boolean) => (started ? 'started' : 'already running');
  progress(
    `kafka       ${verb(result.kafka.started)} (pid ${result.kafka.pid}) at ${kafkaBrokers(settings).join(',')}`,
  );
  progress(
    `clickhouse  ${verb(result.clickhouse.started)} (pid ${result.clickhouse.pid}) at ${clickhouseUrl(settings)}`,
  );
  progress(
    `topics created: ${result.topicsCreated.length}, migrations applied: ${result.migrationsApplied.length}`,
  );
  progress(`logs under ${settings.home}/logs; ready in ${(result.elapsedMs / 1000).toFixed(1)} s`);
}

async function upPipeline(deps: ProgramDeps, { demo }: { demo: boolean }): Promise<void> {
  await up(deps);
  const settings = infraSettings(deps);
  const keys = ensureLocalKeys(settings.home);
  process.stdout.write('tollgate: starting the pipeline services\n');
  const services = await startServices(settings, { API_KEYS_FILE: keys.recordsFile });
  for (const service of services) {
    const verb = service.started ? 'started' : 'already running';
    progress(`${service.name.padEnd(11)} ${verb} (pid ${service.pid}) on 127.0.0.1:${service.port}`);
  }
  if (demo) await runDemo(deps);
  const acmeKey = keys.keys.get('acme') ?? '<key>';
  const api = `http://127.0.0.1:${settings.servicePorts.api}`;
  const day = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString().slice(0, 10);
  process.stdout.write(
    [
      '',
      'Tollgate is running.',
      `  API        ${api} (OpenAPI at /openapi.json); keys per org in ${settings.home}/api-keys.txt`,
      `             curl -H 'authorization: Bearer ${acmeKey}' '${api}/v1/allocation?from=${day(-86_400_000)}&to=${day(86_400_000)}&group_by=feature'`,
      `  ingest     http://127.0.0.1:${settings.servicePorts.ingest}/v1/events (JSON) and /v1/traces (OTLP/HTTP JSON)`,
      `  Kafka      ${kafkaBrokers(settings).join(',')}   ClickHouse ${clickhouseUrl(settings)} (database ${settings.clickhouseDatabase})`,
      `             SASL_SSL on 127.0.0.1:${settings.kafkaSecurePort}: client settings in ${secureClientEnvFile(settings)}`,
      `             https on 127.0.0.1:${settings.clickhouseHttpsPort}: client settings in ${clickhouseSecureClientEnvFile(settings)}`,
      '  next       ./tollgate report | ./tollgate alerts | ./tollgate simulate --preset normal --duration 60 --rate 200 | ./tollgate status | ./tollgate down',
      '',
    ].join('\n'),
  );
}

async function down(
  deps: ProgramDeps,
  wipe: boolean,
  { servicesToo }: { servicesToo: boolean },
): Promise<void> {
  const settings = infraSettings(deps);
  const services = servicesToo ? await stopServices(settings) : [];
  const result = await infraDown(settings, { wipe });
  if (result.stopped.length === 0 && services.length === 0) progress('nothing was running');
  for (const { name, pid } of services) progress(`${name}: stopped (pid ${pid})`);
  for (const { name, pid, how } of result.stopped) progress(`${name}: ${how} (pid ${pid})`);
}

/** Each service's consumer lag in messages; empty when the broker does not answer. */
async function lagByService(deps: ProgramDeps, kafkaUp: boolean): Promise<Map<ServiceName, number>> {
  const lags = new Map<ServiceName, number>();
  if (!kafkaUp) return lags;
  const groups = serviceGroups(
    {
      pricer: deps.config.PRICER_GROUP_ID,
      sink: deps.config.SINK_GROUP_ID,
      detector: deps.config.DETECTOR_GROUP_ID,
    },
    deps.config.topics,
  );
  const kafka = createKafka({
    brokers: kafkaBrokers(infraSettings(deps, true)),
    clientId: 'tollgate-cli-status',
    logger: silentLogger(),
    requestTimeoutMs: 5_000,
    retry: { retries: 1 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    for (const [name, consumerGroups] of Object.entries(groups) as [ConsumerService, typeof groups.pricer][])
      lags.set(name, await groupLag(admin, consumerGroups));
  } catch {
    lags.clear(); // a broker that answers its port but not these requests: no figures rather than wrong ones
  } finally {
    await admin.disconnect().catch(() => {});
  }
  return lags;
}

async function status(deps: ProgramDeps): Promise<void> {
  const settings = infraSettings(deps);
  const infra = await infraStatus(settings);
  const services = await servicesStatus(settings);
  const lags = await lagByService(
    deps,
    infra.some((row) => row.name === 'kafka' && row.answers),
  );
  printTable(
    ['component', 'pid', 'address', 'health', 'lag', 'logs'],
    [
      ...infra.map((row) => [
        row.name,
        row.pid ?? '-',
        row.address,
        row.answers ? 'up' : 'down',
        '',
        row.logs,
      ]),
      ...services.map((row) => [
        row.name,
        row.pid ?? '-',
        `http://127.0.0.1:${row.port}`,
        row.ready ? 'ready' : row.pid ? 'not ready' : 'down',
        lags.get(row.name)?.toLocaleString('en-US') ??
          (row.name === 'ingest' || row.name === 'api' ? '' : '?'),
        row.log,
      ]),
    ],
  );
  if (lags.size > 0)
    process.stdout.write('lag: messages not yet committed by the consumer groups of each service\n');
}

const DEFAULT_TEST_GLOBS = [
  'packages/*/src/**/*.test.ts',
  'services/*/src/**/*.test.ts',
  'test/**/*.test.ts',
];

async function test(
  deps: ProgramDeps,
  files: string[],
  options: { infra: boolean; concurrency: string },
): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (options.infra) {
    const settings = infraSettings(deps);
    await up(deps);
    env.KAFKA_BROKERS = kafkaBrokers(settings).join(',');
    env.CLICKHOUSE_URL = clickhouseUrl(settings);
    env.TOLLGATE_KAFKA_SECURE_ENV = secureClientEnvFile(settings);
    env.TOLLGATE_CLICKHOUSE_SECURE_ENV = clickhouseSecureClientEnvFile(settings);
  } else {
    env.TOLLGATE_SKIP_INTEGRATION = '1';
  }
  const args = [
    '--disable-warning=TimeoutNegativeWarning',
    '--test',
    `--test-concurrency=${options.concurrency}`,
    '--test-timeout=300000',
    ...(files.length > 0 ? files : DEFAULT_TEST_GLOBS),
  ];
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, args, { cwd: deps.root, env, stdio: 'inherit' });
    child.on('close', (exitCode) => resolve(exitCode ?? 1));
  });
  process.exitCode = code;
}

/** The CLI package's version (services/cli/package.json). */
function cliVersion(root: string): string {
  const pkg = JSON.parse(readFileSync(resolve(root, 'services', 'cli', 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export function buildProgram(deps: ProgramDeps): Command {
  const program = new Command('tollgate')
    .description(
      'Tollgate: agent cost governance. Local stack, simulation and reports; provisioning, ACLs, dead-letter replay and retention on your own cluster; tests.',
    )
    .version(
      `tollgate ${cliVersion(deps.root)} (Node.js ${process.version})`,
      '-v, --version',
      'print the version',
    )
    .showHelpAfterError();

  const infra = program.command('infra').description('the local Kafka and ClickHouse only');
  infra
    .command('up')
    .description('start Kafka and ClickHouse (installing what is missing), create topics, apply migrations')
    .action(() => up(deps));
  infra
    .command('down')
    .description('stop the Kafka and ClickHouse processes this project started; data is kept')
    .option('--wipe', 'also delete their data', false)
    .action((options: { wipe: boolean }) => down(deps, options.wipe, { servicesToo: false }));
  infra
    .command('status')
    .description('what runs, its pid, address and health')
    .action(() => status(deps));

  program
    .command('up')
    .description(
      'start the whole pipeline locally: Kafka, ClickHouse and every Tollgate service, then a short demo fleet',
    )
    .option('--no-demo', 'start everything, skip the demo fleet and report')
    .action((options: { demo: boolean }) => upPipeline(deps, options));
  program
    .command('down')
    .description('stop everything `up` started; data is kept')
    .option('--wipe', 'also delete Kafka and ClickHouse data', false)
    .action((options: { wipe: boolean }) => down(deps, options.wipe, { servicesToo: true }));
  program
    .command('status')
    .description('a table of what runs, its health and consumer lag')
    .action(() => status(deps));

  program
    .command('test')
    .description('run the test suite against real Kafka and ClickHouse (started if needed)')
    .argument('[files...]', 'test files or globs (default: every *.test.ts)')
    .option('--no-infra', 'do not start Kafka and ClickHouse; integration tests are skipped')
    .option(
      '--concurrency <n>',
      'test files run at once (1: integration tests do not compete for the 2 cores)',
      '1',
    )
    .action((files: string[], options: { infra: boolean; concurrency: string }) =>
      test(deps, files, options),
    );

  const ratecard = program.command('ratecard').description('rate cards on the compacted rate-card topic');
  ratecard
    .command('publish')
    .description('validate a rate card YAML file and publish it; running pricers switch to it')
    .argument('<file>', 'rate card YAML (see ratecards/README.md)')
    .action((file: string) =>
      publishRateCardFile(deps.config.kafka, deps.config.topics, file, process.stdout),
    );
  ratecard
    .command('check')
    .description('validate rate card files without publishing (for a pull request); exit 1 on any problem')
    .argument('<files...>', 'rate card YAML files')
    .action((files: string[]) => checkRateCards(files, process.stdout));
  ratecard
    .command('list')
    .description('the rate cards on the topic: versions, the one in force now, content hash')
    .option('--json', 'as JSON', false)
    .action(async (flags: { json: boolean }) => {
      const state = await readRateCards(deps.config.kafka, deps.config.topics.rateCards);
      printRateCardList(state, deps.config.topics.rateCards, flags.json, process.stdout);
    });
  ratecard
    .command('show')
    .description('a rate card as published on the topic: its summary and YAML')
    .argument('<id>', 'the card id (pricers follow RATE_CARD_ID, default "default")')
    .option('--yaml', 'the YAML alone (to diff with the repository or republish)', false)
    .action(async (id: string, flags: { yaml: boolean }) => {
      printRateCard(
        await readRateCards(deps.config.kafka, deps.config.topics.rateCards),
        id,
        flags.yaml,
        process.stdout,
      );
    });
  ratecard
    .command('restate')
    .description(
      're-price a past range under a corrected card: publishes adjustment events for what changed; rerunning publishes nothing more',
    )
    .requiredOption('--card <file>', 'the corrected rate card YAML')
    .requiredOption('--from <time>', 'start of the range, by event time (inclusive), e.g. 2026-11-01')
    .requiredOption('--to <time>', 'end of the range (exclusive), e.g. 2026-11-28')
    .option('--dry-run', 'compute and print the differences, publish nothing', false)
    .option(
      '--partial',
      'when retention has deleted events of the range from the priced topic, re-price what it still holds (refused otherwise)',
      false,
    )
    .action((options: RestateFlags) => restateRange(deps, options, process.stdout));

  const policy = program
    .command('policy')
    .description('budgets, ceilings and thresholds on the compacted policy topic');
  policy
    .command('set')
    .description(
      'validate and publish policies (JSON: one policy or an array); one bad policy publishes nothing',
    )
    .argument('<files...>', 'policy JSON files')
    .action((files: string[]) => setPolicies(deps.config.kafka, deps.config.topics, files, process.stdout));
  policy
    .command('delete')
    .description('delete policies by id')
    .argument('<ids...>', 'policy ids')
    .action((ids: string[]) => deletePolicies(deps.config.kafka, deps.config.topics, ids, process.stdout));
  policy
    .command('list')
    .description('the policies in force on the policy topic, with the settings each one sets')
    .option('--kind <kind>', 'only thresholds, budget or ceilings')
    .option('--org <id>', 'only the policies of this org (and those for every org, "*")')
    .option('--json', 'the policies as JSON documents', false)
    .action(async (flags: ListFlags) => {
      const state = await readPolicies(deps.config.kafka, deps.config.topics.policies);
      printPolicyList(state, deps.config.topics.policies, flags, process.stdout);
    });
  policy
    .command('show')
    .description(
      'what applies to an org, feature and customer: every threshold and ceiling with the policy it comes from, and the budgets',
    )
    .requiredOption('--org <id>', 'the org')
    .option('--feature <name>', 'the feature (default: runs without one)')
    .option('--customer <id>', 'the customer (default: none)')
    .option('--json', 'the resolved settings as JSON', false)
    .action(async (flags: ShowFlags) => {
      printPolicyShow(
        await readPolicies(deps.config.kafka, deps.config.topics.policies),
        flags,
        process.stdout,
      );
    });

  program
    .command('simulate')
    .description('drive a simulated agent fleet through the real SDK into the local pipeline')
    .option('--preset <name>', `fleet preset: ${[...PRESETS, 'scenarios'].join(', ')}`, 'normal')
    .option('--runs <n>', 'runs per round (normal) or per phase (scenarios)', '50')
    .option('--rate <events-per-second>', 'at most this many events per second (0: as fast as possible)', '0')
    .option('--duration <seconds>', 'normal preset: keep starting runs for this long', '0')
    .option('--orgs <list>', 'comma-separated org ids (normal preset)', 'acme,globex,initech')
    .option(
      '--features <list>',
      'comma-separated features (normal preset)',
      'support-bot,code-review,search-assist,research',
    )
    .option('--seed <n>', 'random seed: the same seed sends the same fleet')
    .option(
      '--policies',
      'also enforce the ceilings policies set with `tollgate policy set` (the SDK meter with policies: true)',
      false,
    )
    .action(async (options: SimulateFlags) => {
      await runSimulation(deps, options);
    });

  program
    .command('report')
    .description(
      'spend by layer, by cost category, cost per successful run, top runs, untagged and unpriced spend, alerts',
    )
    .option('--org <ids>', 'comma-separated org ids (default: every org with spend in the range)')
    .option('--since <duration>', 'range ending now: 30m, 6h, 7d', '24h')
    .option('--from <time>', 'range start (ISO-8601); overrides --since')
    .option('--to <time>', 'range end (ISO-8601), default now')
    .option(
      '--by <dimension>',
      'spend section grouping: feature, customer, model, provider, agent, environment, category, org or tag:<key>',
      'feature',
    )
    .option('--section <names>', `comma-separated sections: ${SECTIONS.join(', ')}`)
    .option('--format <format>', 'table, json or csv (csv: one org and one section)', 'table')
    .action(async (options: ReportFlags) => {
      await runReport(deps, options, process.stdout);
    });

  program
    .command('alerts')
    .description('follow the alert topic and print alerts as they arrive (Ctrl-C to stop)')
    .option('--from-beginning', 'print alerts already on the topic too', false)
    .option('--json', 'one JSON object per line instead of text', false)
    .option('--count <n>', 'exit after this many alerts')
    .option('--for <seconds>', 'exit after this many seconds')
    .option('--org <ids>', 'only alerts of these orgs (comma-separated)')
    .option('--severity <level>', 'only alerts at this severity or above: info, warning, critical')
    .option('--rule <rules>', 'only these rules (comma-separated), e.g. run_loop,run_cost')
    .action(async (options: AlertsFlags) => {
      const wanted = alertFilter(options);
      const limit = options.count === undefined ? undefined : positiveInt('--count', options.count);
      const seconds = options.for === undefined ? undefined : positiveInt('--for', options.for);
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      if (seconds !== undefined) setTimeout(() => controller.abort(), seconds * 1000).unref();
      let seen = 0;
      await followAlerts({
        connection: deps.config.kafka,
        topic: deps.config.topics.alerts,
        fromBeginning: options.fromBeginning,
        signal: controller.signal,
        onAlert: (alert) => {
          if (!wanted(alert)) return;
          process.stdout.write(`${options.json ? JSON.stringify(alert) : formatAlert(alert)}\n`);
          seen += 1;
          if (limit !== undefined && seen >= limit) controller.abort();
        },
        onUndecodable: (reason, offset) =>
          process.stderr.write(`tollgate: skipped alert at offset ${offset}: ${reason}\n`),
      });
    });

  program
    .command('provision')
    .description(
      'create the topics and apply the ClickHouse migrations on the cluster KAFKA_* and CLICKHOUSE_* name; checks existing topics',
    )
    .option('--partitions <n>', 'partitions of the keyed topics (usage, priced, the detector’s)', '6')
    .option(
      '--replication-factor <n>',
      "replicas per new topic (default: the cluster's default.replication.factor)",
    )
    .option('--dry-run', 'print what would be created and applied; change nothing', false)
    .action((options: { partitions: string; replicationFactor?: string; dryRun: boolean }) =>
      runProvision(
        deps,
        {
          dryRun: options.dryRun,
          partitions: positiveInt('--partitions', options.partitions),
          replicationFactor:
            options.replicationFactor === undefined
              ? undefined
              : positiveInt('--replication-factor', options.replicationFactor),
        },
        process.stdout,
      ),
    );

  program
    .command('acls')
    .description(
      'the Kafka ACLs a Tollgate client needs on a cluster with an authorizer: printed, or created with --apply',
    )
    .argument('<client>', ACL_CLIENTS.map((name) => `${name}: ${ACL_CLIENT_DESCRIPTIONS[name]}`).join('; '))
    .requiredOption('--principal <principal>', 'who gets them: User:NAME (SASL username or certificate name)')
    .option(
      '--group-id <id>',
      "the client's GROUP_ID (default: tollgate-<client>); its groups all start with it",
    )
    .option(
      '--transactional-id-prefix <prefix>',
      'pricer/detector: their TRANSACTIONAL_ID_PREFIX (default: the group id)',
    )
    .option('--topic-prefix <prefix>', "the services' TOPIC_PREFIX (default: TOPIC_PREFIX)")
    .option('--apply', 'create them on the cluster KAFKA_* names', false)
    .action(
      (
        client: string,
        options: {
          principal: string;
          groupId?: string;
          transactionalIdPrefix?: string;
          topicPrefix: string;
          apply: boolean;
        },
      ) =>
        runAcls(
          deps.config.kafka,
          client,
          { ...options, topicPrefix: options.topicPrefix ?? deps.config.TOPIC_PREFIX },
          process.stdout,
        ),
    );

  const dlq = program.command('dlq').description('the dead-letter topic: events a stage could not handle');
  dlq
    .command('replay')
    .description(
      'publish dead letters again to the topic and partition they came from (after a fix); each one once, however often this runs',
    )
    .requiredOption('--stage <stage>', `whose dead letters: ${REPLAYABLE_STAGES.join(', ')} (see the README)`)
    .option(
      '--reason-code <code>',
      'only these (e.g. unknown_fingerprint: usage from an SDK newer than the pricer)',
    )
    .option('--since <duration>', 'received in the last 30m, 6h, 7d …', '7d')
    .option('--from <time>', 'received from this ISO-8601 time (instead of --since)')
    .option('--to <time>', 'received before this ISO-8601 time (default: the next whole hour)')
    .option('--chunk <n>', 'messages per produce request and per record in dead_letter_replays', '500')
    .option('--dry-run', 'count what would be published, by reason and topic; publish nothing', false)
    .action(
      (options: {
        stage: string;
        reasonCode?: string;
        since: string;
        from?: string;
        to?: string;
        chunk: string;
        dryRun: boolean;
      }) => runReplay(deps, { ...options, chunk: positiveInt('--chunk', options.chunk) }, process.stdout),
    );

  program
    .command('prune')
    .description(
      "retention: drop the months of Tollgate's tables that lie wholly before each retention given (ClickHouse partitions)",
    )
    .option('--line-items <days>', 'keep line_items at least this long, e.g. 90d')
    .option(
      '--rollups <days>',
      'keep the hourly rollups (allocation, run trees) and runs_monthly at least this long, e.g. 400d',
    )
    .option('--run-events <days>', 'keep run_events at least this long')
    .option('--dead-letters <days>', 'keep dead_letters at least this long')
    .option('--dry-run', 'list what would be dropped; drop nothing', false)
    .action(
      (options: {
        lineItems?: string;
        rollups?: string;
        runEvents?: string;
        deadLetters?: string;
        dryRun: boolean;
      }) => {
        const given: [PruneGroup, string | undefined][] = [
          ['line-items', options.lineItems],
          ['rollups', options.rollups],
          ['run-events', options.runEvents],
          ['dead-letters', options.deadLetters],
        ];
        const retention = Object.fromEntries(given.filter(([, text]) => text !== undefined));
        return runPrune(deps, { retention, dryRun: options.dryRun }, process.stdout);
      },
    );

  program
    .command('bench')
    .description('run a benchmark from bench/ against the local stack (started if needed)')
    .argument('[name]', 'benchmark name; omit to list them')
    .allowExcessArguments()
    .action(async (name: string | undefined) => {
      if (name) {
        const { availableBenchmarks } = (await import(`${deps.root}/bench/list.ts`)) as {
          availableBenchmarks: () => string[];
        };
        const available = availableBenchmarks();
        if (!available.includes(name))
          throw new TollgateError(
            `no benchmark ${JSON.stringify(name)}; available: ${available.join(', ')}`,
            {
              code: 'TG_CLI_USAGE',
            },
          );
      }
      const settings = infraSettings(deps, true);
      if (name) await infraUp(settings);
      const env = {
        ...process.env,
        KAFKA_BROKERS: kafkaBrokers(settings).join(','),
        CLICKHOUSE_URL: clickhouseUrl(settings),
      };
      process.exitCode = await run(
        process.execPath,
        ['--disable-warning=TimeoutNegativeWarning', `${deps.root}/bench/main.ts`, ...(name ? [name] : [])],
        deps.root,
        env,
      );
    });

  program
    .command('compat')
    .description(
      'run every ClickHouse statement on 18.16 and on current ClickHouse (26.9, embedded by chdb) and compare (test/compat)',
    )
    .action(async () => {
      const settings = infraSettings(deps, true);
      await infraUp(settings);
      process.exitCode = await run(process.execPath, [`${deps.root}/test/compat/check.ts`], deps.root, {
        ...process.env,
        COMPAT_CLICKHOUSE_URL: clickhouseUrl(settings),
      });
    });

  const sdk = program.command('sdk').description('the producer SDK (packages/sdk) for agent projects');
  sdk
    .command('pack')
    .description(
      'build @tollgate/sdk as an npm tarball an agent project installs (npm install ./tollgate-sdk-<version>.tgz)',
    )
    .option('--out <dir>', 'where to write the tarball (default: packages/sdk/pack)')
    .action(async (options: { out?: string }) => {
      const out = options.out === undefined ? [] : [resolve(process.cwd(), options.out)];
      process.exitCode = await run(
        process.execPath,
        [`${deps.root}/packages/sdk/scripts/pack.ts`, ...out],
        deps.root,
        process.env,
      );
    });

  program
    .command('check')
    .description('lint, format check and typecheck (what CI runs before the tests)')
    .action(() => check(deps));

  return program;
}

function positiveInt(option: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) {
    throw new TollgateError(`${option} must be a positive whole number, got ${JSON.stringify(text)}`, {
      code: 'TG_CLI_USAGE',
    });
  }
  return value;
}

function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: 'inherit' });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

async function check(deps: ProgramDeps): Promise<void> {
  const bin = (name: string) => `${deps.root}/node_modules/.bin/${name}`;
  process.stdout.write('tollgate: biome ci (lint + format)\n');
  const lint = await run(bin('biome'), ['ci', '.'], deps.root);
  process.stdout.write('tollgate: tsc --noEmit (strict)\n');
  const types = await run(bin('tsc'), ['-p', '.'], deps.root);
  process.exitCode = lint === 0 && types === 0 ? 0 : 1;
}
