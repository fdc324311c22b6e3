import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exampleCostAlert } from '@tollgate/core/contract/examples';
import { formatAlert } from './alerts.ts';

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
