import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { progressLine } from './simulate.ts';

describe('simulate progress', () => {
  it('draws a bar of what is done with the rate and the counts', () => {
    assert.equal(
      progressLine({
        events: 12_345,
        delivered: 12_345,
        runs: 40,
        planned: 150,
        elapsedMs: 10_000,
        fraction: 0.25,
      }),
      '[██████░░░░░░░░░░░░░░░░░░]  25 %  1,235 events/s  12,345 events  40/150 runs',
    );
  });

  it('counts what the broker acknowledged, shows the rest as waiting, and a failing delivery', () => {
    assert.equal(
      progressLine({
        events: 50_000,
        delivered: 2_000,
        deliveryProblem: 'Connection error: connect ECONNREFUSED 127.0.0.1:9092',
        runs: 4_600,
        planned: 4_650,
        elapsedMs: 20_000,
        fraction: 0.99,
      }),
      '[███████████████████████░]  99 %  100 events/s  2,000 events (48,000 waiting)  4,600/4,650 runs' +
        '  Kafka: Connection error: connect ECONNREFUSED 127.0.0.1:9092; retrying',
    );
  });

  it('is empty at the start and full at the end', () => {
    assert.match(
      progressLine({ events: 0, delivered: 0, runs: 0, planned: 50, elapsedMs: 0, fraction: 0 }),
      /^\[░{24}\] {3}0 % {2}0 events\/s/,
    );
    assert.match(
      progressLine({ events: 900, delivered: 900, runs: 50, planned: 50, elapsedMs: 3_000, fraction: 1 }),
      /^\[█{24}\] 100 % {2}300 events\/s/,
    );
  });
});
