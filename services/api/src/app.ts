/**
 * The query API. `buildApp(deps)` returns the fastify instance (tests call `app.inject()`); main.ts
 * listens. Every /v1 route authenticates an API key and confines its queries to the key's org.
 */
import swagger from '@fastify/swagger';
import {
  type ClickHouse,
  createHttpServer,
  createOpsServer,
  type HttpTls,
  type Logger,
  type Registry,
} from '@tollgate/core';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { KeyStore, Principal, Role } from './auth.ts';
import { API_ERRORS, ApiError, errorBody, errorHandler } from './errors.ts';
import { createApiMetrics } from './metrics.ts';
import { registerAllocationRoutes } from './routes/allocation.ts';
import { registerRunRoutes } from './routes/runs.ts';
import { registerSpendRoutes } from './routes/spend.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** The role a route needs; reader routes are open to admins too. */
    role?: Role;
  }
}

export interface AppDeps {
  clickhouse: ClickHouse;
  keys: KeyStore;
  logger: Logger;
  registry: Registry;
  /** https instead of http (HTTP_TLS_*). */
  tls?: HttpTls | undefined;
}

export function buildApp({ clickhouse, keys, logger, registry, tls }: AppDeps): FastifyInstance {
  const app = createHttpServer(
    {
      loggerInstance: logger.child({ component: 'api-http' }) as FastifyBaseLogger,
      // Unknown query parameters are an error naming them, not silently dropped.
      ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
      routerOptions: { ignoreTrailingSlash: true },
    },
    tls,
  );
  const metrics = createApiMetrics(registry);
  app.decorateRequest('principal', null as unknown as Principal);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(
        errorBody(
          new ApiError('TG_ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
        ),
      ),
  );
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unknown';
    metrics.requests.inc({ route, status: String(reply.statusCode) });
    metrics.seconds.observe({ route }, reply.elapsedTime / 1000);
  });

  app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Tollgate API',
        version: '1.0.0',
        description: `Agent cost allocation queries. Errors: ${Object.entries(API_ERRORS)
          .map(([code, { status, description }]) => `${code} (${status}): ${description}`)
          .join('; ')}.`,
      },
      components: {
        securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'Tollgate API key' } },
      },
      security: [{ apiKey: [] }],
    },
  });
  app.register(
    async (scope) => {
      scope.addHook('onRequest', async (request) => {
        request.principal = keys.authenticate(request.headers);
        const role = request.routeOptions.config.role ?? 'reader';
        if (role === 'admin' && request.principal.role !== 'admin')
          throw new ApiError('TG_FORBIDDEN', 'this route needs an admin key');
      });
      registerAllocationRoutes(scope, clickhouse);
      registerRunRoutes(scope, clickhouse);
      registerSpendRoutes(scope, clickhouse);
    },
    { prefix: '/v1' },
  );
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  createOpsServer({
    logger,
    registry,
    app,
    readiness: { clickhouse: () => clickhouse.ping().catch(() => false) },
  });
  return app;
}
