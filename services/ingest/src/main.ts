/**
 * The ingest process: reads the environment once, builds every component, listens, and shuts down in
 * reverse order on SIGINT/SIGTERM: stop taking requests (in-flight ones finish and are acknowledged by
 * Kafka), then close the Kafka clients.
 */
import {
  createDeadLetterCodec,
  createKafka,
  createLifecycle,
  createLogger,
  createRegistry,
  createUsageCodec,
  httpTls,
  kafkaConnection,
  loadConfig,
} from '@tollgate/core';
import { buildApp } from './app.ts';
import { createAuthenticator } from './auth.ts';
import { ingestConfigSchema, ingestTopics } from './config.ts';
import { createIntake } from './intake.ts';
import { createIngestMetrics } from './metrics.ts';
import { createKafkaPublisher } from './publisher.ts';

const config = loadConfig(ingestConfigSchema, process.env);
const { usage: usageTopic, deadLetters: deadLetterTopic } = ingestTopics(config);
const logger = createLogger({ name: 'ingest', level: config.LOG_LEVEL });
const lifecycle = createLifecycle({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS });
lifecycle.handleSignals();

const registry = createRegistry('ingest');
const metrics = createIngestMetrics(registry);
const kafka = createKafka({
  ...kafkaConnection(config),
  clientId: config.KAFKA_CLIENT_ID,
  logger,
  requestTimeoutMs: Math.min(config.INGEST_PUBLISH_TIMEOUT_MS, 30_000),
  retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 3 },
});
const publisher = createKafkaPublisher({
  kafka,
  logger,
  publishTimeoutMs: config.INGEST_PUBLISH_TIMEOUT_MS,
  batchBytes: config.INGEST_KAFKA_BATCH_BYTES,
  topics: [usageTopic, deadLetterTopic],
});
lifecycle.onShutdown('kafka', () => publisher.close());

const intake = createIntake({
  publisher,
  usageCodec: createUsageCodec(),
  deadLetterCodec: createDeadLetterCodec(),
  topics: { usage: usageTopic, deadLetters: deadLetterTopic },
  metrics,
  logger,
});
const authenticator = createAuthenticator({ tokenSha256s: config.INGEST_API_KEY_SHA256S });
if (!authenticator.enabled) logger.warn('INGEST_API_KEY_SHA256S is empty: requests are not authenticated');

const app = buildApp({
  logger,
  registry,
  tls: httpTls(config),
  metrics,
  intake,
  authenticator,
  limits: {
    maxBodyBytes: config.INGEST_MAX_BODY_BYTES,
    maxEventsPerRequest: config.INGEST_MAX_EVENTS_PER_REQUEST,
    maxEventBytes: config.INGEST_MAX_EVENT_BYTES,
  },
  retryAfterSeconds: config.INGEST_RETRY_AFTER_SECONDS,
  readiness: { kafka: () => publisher.ready() },
});
lifecycle.onShutdown('http', () => app.close());

try {
  await app.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
  logger.info(
    {
      host: config.HTTP_HOST,
      port: config.HTTP_PORT,
      usageTopic,
      deadLetterTopic,
      authenticated: authenticator.enabled,
    },
    'ingest listening',
  );
} catch (err) {
  logger.fatal({ err }, 'ingest failed to start');
  await lifecycle.shutdown('start failed');
  process.exit(1);
}
