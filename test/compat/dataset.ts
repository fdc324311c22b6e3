/**
 * The fixed data set of the compatibility check: the API test fixtures (acme, globex: tagged and
 * untagged spend, an unpriced line, a run tree with spawns) plus what they lack: a third org written
 * through the JSONEachRow path, a restatement, a second currency, a second day, a run without cost, a
 * run id and tag values that need escaping, re-fired alerts (ReplacingMergeTree) and dead letters.
 * Everything is built with the sink's own builders and row mappings.
 */
import { fixtureEvents } from '@tollgate/api/fixtures';
import type { CostAlert, DeadLetter, PricedEvent } from '@tollgate/core/contract/types';
import { costAlert, lineItem, pricedEvent, runEvent, spawnEvent } from '@tollgate/sink/testing';

const at = (day: number, hour: number, minute = 0) => Date.UTC(2026, 0, day, hour, minute);

/** The odd run id: a quote, a backslash and a tab reach SQL and TSV only escaped. */
export const ODD_RUN_ID = "run-o'brien\\\tx";

/** acme and globex, written by the sink's TSV path (line_items) and JSONEachRow (run_events). */
export function sinkEvents(): PricedEvent[] {
  const run5 = { org_id: 'acme', run_id: 'run-5', feature: 'research', customer_id: 'cust-3' };
  const odd = { org_id: 'acme', run_id: ODD_RUN_ID, feature: 'search', customer_id: 'cust-1' };
  return [
    ...fixtureEvents(),
    // run-5: research, second day, timeout, two models, a sandbox line and an EUR line
    runEvent('run_start', { ...run5, event_id: 'r5-start', event_time: at(16, 9), environment: 'staging' }),
    pricedEvent(
      {
        ...run5,
        event_id: 'r5-e1',
        event_time: at(16, 9, 15),
        environment: 'staging',
        tags: { team: 'research' },
      },
      [
        lineItem({ line_no: 0, quantity: '20000', cost_nanos: 60_000_000 }),
        lineItem({ line_no: 1, item: 'output', quantity: '3000', cost_nanos: 45_000_000 }),
        lineItem({
          line_no: 2,
          item: 'cache_read',
          quantity: '5000',
          unit_price: '0.0000003',
          cost_nanos: 1_500_000,
        }),
      ],
    ),
    spawnEvent(
      { id: 'r5-w1', name: 'browser', depth: 1 },
      { ...run5, event_id: 'r5-s1', event_time: at(16, 9, 20), environment: 'staging' },
    ),
    pricedEvent(
      {
        ...run5,
        event_id: 'r5-e2',
        event_time: at(16, 9, 40),
        environment: 'staging',
        agent_id: 'r5-w1',
        parent_agent_id: 'root',
        agent_name: 'browser',
        agent_depth: 1,
        provider: 'google',
        model: 'gemini-2.5-pro',
        tags: { team: 'research', cost_center: 'cc-7' },
      },
      [
        lineItem({
          line_no: 0,
          category: 'sandbox',
          item: 'vcpu_seconds',
          unit: 'vcpu_second',
          quantity: '33.25',
          unit_price: '0.00001',
          cost_nanos: 332_500,
        }),
        lineItem({
          line_no: 1,
          category: 'egress',
          item: 'gb',
          unit: 'gb',
          quantity: '0.75',
          priced: false,
          cost_nanos: null,
          unit_price: null,
        }),
      ],
    ),
    pricedEvent(
      {
        ...run5,
        event_id: 'r5-e3',
        event_time: at(16, 10, 5),
        environment: 'staging',
        tags: { team: 'research' },
      },
      [lineItem({ line_no: 0, quantity: '1200', cost_nanos: 2_400_000 })],
      { currency: 'EUR' },
    ),
    // a restatement of r5-e1: a cost difference, not usage
    pricedEvent(
      {
        ...run5,
        event_id: 'r5-e1-restated',
        event_time: at(16, 9, 15),
        environment: 'staging',
        tags: { team: 'research' },
      },
      [lineItem({ line_no: 0, quantity: '20000', cost_nanos: -6_000_000 })],
      { adjustment_of: 'r5-e1' },
    ),
    runEvent(
      'run_end',
      { ...run5, event_id: 'r5-end', event_time: at(16, 11), environment: 'staging' },
      'timeout',
    ),
    // a run still in progress: started, spent, no run_end yet (its ended_at is the zero DateTime)
    runEvent('run_start', {
      org_id: 'acme',
      run_id: 'run-7',
      feature: 'support',
      event_id: 'r7-start',
      event_time: at(16, 12),
    }),
    pricedEvent(
      {
        org_id: 'acme',
        run_id: 'run-7',
        feature: 'support',
        customer_id: 'cust-2',
        event_id: 'r7-e1',
        event_time: at(16, 12, 30),
      },
      [lineItem({ line_no: 0, quantity: '300', cost_nanos: 900_000 })],
    ),
    // a run that never incurred cost (cancelled)
    runEvent('run_start', {
      org_id: 'acme',
      run_id: 'run-6',
      feature: 'support',
      event_id: 'r6-start',
      event_time: at(15, 13),
    }),
    runEvent(
      'run_end',
      { org_id: 'acme', run_id: 'run-6', feature: 'support', event_id: 'r6-end', event_time: at(15, 13, 2) },
      'cancelled',
    ),
    // the odd run id, with tag keys and values that need escaping, not on an hour boundary
    runEvent('run_start', { ...odd, event_id: 'odd-start', event_time: at(15, 14, 7) }),
    pricedEvent(
      {
        ...odd,
        event_id: 'odd-e1',
        event_time: at(15, 14, 9),
        tags: { team: "gr'owth\\", "k'ey": 'v\tal\nue', emoji: 'ünï 🚀' },
      },
      [
        lineItem({ line_no: 0, quantity: '10', cost_nanos: 30_000 }),
        lineItem({ line_no: 1, item: 'output', quantity: '5', cost_nanos: 75_000 }),
      ],
    ),
    runEvent('run_end', { ...odd, event_id: 'odd-end', event_time: at(15, 14, 30) }, 'success'),
    // globex: second day
    pricedEvent(
      {
        org_id: 'globex',
        run_id: 'run-g2',
        feature: 'billing',
        event_id: 'g2-e1',
        event_time: at(16, 8, 30),
        customer_id: null,
      },
      [lineItem({ line_no: 0, quantity: '700', cost_nanos: 2_100_000 })],
    ),
  ];
}

