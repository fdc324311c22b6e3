/** The detector's Prometheus metrics, registered once per process on the service's registry. */
import { Counter, Gauge, Histogram, type Registry } from '@tollgate/core';

export interface DetectorMetrics {
  events: Counter<'stage'>;
  lateEvents: Counter<'stage'>;
  alerts: Counter<'rule' | 'severity'>;
  deadLetters: Counter<'stage' | 'reason'>;
  currencyMismatches: Counter<'stage'>;
  transactions: Counter<'stage' | 'result'>;
  batchSeconds: Histogram<'stage'>;
  restoreRecords: Counter<'stage'>;
  restoreSeconds: Histogram<'stage'>;
  assignedPartitions: Gauge<'stage'>;
  stateEntries: Gauge<'stage' | 'partition'>;
  watermark: Gauge<'stage' | 'partition'>;
  policies: Gauge<'kind'>;
  policiesRejected: Counter;
}

export function createDetectorMetrics(registry: Registry): DetectorMetrics {
  const registers = [registry];
  return {
    events: new Counter({
      name: 'tollgate_detector_events_total',
      help: 'Input records processed and committed, by stage',
      labelNames: ['stage'],
      registers,
    }),
    lateEvents: new Counter({
      name: 'tollgate_detector_late_events_total',
      help: 'Events older than the watermark: applied to run state and budgets, counted (not re-judged) for closed feature windows',
      labelNames: ['stage'],
      registers,
    }),
    alerts: new Counter({
      name: 'tollgate_detector_alerts_total',
      help: 'Alerts published, by rule and severity',
      labelNames: ['rule', 'severity'],
      registers,
    }),
    deadLetters: new Counter({
      name: 'tollgate_detector_dead_letters_total',
      help: 'Input records sent to the dead-letter topic, by reason',
      labelNames: ['stage', 'reason'],
      registers,
    }),
    currencyMismatches: new Counter({
      name: 'tollgate_detector_currency_mismatches_total',
      help: 'Costs not added to a run, window or budget kept in another currency',
      labelNames: ['stage'],
      registers,
    }),
    transactions: new Counter({
      name: 'tollgate_detector_transactions_total',
      help: 'Batch transactions, by result',
      labelNames: ['stage', 'result'],
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'tollgate_detector_batch_seconds',
      help: 'Time to process and commit one batch',
      labelNames: ['stage'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    restoreRecords: new Counter({
      name: 'tollgate_detector_restore_records_total',
      help: 'Changelog records read to restore task state',
      labelNames: ['stage'],
      registers,
    }),
    restoreSeconds: new Histogram({
      name: 'tollgate_detector_restore_seconds',
      help: 'Time to restore one task from its changelog',
      labelNames: ['stage'],
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    assignedPartitions: new Gauge({
      name: 'tollgate_detector_assigned_partitions',
      help: 'Input partitions assigned to this instance',
      labelNames: ['stage'],
      registers,
    }),
    stateEntries: new Gauge({
      name: 'tollgate_detector_state_entries',
      help: 'Runs, features or budgets held in memory',
      labelNames: ['stage', 'partition'],
      registers,
    }),
    watermark: new Gauge({
      name: 'tollgate_detector_watermark_seconds',
      help: 'Event-time watermark of a task (epoch seconds)',
      labelNames: ['stage', 'partition'],
      registers,
    }),
    policies: new Gauge({
      name: 'tollgate_detector_policies',
      help: 'Policies in force, by kind',
      labelNames: ['kind'],
      registers,
    }),
    policiesRejected: new Counter({
      name: 'tollgate_detector_policies_rejected_total',
      help: 'Policy records rejected as invalid (logged with the reason)',
      registers,
    }),
  };
}
