/**
 * The TSV encoding of line items (the sink's hot path) stores exactly what the object mapping stores,
 * including strings with tabs, line breaks, quotes, backslashes and NUL, in plain and array columns.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ClickHouse } from '@tollgate/core';
import { createTestContext, skipIntegration, type TestContext } from '@tollgate/test/support';
import { lineItemRows } from './rows.ts';
import { lineItem, pricedEvent } from './testing.ts';
import { lineItemTsv } from './tsv.ts';
import { createSinkWriter } from './writer.ts';

const nasty = 'a\tb\nc\\d\'e"f\r\0g ünï 🚀';

describe('line item TSV encoding', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let ch: ClickHouse;
  before(async () => {
    ctx = await createTestContext();
    ch = await ctx.clickhouse();
  });
  after(() => ctx?.cleanup());

  it('stores the same values as the object mapping', async () => {
    const event = pricedEvent(
      { event_id: nasty, feature: nasty, agent_name: null, tags: { [nasty]: nasty, plain: "it's" } },
      [
        lineItem({ line_no: 0, item: nasty, quantity: '0.000001' }),
        lineItem({
          line_no: 1,
          priced: false,
          cost_nanos: null,
          unit_price: null,
          quantity: '12345678901234567890',
        }),
      ],
      { adjustment_of: 'orig\\1' },
    );
    const writer = createSinkWriter({ clickhouse: ch });
    const at = '2026-01-15 11:00:00';
    await writer.insert(
      'line_items',
      { tsv: [lineItemTsv(event, { topic: 'tsv', partition: 0, offset: '1' }, at)] },
      writer.newQueryId('line_items'),
    );
    await writer.insert(
      'line_items',
      lineItemRows(event, { topic: 'json', partition: 0, offset: '1' }, at),
      writer.newQueryId('line_items'),
    );
    const columns =
      'event_id, line_no, event_time, kind, run_id, agent_id, parent_agent_id, agent_name, agent_depth, provider, model, service_tier, org_id, feature, customer_id, environment, tag_keys, tag_values, category, item, unit, quantity, quantity_value, unit_price, toString(cost_nanos) AS cost, priced, currency, rate_card_id, rate_card_version, rate_card_hash, adjustment_of, source_partition, toString(source_offset) AS offset, inserted_at';
    const tsv = await ch.rows(
      `SELECT ${columns} FROM line_items WHERE source_topic = 'tsv' ORDER BY line_no`,
    );
    const json = await ch.rows(
      `SELECT ${columns} FROM line_items WHERE source_topic = 'json' ORDER BY line_no`,
    );
    assert.equal(tsv.length, 2);
    assert.deepEqual(tsv, json);
    assert.equal((tsv[0] as { event_id: string }).event_id, nasty);
    assert.deepEqual((tsv[0] as { tag_values: string[] }).tag_values, [nasty, "it's"]);
  });
});
