/**
 * What every service exposes to operators: `/healthz` (the process is alive), `/readyz` (its
 * dependencies answer and it is doing its work) and Prometheus `/metrics`.
 */

import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { HttpTls } from './config.ts';
import type { Logger } from './logger.ts';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type ReadinessCheck = () => Promise<boolean> | boolean;

export interface OpsServerOptions {
  logger: Logger;
  registry: Registry;
  /** Named checks; `/readyz` is 200 only when every one passes, and lists each result. */
  readiness: Record<string, ReadinessCheck>;
  /** An existing app to add the routes to (the API serves them beside its own routes). */
  app?: FastifyInstance;
  /** https instead of http (httpTls of HTTP_TLS_*). */
  tls?: HttpTls | undefined;
}

/**
 * A fastify instance on http, or on https with `tls` (HTTP_TLS_*: certificate, key, and the clients' CA
 * for mutual TLS). Every Tollgate HTTP server is made here, so each one serves TLS the same way.
 */
export function createHttpServer(options: FastifyServerOptions, tls: HttpTls | undefined): FastifyInstance {
  if (tls === undefined) return Fastify(options);
  // Typed as the http overload: fastify types an https instance with https.Server instead, while the
  // routes, hooks, inject and listen the services use are the same on both; `https` picks the server.
  return Fastify({ ...options, https: tls } as FastifyServerOptions);
}

export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

export function createOpsServer({
  logger,
  registry,
  readiness,
  app,
  tls,
}: OpsServerOptions): FastifyInstance {
  const server: FastifyInstance =
    app ??
    createHttpServer(
      {
        loggerInstance: logger.child({ component: 'ops-http' }) as FastifyBaseLogger,
        logController: new LogController({ disableRequestLogging: true }),
      },
      tls,
    );
  server.get('/healthz', async () => ({ status: 'ok' }));
  server.get('/readyz', async (_request, reply) => {
    const results: Record<string, boolean> = {};
    for (const [name, check] of Object.entries(readiness)) {
      try {
        results[name] = await check();
      } catch {
        results[name] = false;
      }
    }
    const ready = Object.values(results).every(Boolean);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks: results });
  });
  server.get('/metrics', async (_request, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  return server;
}
