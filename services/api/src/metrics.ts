import { Counter, Histogram, type Registry } from '@tollgate/core';

export function createApiMetrics(registry: Registry) {
  return {
    requests: new Counter({
      name: 'tollgate_api_requests_total',
      help: 'API requests by route and status',
      labelNames: ['route', 'status'],
      registers: [registry],
    }),
    seconds: new Histogram({
      name: 'tollgate_api_request_duration_seconds',
      help: 'API request latency by route',
      labelNames: ['route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
}
