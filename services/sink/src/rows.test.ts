import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  alertRow,
  checkAlert,
  checkPricedEvent,
  deadLetterRow,
  keyFromText,
  keyText,
  lineItemRows,
  runEventRow,
} from './rows.ts';
import { costAlert, lineItem, pricedEvent, runEvent, spawnEvent } from './testing.ts';

const source = { topic: 'tollgate.priced.v1', partition: 2, offset: '41' };
const at = '2026-01-15 11:00:00';

describe('lineItemRows', () => {
  it('writes one row per line with the attribution layers, exact cost and source position', () => {
    const rows = lineItemRows(pricedEvent({ tags: { team: 'growth', cost_center: 'r&d' } }), source, at);
    assert.equal(rows.length, 2);
    assert.deepEqual(
      { ...rows[0] },
      {
        event_id: 'e-1',
        event_time: '2026-01-15 10:30:00',
        kind: 'model_call',
        run_id: 'run-1',
        agent_id: 'root',
        parent_agent_id: '',
        agent_name: 'planner',
        agent_depth: 0,
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        service_tier: 'default',
        org_id: 'acme',
        feature: 'search',
        customer_id: 'cust-1',
        environment: 'prod',
        tag_keys: ['cost_center', 'team'],
        tag_values: ['r&d', 'growth'],
        currency: 'USD',
        rate_card_id: 'default',
        rate_card_version: '2026-01-01',
        rate_card_hash: 'sha256:abc',
        adjustment_of: '',
        source_topic: 'tollgate.priced.v1',
        source_partition: 2,
        source_offset: '41',
        inserted_at: at,
        line_no: 0,
        category: 'tokens',
        item: 'input',
        unit: 'token',
        quantity: '1000',
        quantity_value: 1000,
        unit_price: '0.000003',
        cost_nanos: 3_000_000,
        priced: 1,
      },
    );
  });

  it('stores an unpriced line as priced = 0 with no price, never as a zero-cost priced line', () => {
    const [row] = lineItemRows(
      pricedEvent({}, [lineItem({ priced: false, cost_nanos: null, unit_price: null })]),
      source,
      at,
    );
    assert.equal(row?.priced, 0);
    assert.equal(row?.unit_price, '');
    assert.equal(row?.cost_nanos, 0);
  });

  it('stores absent optional attributes as empty strings (untagged)', () => {
    const [row] = lineItemRows(pricedEvent({ feature: null, customer_id: null, agent_id: null }), source, at);
    assert.equal(row?.feature, '');
    assert.equal(row?.customer_id, '');
    assert.equal(row?.agent_id, '');
  });
});

describe('runEventRow', () => {
  it('keeps run_end outcome and spawn children; ignores usage kinds', () => {
    assert.equal(runEventRow(pricedEvent(), source, at), undefined);
    assert.equal(runEventRow(runEvent('run_end', {}, 'failure'), source, at)?.outcome, 'failure');
    const spawn = runEventRow(spawnEvent({ id: 'w1', name: 'worker', depth: 1 }), source, at);
    assert.equal(spawn?.child_agent_id, 'w1');
    assert.equal(spawn?.child_depth, 1);
  });
});

describe('checkPricedEvent', () => {
  it('accepts a contract-valid event', () => {
    assert.deepEqual(checkPricedEvent(pricedEvent()), { ok: true });
  });
  it('names the field and the rule of what would corrupt the tables', () => {
    assert.deepEqual(checkPricedEvent(pricedEvent({ org_id: '' })), {
      ok: false,
      field: 'usage.org_id',
      rule: 'must not be empty',
    });
    assert.deepEqual(checkPricedEvent(pricedEvent({}, [lineItem(), lineItem()])), {
      ok: false,
      field: 'line_items[1].line_no',
      rule: 'must be unique within the event',
    });
    assert.deepEqual(checkPricedEvent(pricedEvent({}, [lineItem({ cost_nanos: 1.5 })])), {
      ok: false,
      field: 'line_items[0].cost_nanos',
      rule: 'must be a safe integer when priced',
    });
    assert.deepEqual(checkPricedEvent(pricedEvent({}, [lineItem({ quantity: '1e3' })])), {
      ok: false,
      field: 'line_items[0].quantity',
      rule: 'must be a decimal string',
    });
    assert.equal(checkPricedEvent(pricedEvent({ event_time: Date.UTC(2200, 0, 1) })).ok, false);
  });
});

describe('alerts and dead letters', () => {
  it('flattens contributors into parallel arrays', () => {
    const row = alertRow(costAlert(), { ...source, topic: 'tollgate.alerts.v1' }, at);
    assert.deepEqual(row.contributor_dimensions, ['model']);
    assert.deepEqual(row.contributor_observed, [10]);
    assert.equal(row.window_start, null);
    assert.equal(checkAlert(costAlert({ org_id: '' })).ok, false);
  });

  it('keeps the key as text when it is UTF-8 and losslessly otherwise', () => {
    assert.equal(keyText(Buffer.from('run-1')), 'run-1');
    assert.equal(keyText(Buffer.from([0xff, 0xfe])), 'base64://4=');
    assert.equal(keyText(null), '');
    // and reads back to the bytes it came from (what `tollgate dlq replay` publishes)
    for (const key of [Buffer.from('run-1'), Buffer.from([0xff, 0xfe, 0x00]), null])
      assert.deepEqual(keyFromText(keyText(key)), key);
  });

  it('keeps the original payload and positions of a dead letter', () => {
    const row = deadLetterRow(
      {
        stage: 'pricer',
        reason_code: 'corrupt',
        reason: 'bad',
        source_topic: 'tollgate.usage.v1',
        source_partition: 1,
        source_offset: '7',
        key: Buffer.from('run-1'),
        payload: Buffer.from([1, 2, 3]),
        failed_at: Date.UTC(2026, 0, 1),
      },
      { topic: 'tollgate.dlq.v1', partition: 0, offset: '9' },
    );
    assert.equal(row.payload_base64, 'AQID');
    assert.equal(row.received_at, '2026-01-01 00:00:00');
    assert.equal(row.dlq_offset, '9');
  });
});

describe('tsvField', () => {
  it('escapes exactly what TabSeparated needs', async () => {
    const { tsvField } = await import('./tsv.ts');
    assert.equal(tsvField('plain "quoted" \'single\''), 'plain "quoted" \'single\'');
    assert.equal(tsvField('a\tb\nc\\d\r\0'), 'a\\tb\\nc\\\\d\\r\\0');
  });
});

describe('tsv dateTime', () => {
  it('formats like formatDateTime across the range DateTime holds', async () => {
    const { dateTime } = await import('./tsv.ts');
    const { formatDateTime } = await import('@tollgate/core');
    for (const ms of [
      0,
      1_000,
      Date.UTC(2026, 0, 15, 10, 30, 5, 999),
      Date.UTC(2105, 11, 30, 23, 59, 59),
      951_782_400_000,
    ]) {
      assert.equal(dateTime(ms), formatDateTime(new Date(Math.floor(ms / 1000) * 1000)));
    }
  });
});
