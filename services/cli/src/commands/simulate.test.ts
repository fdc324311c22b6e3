import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { progressLine } from './simulate.ts';

describe('simulate progress', () => {
  it('draws a bar of what is done with the rate and the counts', () => {
    assert.equal(
      progressLine({ events: 12_345, runs: 40, planned: 150, elapsedMs: 10_000, fraction: 0.25 }),
      '[██████░░░░░░░░░░░░░░░░░░]  25 %  1,235 events/s  12,345 events  40/150 runs',
    );
  });

  it('is empty at the start and full at the end', () => {
    assert.match(
      progressLine({ events: 0, runs: 0, planned: 50, elapsedMs: 0, fraction: 0 }),
      /^\[░{24}\] {3}0 % {2}0 events\/s/,
    );
    assert.match(
      progressLine({ events: 900, runs: 50, planned: 50, elapsedMs: 3_000, fraction: 1 }),
      /^\[█{24}\] 100 % {2}300 events\/s/,
    );
  });
});
