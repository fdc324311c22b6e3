import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '@tollgate/core';
import {
  allowedSpawns,
  checkCost,
  checkDepth,
  checkTokens,
  costToNanos,
  NO_CEILINGS,
  resolveCeilings,
  stricterCeilings,
} from './ceilings.ts';

describe('ceilings', () => {
  it('reads a cost limit as exact nanos', () => {
    assert.equal(costToNanos('5.00', 'c'), 5_000_000_000);
    assert.equal(costToNanos('0.1', 'c'), 100_000_000);
    assert.equal(costToNanos('0.000000001', 'c'), 1);
    assert.equal(costToNanos('9000000', 'c'), 9_000_000_000_000_000);
    for (const bad of ['-1', '1e3', '1.0000000001', '9000001', ' 2', ''])
      assert.throws(() => costToNanos(bad, 'ceilings.costPerRun'), ConfigError, bad);
  });

  it('lets a run override, inherit, or switch off each default', () => {
    const base = resolveCeilings(
      NO_CEILINGS,
      { tokensPerRequest: 100_000, subagentsPerRun: 10, spawnDepth: 2 },
      'ceilings',
    );
    const run = resolveCeilings(
      base,
      { subagentsPerRun: 3, spawnDepth: null, costPerRun: '1.50' },
      'ceilings',
    );
    assert.deepEqual(run, {
      tokensPerRequest: 100_000,
      costPerRunNanos: 1_500_000_000,
      subagentsPerRun: 3,
      spawnDepth: null,
    });
    assert.throws(() => resolveCeilings(base, { tokensPerRequest: 0 }, 'ceilings'), /tokensPerRequest/);
    assert.throws(() => resolveCeilings(base, { subagentsPerRun: 2.5 }, 'ceilings'), /subagentsPerRun/);
  });

  it('decides each ceiling from the run counters', () => {
    const c = resolveCeilings(
      NO_CEILINGS,
      { tokensPerRequest: 1000, costPerRun: '1.00', subagentsPerRun: 5, spawnDepth: 2 },
      'ceilings',
    );
    assert.equal(checkTokens(c, 1000), undefined);
    assert.deepEqual(checkTokens(c, 1001), {
      ceiling: 'tokens_per_request',
      limit: 1000,
      requested: 1001,
      observed: 0,
    });
    assert.equal(checkCost(c, 900_000_000, 100_000_000), undefined);
    assert.deepEqual(checkCost(c, 900_000_000, 100_000_001), {
      ceiling: 'cost_per_run',
      limit: 1_000_000_000,
      requested: 100_000_001,
      observed: 900_000_000,
    });
    assert.equal(checkCost(c, 999_999_999, null), undefined, 'unpriced request with budget left passes');
    assert.equal(
      checkCost(c, 1_000_000_000, null)?.ceiling,
      'cost_per_run',
      'spent budget refuses even unpriced',
    );
    assert.equal(checkDepth(c, 1), undefined);
    assert.deepEqual(checkDepth(c, 2), { ceiling: 'spawn_depth', limit: 2, requested: 3, observed: 2 });
    assert.equal(allowedSpawns(c, 0, 3), 3);
    assert.equal(allowedSpawns(c, 3, 400), 2);
    assert.equal(allowedSpawns(c, 7, 1), 0);
    assert.equal(allowedSpawns(NO_CEILINGS, 10_000, 400), 400);
  });
});

describe('stricterCeilings', () => {
  it('takes the lower limit field by field, a missing limit on one side leaving the other', () => {
    const code = {
      tokensPerRequest: 100_000,
      costPerRunNanos: 5_000_000_000,
      subagentsPerRun: null,
      spawnDepth: 1,
    };
    const policy = {
      tokensPerRequest: 200_000,
      costPerRunNanos: 2_000_000_000,
      subagentsPerRun: 50,
      spawnDepth: null,
    };
    assert.deepEqual(stricterCeilings(code, policy), {
      tokensPerRequest: 100_000,
      costPerRunNanos: 2_000_000_000,
      subagentsPerRun: 50,
      spawnDepth: 1,
    });
    assert.deepEqual(stricterCeilings(NO_CEILINGS, NO_CEILINGS), NO_CEILINGS);
  });
});
