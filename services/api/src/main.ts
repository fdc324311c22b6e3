/**
 * The API process: reads the environment once, loads the hashed API keys, listens, and closes the
 * HTTP server before the ClickHouse client on shutdown.
 */
import {
  clickhouseConnection,
  commonConfig,
  createClickHouse,
  createLifecycle,
  createLogger,
  createRegistry,
  httpTls,
  loadConfig,
  z,
} from '@tollgate/core';
import { buildApp } from './app.ts';
import { createKeyStore, loadKeyRecords } from './auth.ts';

const config = loadConfig(
  z.object({
    ...commonConfig,
    HTTP_PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
    /** JSON file `{ "keys": [{ "id", "org_id", "role", "sha256" }] }`; see README. */
    API_KEYS_FILE: z.string().optional(),
    /** The same JSON inline (for containers); both may be set. */
    API_KEYS: z.string().optional(),
    API_QUERY_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  }),
  process.env,
);

const logger = createLogger({ name: 'api', level: config.LOG_LEVEL });
const lifecycle = createLifecycle({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS });
lifecycle.handleSignals();

const keys = createKeyStore(loadKeyRecords({ file: config.API_KEYS_FILE, json: config.API_KEYS }));
if (keys.size === 0) {
  // Still serves /healthz, /readyz, /metrics and the OpenAPI document, so a fresh local stack starts.
  logger.warn(
    'no API keys configured: every /v1 request answers 401; set API_KEYS_FILE or API_KEYS (services/api/src/keygen.ts makes one)',
  );
}

const clickhouse = createClickHouse({
  ...clickhouseConnection(config),
  requestTimeoutMs: config.API_QUERY_TIMEOUT_MS,
  logger,
});
lifecycle.onShutdown('clickhouse', () => clickhouse.close());

const tls = httpTls(config);
const app = buildApp({ clickhouse, keys, logger, registry: createRegistry('api'), tls });
await app.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
lifecycle.onShutdown('http server', () => app.close());
logger.info({ port: config.HTTP_PORT, https: tls !== undefined, keys: keys.size }, 'api started');
