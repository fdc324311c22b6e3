/**
 * The pricer's Prometheus metrics. Events/s is `rate(tollgate_pricer_events_total[1m])`; the
 * `tollgate_pricer_events_per_second` gauge gives the same over the last interval for a human
 * reading /metrics.
 */
import { Counter, Gauge, Histogram, type Registry } from '@tollgate/core';

export interface PricerMetrics {
  events: Counter<'outcome'>;
  eventsPerSecond: Gauge;
  unpricedLines: Counter;
  deadLetters: Counter<'reason_code'>;
  transactions: Counter<'result'>;
  transactionSeconds: Histogram;
  lag: Gauge<'partition'>;
  dedupEntries: Gauge<'partition'>;
  rateCardInfo: Gauge<'card_id' | 'versions' | 'content_hash'>;
  rateCardsRejected: Counter;
  /** Starts the events-per-second sampler; returns its stopper. */
  sampleRate(intervalMs: number): () => void;
}

export function createPricerMetrics(registry: Registry): PricerMetrics {
  const registers = [registry];
  const events = new Counter({
    name: 'tollgate_pricer_events_total',
    help: 'Usage messages handled, by outcome: priced, duplicate (dropped retry), dead_letter',
    labelNames: ['outcome'],
    registers,
  });
  const eventsPerSecond = new Gauge({
    name: 'tollgate_pricer_events_per_second',
    help: 'Usage messages handled per second over the last sampling interval',
    registers,
  });
  return {
    events,
    eventsPerSecond,
    unpricedLines: new Counter({
      name: 'tollgate_pricer_unpriced_lines_total',
      help: 'Line items the rate card could not price (cost unknown, never zero)',
      registers,
    }),
    deadLetters: new Counter({
      name: 'tollgate_pricer_dead_letters_total',
      help: 'Usage messages sent to the dead-letter topic, by reason code',
      labelNames: ['reason_code'],
      registers,
    }),
    transactions: new Counter({
      name: 'tollgate_pricer_transactions_total',
      help: 'Kafka transactions (priced events + dead letters + consumer offsets), by result',
      labelNames: ['result'],
      registers,
    }),
    transactionSeconds: new Histogram({
      name: 'tollgate_pricer_transaction_duration_seconds',
      help: 'Time from opening a batch transaction to its commit',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    lag: new Gauge({
      name: 'tollgate_pricer_consumer_lag',
      help: 'Messages behind the end of each usage partition after the last batch',
      labelNames: ['partition'],
      registers,
    }),
    dedupEntries: new Gauge({
      name: 'tollgate_pricer_dedup_window_entries',
      help: 'Event ids held in the duplicate window, by usage partition',
      labelNames: ['partition'],
      registers,
    }),
    rateCardInfo: new Gauge({
      name: 'tollgate_pricer_rate_card_info',
      help: 'The rate card in use (value 1), with its id, version labels and content hash',
      labelNames: ['card_id', 'versions', 'content_hash'],
      registers,
    }),
    rateCardsRejected: new Counter({
      name: 'tollgate_pricer_rate_cards_rejected_total',
      help: 'Rate cards read from the topic and rejected as invalid (the last good card stays in use)',
      registers,
    }),
    sampleRate(intervalMs) {
      let last = 0;
      const timer = setInterval(async () => {
        const total = (await events.get()).values.reduce((sum, v) => sum + v.value, 0);
        eventsPerSecond.set(((total - last) * 1000) / intervalMs);
        last = total;
      }, intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
