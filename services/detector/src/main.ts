/**
 * The detector process: reads the environment once, builds every component, serves /healthz, /readyz
 * and /metrics, and shuts down in reverse order: stop consuming (each stage's batch in flight commits
 * or aborts its transaction) → stop the policy feed → close the ops server.
 */
import {
  createKafka,
  createLifecycle,
  createLogger,
  createOpsServer,
  createRegistry,
  httpTls,
  kafkaConnection,
  loadConfig,
  prefixedTopicNames,
} from '@tollgate/core';
import { detectorConfigSchema, detectorSettings } from './config.ts';
import { createDetector } from './detector.ts';
import { createDetectorMetrics } from './metrics.ts';

const config = loadConfig(detectorConfigSchema, process.env);
const logger = createLogger({ name: 'detector', level: config.LOG_LEVEL });
const lifecycle = createLifecycle({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS });
lifecycle.handleSignals();

const topics = prefixedTopicNames(config.TOPIC_PREFIX);
const registry = createRegistry('detector');
const metrics = createDetectorMetrics(registry);
const kafka = createKafka({ ...kafkaConnection(config), clientId: 'tollgate-detector', logger });
const detector = createDetector({ kafka, logger, metrics, topics, settings: detectorSettings(config) });

const ops = createOpsServer({
  logger,
  registry,
  tls: httpTls(config),
  readiness: Object.fromEntries(
    Object.keys(detector.readiness()).map((name) => [name, () => detector.readiness()[name] ?? false]),
  ),
});
await ops.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
lifecycle.onShutdown('ops server', () => ops.close());

try {
  // Registered before starting, so a half-started detector still stops cleanly.
  lifecycle.onShutdown('detector', () => detector.stop());
  await detector.start();
} catch (err) {
  logger.fatal({ err }, 'detector failed to start');
  await lifecycle.shutdown('startup failed');
  process.exit(1);
}
logger.info({ topics, groupId: config.DETECTOR_GROUP_ID, port: config.HTTP_PORT }, 'detector started');