/** initech, written by core's ch.insert (JSONEachRow), the path of the API fixtures. */
export function jsonEvents(): PricedEvent[] {
  const run = {
    org_id: 'initech',
    run_id: 'run-i1',
    feature: 'research',
    customer_id: 'cust-9',
    environment: 'prod',
  };
  return [
    runEvent('run_start', { ...run, event_id: 'i1-start', event_time: at(15, 8) }),
    pricedEvent({ ...run, event_id: 'i1-e1', event_time: at(15, 8, 1), tags: { team: 'lab' } }, [
      lineItem({ line_no: 0, quantity: '4000', cost_nanos: 12_000_000 }),
      lineItem({ line_no: 1, item: 'output', quantity: '900', cost_nanos: 13_500_000 }),
    ]),
    spawnEvent(
      { id: 'i1-w1', name: 'crawler', depth: 1 },
      { ...run, event_id: 'i1-s1', event_time: at(15, 8, 2) },
    ),
    spawnEvent(
      { id: 'i1-w2', name: 'crawler', depth: 2 },
      {
        ...run,
        event_id: 'i1-s2',
        event_time: at(15, 8, 3),
        agent_id: 'i1-w1',
        parent_agent_id: 'root',
        agent_name: 'crawler',
        agent_depth: 1,
      },
    ),
    pricedEvent(
      {
        ...run,
        event_id: 'i1-e2',
        event_time: at(15, 8, 20),
        agent_id: 'i1-w1',
        parent_agent_id: 'root',
        agent_name: 'crawler',
        agent_depth: 1,
        model: 'gpt-5-mini',
        provider: 'openai',
        tags: {},
      },
      [
        lineItem({
          line_no: 0,
          category: 'tools',
          item: 'web_search',
          unit: 'call',
          quantity: '3',
          unit_price: '0.01',
          cost_nanos: 30_000_000,
        }),
        lineItem({
          line_no: 1,
          category: 'retrieval',
          item: 'query',
          unit: 'query',
          quantity: '12',
          priced: false,
          cost_nanos: null,
          unit_price: null,
        }),
      ],
    ),
    pricedEvent(
      {
        ...run,
        event_id: 'i1-e3',
        event_time: at(15, 9, 59),
        agent_id: 'i1-w2',
        parent_agent_id: 'i1-w1',
        agent_name: 'crawler',
        agent_depth: 2,
        feature: null,
        environment: null,
      },
      [lineItem({ line_no: 0, quantity: '0.5', cost_nanos: 1 })],
    ),
    runEvent('run_end', { ...run, event_id: 'i1-end', event_time: at(15, 10) }, 'failure'),
  ];
}

