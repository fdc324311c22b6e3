/**
 * The sink process: reads the environment once, builds every component, serves /healthz, /readyz and
 * /metrics, and shuts down in reverse order: stop consuming → flush → commit → close clients.
 */
import {
  clickhouseConnection,
  commonConfig,
  createClickHouse,
  createKafka,
  createLifecycle,
  createLogger,
  createOpsServer,
  createRegistry,
  httpTls,
  kafkaConnection,
  loadConfig,
  prefixedTopicNames,
  z,
} from '@tollgate/core';
import { createLagReporter } from './lag.ts';
import { createSinkMetrics } from './metrics.ts';
import { createSink } from './sink.ts';
import { createSinkWriter } from './writer.ts';

const config = loadConfig(
  z.object({
    ...commonConfig,
    HTTP_PORT: z.coerce.number().int().min(0).max(65_535).default(9102),
    SINK_GROUP_ID: z.string().min(1).default('tollgate-sink'),
    /** Prefix of every topic name (tests run a sink against their own topics). */
    TOPIC_PREFIX: z.string().default(''),
    SINK_MAX_BATCH_ROWS: z.coerce.number().int().positive().default(50_000),
    SINK_FLUSH_INTERVAL_MS: z.coerce.number().int().positive().default(1_000),
    SINK_SMALL_TABLES_INTERVAL_MS: z.coerce.number().int().min(0).default(5_000),
    SINK_SMALL_TABLES_DEFER_ROWS: z.coerce.number().int().min(0).default(10_000),
    SINK_FETCH_MAX_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(4 * 1024 * 1024),
    SINK_FETCH_MAX_BYTES_PER_PARTITION: z.coerce
      .number()
      .int()
      .positive()
      .default(1024 * 1024),
    SINK_RETRY_MAX_MS: z.coerce.number().int().positive().default(5_000),
    SINK_INSERT_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
    /** A consumer that dies without leaving holds its partitions this long (Kafka's session timeout). */
    SINK_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).default(30_000),
    SINK_LAG_INTERVAL_MS: z.coerce.number().int().positive().default(5_000),
  }),
  process.env,
);

const logger = createLogger({ name: 'sink', level: config.LOG_LEVEL });
const lifecycle = createLifecycle({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS });
lifecycle.handleSignals();

const topics = prefixedTopicNames(config.TOPIC_PREFIX);
const registry = createRegistry('sink');
const metrics = createSinkMetrics(registry);

const clickhouse = createClickHouse({
  ...clickhouseConnection(config),
  requestTimeoutMs: config.SINK_INSERT_TIMEOUT_MS,
  logger,
});
lifecycle.onShutdown('clickhouse', () => clickhouse.close());
const writer = createSinkWriter({ clickhouse });

const kafka = createKafka({ ...kafkaConnection(config), clientId: 'tollgate-sink', logger });
const admin = kafka.admin(); // connected with the sink below, where a failure is logged and exits
lifecycle.onShutdown('kafka admin', () => admin.disconnect());
const sinkTopics = { priced: topics.priced, alerts: topics.alerts, deadLetters: topics.deadLetters };
const lag = createLagReporter({
  admin,
  groupId: config.SINK_GROUP_ID,
  topics: Object.values(sinkTopics),
  metrics,
  logger,
  intervalMs: config.SINK_LAG_INTERVAL_MS,
});
lifecycle.onShutdown('lag reporter', () => lag.stop());

const ops = createOpsServer({
  logger,
  registry,
  tls: httpTls(config),
  readiness: {
    clickhouse: () => writer.ping(),
    consumer: () => sink.consuming(),
  },
});
await ops.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
lifecycle.onShutdown('ops server', () => ops.close());

const sink = createSink({
  kafka,
  writer,
  logger,
  metrics,
  topics: sinkTopics,
  groupId: config.SINK_GROUP_ID,
  maxRows: config.SINK_MAX_BATCH_ROWS,
  flushIntervalMs: config.SINK_FLUSH_INTERVAL_MS,
  smallTablesIntervalMs: config.SINK_SMALL_TABLES_INTERVAL_MS,
  smallTablesDeferRows: config.SINK_SMALL_TABLES_DEFER_ROWS,
  fetchMaxBytes: config.SINK_FETCH_MAX_BYTES,
  fetchMaxBytesPerPartition: config.SINK_FETCH_MAX_BYTES_PER_PARTITION,
  retryMaxMs: config.SINK_RETRY_MAX_MS,
  sessionTimeoutMs: config.SINK_SESSION_TIMEOUT_MS,
});
// Registered last, so it runs first: stop consuming, flush and commit before any client closes.
lifecycle.onShutdown('sink', () => sink.stop(Math.max(1_000, config.SHUTDOWN_TIMEOUT_MS - 2_000)));
try {
  await admin.connect();
  await sink.start();
} catch (err) {
  logger.fatal({ err }, 'sink failed to start');
  await lifecycle.shutdown('startup failed');
  process.exit(1);
}
logger.info({ topics: sinkTopics, groupId: config.SINK_GROUP_ID, port: config.HTTP_PORT }, 'sink started');
