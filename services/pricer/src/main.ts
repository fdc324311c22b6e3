/**
 * The pricer process: reads the environment once, builds every component, serves /healthz, /readyz
 * and /metrics, and shuts down in reverse order: stop consuming (the batch in flight commits or
 * aborts) → close the rate-card feed → close the ops server.
 */
import {
  createDeadLetterCodec,
  createKafka,
  createLifecycle,
  createLogger,
  createOpsServer,
  createPricedEncoder,
  createRegistry,
  createUsageCodec,
  httpTls,
  kafkaConnection,
  loadConfig,
  loadRateCardFile,
  prefixedTopicNames,
} from '@tollgate/core';
import { pricerConfigSchema } from './config.ts';
import { createPricerMetrics } from './metrics.ts';
import { createPricer } from './pricer.ts';
import { createRateCardFeed } from './ratecards.ts';

const config = loadConfig(pricerConfigSchema, process.env);
const logger = createLogger({ name: 'pricer', level: config.LOG_LEVEL });
const lifecycle = createLifecycle({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS });
lifecycle.handleSignals();

const topics = prefixedTopicNames(config.TOPIC_PREFIX);
const registry = createRegistry('pricer');
const metrics = createPricerMetrics(registry);
lifecycle.onShutdown('rate sampler', metrics.sampleRate(5_000));

// A default card that does not load is a deployment error: fail before touching Kafka.
const fallback = await loadRateCardFile(config.RATE_CARD_FILE);
const kafka = createKafka({ ...kafkaConnection(config), clientId: 'tollgate-pricer', logger });

const rateCards = createRateCardFeed({
  kafka,
  topic: topics.rateCards,
  cardId: config.RATE_CARD_ID,
  fallback,
  logger,
  metrics,
  groupIdPrefix: config.PRICER_GROUP_ID,
  catchUpTimeoutMs: config.PRICER_RATE_CARD_CATCH_UP_MS,
});

const pricer = createPricer({
  kafka,
  logger,
  metrics,
  codecs: { usage: createUsageCodec(), priced: createPricedEncoder(), deadLetter: createDeadLetterCodec() },
  topics: { usage: topics.usage, priced: topics.priced, deadLetters: topics.deadLetters },
  groupId: config.PRICER_GROUP_ID,
  rateCard: rateCards.current,
  dedupWindowOffsets: config.PRICER_DEDUP_WINDOW_OFFSETS,
  maxBytesPerPartition: config.PRICER_MAX_BYTES_PER_PARTITION,
  partitionsConsumedConcurrently: config.PRICER_PARTITIONS_CONCURRENTLY,
  fetchMinBytes: config.PRICER_FETCH_MIN_BYTES,
  maxWaitTimeMs: config.PRICER_FETCH_MAX_WAIT_MS,
  sessionTimeoutMs: config.PRICER_SESSION_TIMEOUT_MS,
  transactionTimeoutMs: config.PRICER_TRANSACTION_TIMEOUT_MS,
  maxRequestBytes: config.PRICER_MAX_REQUEST_BYTES,
  onFatal: () => {
    void lifecycle.shutdown('consumer failed').then(() => process.exit(1));
  },
});

const ops = createOpsServer({
  logger,
  registry,
  tls: httpTls(config),
  readiness: { rateCard: () => rateCards.caughtUp(), consumer: () => pricer.consuming() },
});
await ops.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
lifecycle.onShutdown('ops server', () => ops.close());

lifecycle.onShutdown('rate-card feed', () => rateCards.stop());
try {
  await rateCards.start();
  // Registered last, so it runs first: no batch is in flight when anything else closes.
  lifecycle.onShutdown('pricer', () => pricer.stop());
  await pricer.start();
} catch (err) {
  logger.fatal({ err }, 'pricer failed to start');
  await lifecycle.shutdown('startup failed');
  process.exit(1);
}
logger.info({ topics, groupId: config.PRICER_GROUP_ID, port: config.HTTP_PORT }, 'pricer started');
