import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createAlertCodec,
  createDeadLetterCodec,
  createPolicyIndex,
  createRegistry,
  silentLogger,
} from '@tollgate/core';
import { createDetectorMetrics } from '../metrics.ts';
import { encodeRecord, type FeatureRecord } from '../records.ts';
import type { InputMessage, TaskProcessor } from '../runtime/stage.ts';
import { emptyDims } from './baseline.ts';
import { createFeatureTask } from './stage.ts';

const W = 60_000;
const T0 = Date.UTC(2026, 10, 2, 9, 0);
const USD = 1_000_000_000;

function task(idleUpstreamMs = 10_000, upstreamPartitions = 2): TaskProcessor {
  const processor = createFeatureTask({
    partition: 0,
    upstreamPartitions,
    topics: { alerts: 'alerts', deadLetters: 'dlq' },
    policies: createPolicyIndex(),
    alertCodec: createAlertCodec(),
    deadLetterCodec: createDeadLetterCodec(),
    settings: {
      windowMs: W,
      allowedLatenessMs: 0,
      idleUpstreamMs,
      retentionMs: 86_400_000,
      baseline: { alpha: 0.2, seasonalAlpha: 0.3, minSeasonalSamples: 24 },
    },
    metrics: createDetectorMetrics(createRegistry('test')),
    logger: silentLogger(),
  });
  processor.restored();
  return processor;
}

let offset = 0;
function message(record: FeatureRecord | Buffer): InputMessage {
  return {
    key: null,
    value: Buffer.isBuffer(record) ? record : encodeRecord(record),
    offset: String(offset++),
    partition: 0,
    topic: 'features',
  };
}

function slice(
  src: number,
  windowStart: number,
  dollars: number,
  srcTime = windowStart + W - 1,
): FeatureRecord {
  const dims = emptyDims();
  dims.model['claude-sonnet-4.5'] = dollars * USD;
  return {
    kind: 'slice',
    src,
    srcTime,
    slice: {
      org: 'acme',
      feature: 'search',
      currency: 'USD',
      windowStart,
      costNanos: dollars * USD,
      events: 5,
      first: windowStart,
      last: windowStart + 1,
      dims,
    },
  };
}

/** The state of acme/search as the changelog records it. */
function feature(output: ReturnType<TaskProcessor['process']>) {
  const entry = output.changelog.find((c) => c.key === 'f:acme\u0000search');
  return entry?.value ? JSON.parse(entry.value) : undefined;
}

describe('feature task watermark', () => {
  it('keeps windows open until every upstream partition has passed them', () => {
    const t = task();
    const now = 1_000_000;
    // Partition 0 is far ahead; partition 1 has not reported yet: nothing may close.
    let out = t.process([message(slice(0, T0, 2, T0 + 10 * W))], now);
    assert.deepEqual(Object.keys(feature(out).open), [String(T0)]);
    // Partition 1 reports a time inside the window: still open.
    out = t.process([message(slice(1, T0, 1, T0 + 30_000))], now + 10);
    assert.equal(feature(out).open[T0].cost, 3 * USD);
    // Partition 1 passes the window's end: it closes and the baseline learns $3.
    out = t.process([message({ kind: 'tick', src: 1, srcTime: T0 + W })], now + 20);
    assert.deepEqual(feature(out).open, {});
    assert.equal(feature(out).baseline.global.mean, 3 * USD);
  });

  it('stops waiting for an upstream partition that has gone quiet', () => {
    const t = task(5_000);
    const now = 1_000_000;
    t.process([message(slice(0, T0, 2, T0 + 3 * W))], now);
    // Partition 1 never reports; after the idle timeout partition 0 alone decides.
    const out = t.process([message({ kind: 'tick', src: 0, srcTime: T0 + 3 * W })], now + 6_000);
    assert.deepEqual(feature(out).open, {});
  });

  it('counts a slice for a closed window as late and keeps it out of the window', () => {
    const t = task(10_000, 1);
    const now = 1_000_000;
    t.process([message(slice(0, T0, 2, T0 + 2 * W))], now);
    const out = t.process([message(slice(0, T0, 5, T0 + 2 * W))], now + 10);
    assert.deepEqual(feature(out).late, { events: 5, nanos: 5 * USD });
    assert.equal(feature(out).baseline.global.mean, 2 * USD);
  });

  it('dead-letters a record it cannot read, naming the reason', () => {
    const t = task();
    const out = t.process([message(Buffer.from('{"kind":"slice","src":0}'))], 1);
    const dlq = out.messages.find((m) => m.topic === 'dlq')!;
    assert.equal(dlq.messages.length, 1);
    const letter = createDeadLetterCodec().decode(dlq.messages[0]!.value as Buffer);
    assert.ok(letter.ok);
    assert.equal(letter.value.reason_code, 'bad_internal_record');
    assert.match(letter.value.reason, /srcTime/);
  });

  it('restores from its own changelog and carries on where it stopped', () => {
    const first = task(10_000, 1);
    const changes: { key: string; value: string | null }[] = [];
    for (let i = 0; i < 10; i++)
      changes.push(...first.process([message(slice(0, T0 + i * W, 3, T0 + (i + 1) * W))], 1).changelog);
    const second = createFeatureTask({
      partition: 0,
      upstreamPartitions: 1,
      topics: { alerts: 'alerts', deadLetters: 'dlq' },
      policies: createPolicyIndex(),
      alertCodec: createAlertCodec(),
      deadLetterCodec: createDeadLetterCodec(),
      settings: {
        windowMs: W,
        allowedLatenessMs: 0,
        idleUpstreamMs: 10_000,
        retentionMs: 86_400_000,
        baseline: { alpha: 0.2, seasonalAlpha: 0.3, minSeasonalSamples: 24 },
      },
      metrics: createDetectorMetrics(createRegistry('test')),
      logger: silentLogger(),
    });
    for (const change of changes) second.restore(change.key, change.value);
    second.restored();
    // The restored baseline knows $3 windows: a $30 window is a spike at once.
    const out = second.process([message(slice(0, T0 + 10 * W, 30, T0 + 10 * W + 1_000))], 2);
    const alerts = out.messages.find((m) => m.topic === 'alerts')!.messages;
    assert.equal(alerts.length, 1);
    const alert = createAlertCodec().decode(alerts[0]!.value as Buffer);
    assert.ok(alert.ok);
    assert.equal(alert.value.rule, 'feature_spike');
    assert.equal(alert.value.window_start, T0 + 10 * W);
  });
});
