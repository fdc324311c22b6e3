/**
 * The ingest HTTP app: /v1/events (JSON, NDJSON), /v1/traces (OTLP/JSON), the event JSON Schema, and the
 * ops routes (/healthz, /readyz, /metrics) on the same port. `buildApp` only wires what it is given;
 * main.ts builds the dependencies, tests pass their own and call `app.inject()`.
 *
 * Every error answer has the shape `{ error: { code, message, retriable } }` with a code from
 * errors.ts; 401s carry WWW-Authenticate, 503s carry Retry-After.
 */
import {
  createHttpServer,
  createOpsServer,
  type HttpTls,
  type Logger,
  type ReadinessCheck,
  type Registry,
  TollgateError,
} from '@tollgate/core';
import { type FastifyBaseLogger, type FastifyError, type FastifyInstance, LogController } from 'fastify';
import type { Authenticator } from './auth.ts';
import { decompress, isDecompressionError } from './decompress.ts';
import { errorBody, INGEST_ERRORS, type IngestErrorCode, isIngestErrorCode } from './errors.ts';
import { createEventNormalizer } from './events/normalize.ts';
import { eventsRoutes } from './events/route.ts';
import type { Intake } from './intake.ts';
import type { IngestMetrics } from './metrics.ts';
import { tracesRoutes } from './otlp/route.ts';

export interface IngestLimits {
  /** Largest body after decompression. */
  maxBodyBytes: number;
  /** Most events (or spans) per request. */
  maxEventsPerRequest: number;
  /** Largest single event, as JSON. */
  maxEventBytes: number;
}

export interface AppDeps {
  logger: Logger;
  registry: Registry;
  metrics: IngestMetrics;
  intake: Intake;
  authenticator: Authenticator;
  limits: IngestLimits;
  /** Seconds a 503 tells the client to wait. */
  retryAfterSeconds: number;
  readiness: Record<string, ReadinessCheck>;
  /** https instead of http (HTTP_TLS_*). */
  tls?: HttpTls | undefined;
}

/** fastify's own error codes → ours. */
const FASTIFY_CODES: Record<string, IngestErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'TG_INGEST_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'TG_INGEST_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'TG_INGEST_INVALID_BODY',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'TG_INGEST_INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'TG_INGEST_INVALID_JSON',
  FST_ERR_VALIDATION: 'TG_INGEST_INVALID_BODY',
};

function classify(err: FastifyError, limits: IngestLimits): { code: IngestErrorCode; message: string } {
  if (err instanceof TollgateError && isIngestErrorCode(err.code))
    return { code: err.code, message: err.message };
  const mapped = err.code === undefined ? undefined : FASTIFY_CODES[err.code];
  if (mapped === 'TG_INGEST_BODY_TOO_LARGE')
    return {
      code: mapped,
      message: `the body is larger than ${limits.maxBodyBytes} bytes (after decompression)`,
    };
  if (mapped === 'TG_INGEST_UNSUPPORTED_MEDIA_TYPE')
    return {
      code: mapped,
      message: 'Content-Type must be application/json, or application/x-ndjson for /v1/events',
    };
  if (mapped !== undefined) return { code: mapped, message: err.message };
  if (isDecompressionError(err))
    return {
      code: 'TG_INGEST_INVALID_BODY',
      message: `the body does not match its Content-Encoding: ${err.message}`,
    };
  // fastify's JSON parser marks a syntax error with a 400 status and no code.
  if (err instanceof SyntaxError && err.statusCode === 400)
    return { code: 'TG_INGEST_INVALID_JSON', message: `the body is not valid JSON: ${err.message}` };
  return { code: 'TG_INGEST_INTERNAL', message: 'internal error; the request was not processed' };
}

export function buildApp(deps: AppDeps): FastifyInstance {
  const { logger, registry, metrics, intake, authenticator, limits, retryAfterSeconds, readiness } = deps;
  const app = createHttpServer(
    {
      loggerInstance: logger.child({ component: 'http' }) as FastifyBaseLogger,
      // Per-request logs at ingest rates are noise: errors and rejections are logged where they happen.
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: limits.maxBodyBytes,
      requestIdHeader: 'x-request-id',
      // A request that still arrives on an open connection while closing is served in full: the Kafka
      // producer closes only after the HTTP server (lifecycle order), so it can still be acknowledged.
      return503OnClosing: false,
    },
    deps.tls,
  );
  // While closing, every answer closes its connection: a keep-alive socket left idle would hold
  // close() open for fastify's keepAliveTimeout (72 s), past any shutdown deadline.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const { code, message } = classify(err, limits);
    const { status } = INGEST_ERRORS[code];
    if (status >= 500) request.log.error({ err, code }, 'request failed');
    else request.log.debug({ code, reason: message }, 'request refused');
    if (status === 503) reply.header('retry-after', String(retryAfterSeconds));
    if (status === 401) reply.header('www-authenticate', 'Bearer realm="tollgate-ingest"');
    return reply.code(status).send(errorBody(code, message));
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorBody('TG_INGEST_NOT_FOUND', `no route ${request.method} ${request.url}`)),
  );
  app.addHook('onResponse', async (request, reply) => {
    metrics.requests.inc({
      route: request.routeOptions.url ?? 'unmatched',
      status: String(reply.statusCode),
    });
  });

  createOpsServer({ app, logger, registry, readiness });

  // The ingest API: authenticated, bodies decompressed. Ops routes above stay open.
  app.register(async (v1) => {
    v1.addHook('onRequest', async (request) => {
      if (!authenticator.check(request.headers.authorization))
        throw new TollgateError(
          request.headers.authorization === undefined
            ? 'missing bearer token: send Authorization: Bearer <token>'
            : 'the bearer token is not accepted',
          { code: 'TG_INGEST_UNAUTHORIZED' },
        );
    });
    v1.addHook('preParsing', decompress);
    v1.register(eventsRoutes, {
      intake,
      normalize: createEventNormalizer(),
      maxEventsPerRequest: limits.maxEventsPerRequest,
      maxEventBytes: limits.maxEventBytes,
    });
    v1.register(tracesRoutes, { intake, metrics, maxSpansPerRequest: limits.maxEventsPerRequest });
  });
  return app;
}
