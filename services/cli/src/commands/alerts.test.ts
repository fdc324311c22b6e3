import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exampleCostAlert } from '@tollgate/core/contract/examples';
import { alertFilter, formatAlert } from './alerts.ts';

describe('tollgate alerts lines', () => {
  it('shows money just past a threshold as past it', () => {
    const alert = {
      ...exampleCostAlert(),
      rule: 'run_velocity',
      observed: 2_001_000_000,
      expected: 2_000_000_000,
    };
    assert.match(
      formatAlert(alert),
      /run_velocity org=org-acme .*: observed \$2\.001 vs expected \$2\.00 — /,
    );
  });

  it('writes a count bare and other units after the number', () => {
    const loop = { ...exampleCostAlert(), rule: 'run_loop', unit: 'count', observed: 10, expected: 10 };
    assert.match(formatAlert(loop), /: observed 10 vs expected 10 — /);
    const idle = { ...exampleCostAlert(), unit: 'seconds', observed: 3717, expected: 900 };
    assert.match(formatAlert(idle), /: observed 3717 seconds vs expected 900 seconds — /);
  });

  it('starts with the detection time and the severity', () => {
    assert.match(formatAlert(exampleCostAlert()), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d CRITICAL feature_spike /);
  });
});

describe('tollgate alerts filters', () => {
  const alert = (over: Partial<ReturnType<typeof exampleCostAlert>>) => ({ ...exampleCostAlert(), ...over });

  it('keeps alerts of the orgs, severities at or above the one asked for, and the rules given', () => {
    const critical = alert({ org_id: 'acme', severity: 'critical', rule: 'run_loop' });
    const warning = alert({ org_id: 'acme', severity: 'warning', rule: 'run_cost' });
    const globex = alert({ org_id: 'globex', severity: 'critical', rule: 'run_loop' });
    const all = [critical, warning, globex];
    const kept = (flags: Parameters<typeof alertFilter>[0]) => all.filter(alertFilter(flags));
    assert.deepEqual(kept({}), all);
    assert.deepEqual(kept({ org: 'acme' }), [critical, warning]);
    assert.deepEqual(kept({ org: 'acme, globex' }), all);
    assert.deepEqual(kept({ severity: 'WARNING' }), all);
    assert.deepEqual(kept({ severity: 'critical' }), [critical, globex]);
    assert.deepEqual(kept({ rule: 'run_cost,budget_threshold' }), [warning]);
    assert.deepEqual(kept({ org: 'globex', rule: 'run_cost' }), []);
  });

  it('refuses a severity or rule that does not exist, naming what does', () => {
    assert.throws(
      () => alertFilter({ severity: 'high' }),
      /--severity must be one of info, warning, critical, got "high"/,
    );
    assert.throws(
      () => alertFilter({ rule: 'run-loop' }),
      /--rule takes rules among run_cost, .*budget_forecast; got "run-loop"/,
    );
    assert.throws(() => alertFilter({ org: ' , ' }), /--org needs at least one org id/);
  });
});