/** Alerts; `refired` are the same alert ids again, inserted later (ReplacingMergeTree keeps them). */
export function alerts(): { first: CostAlert[]; refired: CostAlert[] } {
  const first = [
    costAlert({ alert_id: 'a-acme', org_id: 'acme' }),
    costAlert({
      alert_id: 'a-acme-window',
      org_id: 'acme',
      rule: 'feature_spend_spike',
      severity: 'critical',
      scope: 'feature',
      run_id: null,
      feature: 'research',
      window_start: at(16, 9),
      window_end: at(16, 10),
      observed: 0.125,
      expected: 1e-9,
      unit: 'ratio',
      explanation: "spend 12.5 % above \"baseline\" (it's 'quoted')",
      contributors: [
        { dimension: 'model', value: 'gemini-2.5-pro', observed: 3.5, expected: 1.25 },
        { dimension: 'agent', value: 'browser', observed: 2, expected: 0 },
      ],
      detected_at: at(16, 10, 1),
      policy_id: 'p-1',
    }),
    costAlert({
      alert_id: 'a-acme-info',
      org_id: 'acme',
      severity: 'info',
      contributors: [],
      detected_at: at(15, 12),
    }),
    costAlert({ alert_id: 'a-globex', org_id: 'globex', severity: 'critical' }),
    costAlert({
      alert_id: 'a-initech',
      org_id: 'initech',
      run_id: 'run-i1',
      feature: 'research',
      detected_at: at(15, 9),
    }),
  ];
  const refired = [
    costAlert({ alert_id: 'a-acme', org_id: 'acme', observed: 13_000_000_000, detected_at: at(15, 10, 50) }),
  ];
  return { first, refired };
}

export function deadLetters(): DeadLetter[] {
  const letter = (offset: number, reason_code: string, key: Uint8Array | null): DeadLetter => ({
    stage: 'pricer',
    reason_code,
    reason: `${reason_code}: field 'usage.x' is bad`,
    source_topic: 'tollgate.usage.v1',
    source_partition: offset % 2,
    source_offset: String(1000 + offset),
    key,
    payload: new TextEncoder().encode(`{"n":${offset}}`),
    failed_at: at(15, 10, offset),
  });
  return [
    letter(0, 'decode_failed', null),
    letter(1, 'invariant_violated', new TextEncoder().encode('run-1')),
    letter(2, 'unknown_fingerprint', new Uint8Array([0xff, 0xfe, 0x00])),
  ];
}
