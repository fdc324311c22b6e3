/** The sink's Prometheus metrics. Rates (rows/s) come from the counters with `rate()`. */
import { Counter, Gauge, Histogram, type Registry } from '@tollgate/core';

export interface SinkMetrics {
  rowsInserted: Counter<'table'>;
  insertSeconds: Histogram<'table'>;
  stalenessSeconds: Histogram;
  retries: Counter<'operation'>;
  duplicatesSkipped: Counter<'table'>;
  deadLettered: Counter<'topic' | 'reason_code'>;
  resyncs: Counter<'topic'>;
  messages: Counter<'topic'>;
  pricedDecoded: Counter;
  bufferedRows: Gauge;
  lag: Gauge<'topic' | 'partition'>;
  clickhouseUp: Gauge;
}

export function createSinkMetrics(registry: Registry): SinkMetrics {
  const registers = [registry];
  return {
    rowsInserted: new Counter({
      name: 'tollgate_sink_rows_inserted_total',
      help: 'Rows inserted into ClickHouse, by table',
      labelNames: ['table'],
      registers,
    }),
    insertSeconds: new Histogram({
      name: 'tollgate_sink_insert_duration_seconds',
      help: 'Latency of successful inserts, by table',
      labelNames: ['table'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    stalenessSeconds: new Histogram({
      name: 'tollgate_sink_staleness_seconds',
      help: 'Per flush: age of its oldest message (broker append time) when its line items were stored',
      buckets: [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60],
      registers,
    }),
    retries: new Counter({
      name: 'tollgate_sink_retries_total',
      help: 'ClickHouse operations retried after a retriable failure, by operation',
      labelNames: ['operation'],
      registers,
    }),
    duplicatesSkipped: new Counter({
      name: 'tollgate_sink_duplicates_skipped_total',
      help: 'Rows not inserted because their message was already stored (redelivery or a failed insert that landed)',
      labelNames: ['table'],
      registers,
    }),
    deadLettered: new Counter({
      name: 'tollgate_sink_dead_letters_total',
      help: 'Messages the sink could not store as events, by source topic and reason code',
      labelNames: ['topic', 'reason_code'],
      registers,
    }),
    resyncs: new Counter({
      name: 'tollgate_sink_resyncs_total',
      help: 'Partitions resynchronised (wait for running inserts, read what is stored): on assignment, after a seek or a failure',
      labelNames: ['topic'],
      registers,
    }),
    messages: new Counter({
      name: 'tollgate_sink_messages_total',
      help: 'Kafka messages handled (stored, skipped as already stored, or dead-lettered), by topic',
      labelNames: ['topic'],
      registers,
    }),
    pricedDecoded: new Counter({
      name: 'tollgate_sink_priced_decoded_total',
      help: 'Priced events decoded into objects rather than transcoded from their bytes: run lifecycle events, events to dead-letter, older writer schemas, text that is not valid UTF-8',
      registers,
    }),
    bufferedRows: new Gauge({
      name: 'tollgate_sink_buffered_rows',
      help: 'Rows waiting for the next insert',
      registers,
    }),
    lag: new Gauge({
      name: 'tollgate_sink_consumer_lag',
      help: 'Messages between the committed offset and the end of the partition',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    clickhouseUp: new Gauge({
      name: 'tollgate_sink_clickhouse_up',
      help: '1 when the last ClickHouse operation succeeded, 0 while the sink backs off',
      registers,
    }),
  };
}
