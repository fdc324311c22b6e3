/**
 * The sink's inserts against the real ClickHouse when the connection is cut in the middle of a
 * request body. ClickHouse 18.16 takes the end of the connection for the end of the body and inserts the
 * rows it read: a silent partial insert that no retry can take back (the rollups have counted it).
 * Request bodies are gzip-compressed so that such a truncated body fails as a whole.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type ClickHouse, createClickHouse, isRetriable } from '@tollgate/core';
import { createTestContext, skipIntegration, type TestContext } from '@tollgate/test/support';
import { createProxy, loadEvent } from './test-harness.ts';
import { lineItemTsv } from './tsv.ts';
import { createSinkWriter } from './writer.ts';

describe('sink writer: a connection cut mid-body', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let ch: ClickHouse;
  let proxy: Awaited<ReturnType<typeof createProxy>>;
  let viaProxy: ClickHouse;

  before(async () => {
    ctx = await createTestContext();
    ch = await ctx.clickhouse();
    proxy = await createProxy(new URL(ctx.clickhouseUrl));
    viaProxy = createClickHouse({
      url: `http://127.0.0.1:${proxy.port}`,
      database: ctx.database,
      logger: ctx.logger,
    });
  });
  after(async () => {
    await viaProxy?.close();
    await proxy?.close();
    await ctx?.cleanup();
  });

  const count = async (table: string) =>
    Number((await ch.rows<{ n: string }>(`SELECT count() AS n FROM ${table}`))[0]?.n);

  it('stores nothing of a line-items insert cut mid-body, and all of it when sent again', async () => {
    const writer = createSinkWriter({ clickhouse: viaProxy });
    const at = '2026-01-15 11:00:00';
    // 4,000 events of 3 lines in 40 streamed chunks: far more than the bytes the proxy lets through.
    const chunks: Buffer[] = [];
    for (let c = 0; c < 40; c++) {
      const lines: string[] = [];
      for (let i = c * 100; i < (c + 1) * 100; i++)
        lines.push(lineItemTsv(loadEvent(i, 'cut'), { topic: 'cut', partition: 0, offset: String(i) }, at));
      chunks.push(Buffer.from(lines.join('')));
    }
    proxy.cutRequestsAfter(24_000);
    const failure = await writer.insert('line_items', { tsv: chunks }, writer.newQueryId('line_items')).then(
      () => undefined,
      (err: unknown) => err,
    );
    proxy.cutRequestsAfter(undefined);
    assert.ok(failure instanceof Error, 'the client sees the insert fail');
    assert.ok(isRetriable(failure), `a cut connection is retriable (${String(failure)})`);
    // Give the server time to finish whatever it does with the part it received.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await count('line_items'), 0, 'no row of the cut insert was stored');
    assert.equal(await count('line_items_by_run_agent_hourly'), 0, 'and the rollup counted none');

    await writer.insert('line_items', { tsv: chunks }, writer.newQueryId('line_items'));
    assert.equal(await count('line_items'), 12_000, 'sent again through a whole connection: every line');
  });

  it('stores nothing of a JSONEachRow insert cut mid-body', async () => {
    const writer = createSinkWriter({ clickhouse: viaProxy });
    const rows = Array.from({ length: 3_000 }, (_, i) => ({
      stage: 'pricer',
      reason_code: 'invariant_violated',
      reason: `model_call.cache_read_tokens: must not exceed input_tokens (${randomUUID()})`,
      source_topic: 'tollgate.usage.v1',
      source_partition: 0,
      source_offset: i,
      key: 'run-1',
      payload_base64: '',
      dlq_partition: 0,
      dlq_offset: i,
      received_at: '2026-01-15 11:00:00',
    }));
    proxy.cutRequestsAfter(8_000);
    const failure = await writer.insert('dead_letters', rows, writer.newQueryId('dead_letters')).then(
      () => undefined,
      (err: unknown) => err,
    );
    proxy.cutRequestsAfter(undefined);
    assert.ok(failure instanceof Error, 'the client sees the insert fail');
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await count('dead_letters'), 0, 'no row of the cut insert was stored');
  });
});
