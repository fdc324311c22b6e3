/** The ingest service's Prometheus metrics. Rates come from the counters with `rate()`. */
import { Counter, Histogram, type Registry } from '@tollgate/core';

export type IngestRoute = 'events' | 'traces';

export interface IngestMetrics {
  /** Requests answered, by route URL and HTTP status. */
  requests: Counter<'route' | 'status'>;
  /** OTLP spans that carry no billable GenAI usage, by why (not_gen_ai, no_usage, agent_span). */
  ignoredSpans: Counter<'reason'>;
  /** Events (or spans) by outcome: accepted, rejected (dead-lettered), ignored (spans without usage). */
  events: Counter<'route' | 'outcome'>;
  /** Rejections by the field and reason code, to find the producer bug behind a spike. */
  rejections: Counter<'route' | 'reason_code'>;
  publishSeconds: Histogram<'route'>;
  publishFailures: Counter<'route'>;
}

export function createIngestMetrics(registry: Registry): IngestMetrics {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'tollgate_ingest_requests_total',
      help: 'HTTP requests answered, by route URL and status code',
      labelNames: ['route', 'status'],
      registers,
    }),
    ignoredSpans: new Counter({
      name: 'tollgate_ingest_ignored_spans_total',
      help: 'OTLP spans without billable GenAI usage, by reason (not_gen_ai, no_usage, agent_span)',
      labelNames: ['reason'],
      registers,
    }),
    events: new Counter({
      name: 'tollgate_ingest_events_total',
      help: 'Events or spans received, by route and outcome (accepted, rejected, ignored)',
      labelNames: ['route', 'outcome'],
      registers,
    }),
    rejections: new Counter({
      name: 'tollgate_ingest_rejections_total',
      help: 'Events or spans rejected and dead-lettered, by route and reason code',
      labelNames: ['route', 'reason_code'],
      registers,
    }),
    publishSeconds: new Histogram({
      name: 'tollgate_ingest_publish_duration_seconds',
      help: 'Time until Kafka acknowledged a request’s events and dead letters',
      labelNames: ['route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    publishFailures: new Counter({
      name: 'tollgate_ingest_publish_failures_total',
      help: 'Requests answered 503 because Kafka did not acknowledge',
      labelNames: ['route'],
      registers,
    }),
  };
}
