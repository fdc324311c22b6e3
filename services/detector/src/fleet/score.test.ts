import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CostAlert } from '@tollgate/core';
import type { Anomaly } from './generator.ts';
import { scoreAlerts } from './score.ts';

const W = 300_000;
const T = Date.UTC(2026, 10, 2, 10, 0);
const anomalies: Anomaly[] = [
  {
    id: 'loop',
    type: 'runaway_loop',
    scope: 'run',
    org: 'a',
    feature: 'f',
    runId: 'r1',
    start: T,
    end: T + 60_000,
  },
  {
    id: 'swap',
    type: 'model_swap',
    scope: 'feature',
    org: 'a',
    feature: 'g',
    runId: null,
    start: T,
    end: T + 1_800_000,
  },
];

function alert(fields: Partial<CostAlert>): CostAlert {
  return {
    alert_id: Math.random().toString(36),
    rule: 'run_loop',
    severity: 'warning',
    scope: 'run',
    org_id: 'a',
    run_id: null,
    feature: 'f',
    customer_id: null,
    window_start: null,
    window_end: null,
    observed: 0,
    expected: 0,
    unit: 'count',
    explanation: '',
    contributors: [],
    first_event_time: T,
    detected_at: T,
    policy_id: null,
    ...fields,
  };
}

describe('scoreAlerts', () => {
  it('counts matches, consequences and false positives, with latency and spend at detection', () => {
    const score = scoreAlerts({
      anomalies,
      windowMs: W,
      costThresholdNanos: 5e9,
      runCostAt: (_run, t) => (t <= T + 30_000 ? 4e9 : 12e9),
      alerts: [
        alert({ run_id: 'r1', window_end: T + 30_000 }),
        alert({
          rule: 'feature_spike',
          scope: 'feature',
          feature: 'g',
          window_start: T + W,
          window_end: T + 2 * W,
        }),
        // A run of the swapped feature: caused by the anomaly, not a detection of it.
        alert({ rule: 'run_cost', run_id: 'r9', feature: 'g', window_end: T + 600_000 }),
        alert({ rule: 'feature_spike', scope: 'feature', feature: 'h', window_start: T, window_end: T + W }),
      ],
    });
    assert.equal(score.precision, 0.75);
    assert.equal(score.recall, 1);
    assert.equal(score.false_positives, 1);
    assert.equal(score.feature_precision, 0.5);
    assert.deepEqual(score.per_type.runaway_loop, {
      injected: 1,
      detected: 1,
      recall: 1,
      latency_ms_p50: 30_000,
      latency_ms_max: 30_000,
      flagged_before_2x_threshold: 1,
    });
    assert.equal(score.per_type.model_swap!.windows_to_detect_max, 1);
  });

  it('misses an anomaly only its consequences alerted on', () => {
    const score = scoreAlerts({
      anomalies,
      windowMs: W,
      costThresholdNanos: 5e9,
      runCostAt: () => 0,
      alerts: [alert({ rule: 'run_cost', run_id: 'r9', feature: 'g', window_end: T + 600_000 })],
    });
    assert.equal(score.recall, 0);
    assert.equal(score.precision, 1);
    assert.deepEqual(score.missed, ['loop a/f/r1', 'swap a/g']);
  });
});
