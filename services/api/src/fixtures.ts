/**
 * A small, fully known data set for the API tests, written into a test database through the sink's
 * own row mapping (so the materialized views fill the rollups exactly as in production). Two orgs:
 * acme (the one under test) and globex (whose data must never show through an acme key).
 */
import { type ClickHouse, formatDateTime } from '@tollgate/core';
import type { PricedEvent } from '@tollgate/core/contract/types';
import { alertRow, lineItemRows, type Row, runEventRow } from '@tollgate/sink/rows';
import { costAlert, lineItem, pricedEvent, runEvent, spawnEvent } from '@tollgate/sink/testing';
import { generateApiKey, type KeyRecord } from './auth.ts';

const at = (hour: number, minute = 0) => Date.UTC(2026, 0, 15, hour, minute);

function tokens(input: number, output: number, inputNanos: number, outputNanos: number) {
  return [
    lineItem({ line_no: 0, quantity: String(input), cost_nanos: inputNanos }),
    lineItem({ line_no: 1, item: 'output', quantity: String(output), cost_nanos: outputNanos }),
  ];
}

/** The events, in publish order; costs below are the sums tests expect. */
export function fixtureEvents(): PricedEvent[] {
  const run1 = { org_id: 'acme', run_id: 'run-1', feature: 'search', customer_id: 'cust-1' };
  const run2 = { org_id: 'acme', run_id: 'run-2', feature: 'search', customer_id: 'cust-2' };
  const run3 = { org_id: 'acme', run_id: 'run-3', feature: 'support', customer_id: 'cust-1' };
  return [
    runEvent('run_start', {
      ...run1,
      event_id: 'r1-start',
      event_time: at(10),
      agent_id: 'root',
      agent_name: 'planner',
    }),
    // root (planner) spends 1.000 + 0.500; it spawns w1, w2, w3; w1 spawns w1a
    pricedEvent(
      { ...run1, event_id: 'r1-e1', event_time: at(10, 5), tags: { team: 'growth' } },
      tokens(1000, 100, 1_000_000_000, 500_000_000),
    ),
    spawnEvent({ id: 'w1', name: 'worker', depth: 1 }, { ...run1, event_id: 'r1-s1', event_time: at(10, 6) }),
    spawnEvent({ id: 'w2', name: 'worker', depth: 1 }, { ...run1, event_id: 'r1-s2', event_time: at(10, 6) }),
    spawnEvent({ id: 'w3', name: 'worker', depth: 1 }, { ...run1, event_id: 'r1-s3', event_time: at(10, 6) }),
    pricedEvent(
      {
        ...run1,
        event_id: 'r1-e2',
        event_time: at(10, 10),
        agent_id: 'w1',
        parent_agent_id: 'root',
        agent_name: 'worker',
        agent_depth: 1,
        tags: { team: 'growth' },
      },
      tokens(500, 50, 200_000_000, 100_000_000),
    ),
    spawnEvent(
      { id: 'w1a', name: 'helper', depth: 2 },
      {
        ...run1,
        event_id: 'r1-s4',
        event_time: at(10, 11),
        agent_id: 'w1',
        parent_agent_id: 'root',
        agent_name: 'worker',
        agent_depth: 1,
      },
    ),
    pricedEvent(
      {
        ...run1,
        event_id: 'r1-e3',
        event_time: at(10, 12),
        agent_id: 'w1a',
        parent_agent_id: 'w1',
        agent_name: 'helper',
        agent_depth: 2,
        tags: { team: 'infra' },
      },
      tokens(100, 10, 30_000_000, 20_000_000),
    ),
    pricedEvent(
      {
        ...run1,
        event_id: 'r1-e4',
        event_time: at(11, 0),
        agent_id: 'w2',
        parent_agent_id: 'root',
        agent_name: 'worker',
        agent_depth: 1,
        tags: {},
      },
      [
        lineItem({
          line_no: 0,
          category: 'sandbox',
          item: 'vcpu_seconds',
          unit: 'vcpu_second',
          quantity: '120.5',
          cost_nanos: 150_000_000,
        }),
      ],
    ),
    runEvent('run_end', { ...run1, event_id: 'r1-end', event_time: at(11, 30), agent_id: 'root' }, 'success'),
    // run-2: search, failed, 0.400
    runEvent('run_start', { ...run2, event_id: 'r2-start', event_time: at(11) }),
    pricedEvent(
      { ...run2, event_id: 'r2-e1', event_time: at(11, 5), model: 'gpt-5', provider: 'openai' },
      tokens(800, 80, 300_000_000, 100_000_000),
    ),
    runEvent('run_end', { ...run2, event_id: 'r2-end', event_time: at(11, 20) }, 'failure'),
    // run-3: support, success, 0.250, plus an unpriced line
    runEvent('run_start', { ...run3, event_id: 'r3-start', event_time: at(12) }),
    pricedEvent(
      { ...run3, event_id: 'r3-e1', event_time: at(12, 1), model: 'mystery-model', provider: 'acme-labs' },
      [
        lineItem({ line_no: 0, cost_nanos: 250_000_000 }),
        lineItem({
          line_no: 1,
          item: 'output',
          quantity: '42',
          priced: false,
          cost_nanos: null,
          unit_price: null,
        }),
      ],
    ),
    runEvent('run_end', { ...run3, event_id: 'r3-end', event_time: at(12, 30) }, 'success'),
    // untagged spend: no feature, customer or environment: 0.070
    pricedEvent(
      {
        org_id: 'acme',
        run_id: 'run-4',
        event_id: 'r4-e1',
        event_time: at(12, 10),
        feature: null,
        customer_id: null,
        environment: null,
        agent_name: 'rogue',
        tags: {},
      },
      tokens(100, 10, 50_000_000, 20_000_000),
    ),
    // globex: must never be visible to acme
    runEvent('run_start', {
      org_id: 'globex',
      run_id: 'run-g',
      feature: 'search',
      event_id: 'g-start',
      event_time: at(10),
    }),
    pricedEvent(
      { org_id: 'globex', run_id: 'run-g', feature: 'search', event_id: 'g-e1', event_time: at(10, 30) },
      tokens(9000, 900, 9_000_000_000, 900_000_000),
    ),
    runEvent(
      'run_end',
      { org_id: 'globex', run_id: 'run-g', feature: 'search', event_id: 'g-end', event_time: at(11) },
      'success',
    ),
  ];
}

