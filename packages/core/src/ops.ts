/**
 * What every service exposes to operators: `/healthz` (the process is alive), `/readyz` (its
 * dependencies answer and it is doing its work) and Prometheus `/metrics`.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
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
}

export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

export function createOpsServer({ logger, registry, readiness, app }: OpsServerOptions): FastifyInstance {
  const server: FastifyInstance =
    app ??
    Fastify({
      loggerInstance: logger.child({ component: 'ops-http' }) as FastifyBaseLogger,
      logController: new LogController({ disableRequestLogging: true }),
    });
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