export const EXPECTED = {
  acmeTotalNanos:
    1_500_000_000n + 300_000_000n + 50_000_000n + 150_000_000n + 400_000_000n + 250_000_000n + 70_000_000n,
  run1Nanos: 2_000_000_000n,
  run2Nanos: 400_000_000n,
  run3Nanos: 250_000_000n,
  untaggedNanos: 70_000_000n,
};

export async function loadFixtures(ch: ClickHouse): Promise<void> {
  const insertedAt = formatDateTime(new Date());
  const lines: Row[] = [];
  const runs: Row[] = [];
  fixtureEvents().forEach((event, offset) => {
    const source = { topic: 'fixtures', partition: 0, offset: String(offset) };
    lines.push(...lineItemRows(event, source, insertedAt));
    const run = runEventRow(event, source, insertedAt);
    if (run) runs.push(run);
  });
  await ch.insert('line_items', lines);
  await ch.insert('run_events', runs);
  await ch.insert('alerts', [
    alertRow(
      costAlert({ alert_id: 'a-acme', org_id: 'acme' }),
      { topic: 'alerts', partition: 0, offset: '0' },
      insertedAt,
    ),
    alertRow(
      costAlert({ alert_id: 'a-globex', org_id: 'globex', severity: 'critical' }),
      { topic: 'alerts', partition: 0, offset: '1' },
      insertedAt,
    ),
  ]);
}

export interface FixtureKeys {
  records: KeyRecord[];
  acmeReader: string;
  acmeAdmin: string;
  globexReader: string;
}

export function fixtureKeys(): FixtureKeys {
  const acmeReader = generateApiKey('acme-reader', 'acme', 'reader');
  const acmeAdmin = generateApiKey('acme-admin', 'acme', 'admin');
  const globexReader = generateApiKey('globex-reader', 'globex', 'reader');
  return {
    records: [acmeReader.record, acmeAdmin.record, globexReader.record],
    acmeReader: acmeReader.key,
    acmeAdmin: acmeAdmin.key,
    globexReader: globexReader.key,
  };
}
