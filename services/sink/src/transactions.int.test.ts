/**
 * The sink reading a topic written in Kafka transactions, as the pricer writes `priced`: every
 * transaction ends in a commit marker that takes an offset of its own, between one transaction's
 * messages and the next. A batch that starts right after a marker follows on from the one before; the
 * sink must see that and not resynchronise (wait for running inserts, scan what is stored) per batch.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ClickHouse, createPricedCodec, createRegistry, type Producer } from '@tollgate/core';
import { createTestContext, skipIntegration, type TestContext, uniqueId } from '@tollgate/test/support';
import { createSinkMetrics, type SinkMetrics } from './metrics.ts';
import { createSink, type Sink } from './sink.ts';
import { pricedEvent } from './testing.ts';
import { waitFor } from './wait.ts';
import { createSinkWriter } from './writer.ts';

const priced = createPricedCodec();
const PARTITIONS = 2;
const TRANSACTIONS_PER_ROUND = 10;
const EVENTS_PER_TRANSACTION = 5;

describe('sink on a transactional topic', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let ch: ClickHouse;
  let producer: Producer;
  let sink: Sink | undefined;
  let metrics: SinkMetrics;

  before(async () => {
    ctx = await createTestContext({ partitions: PARTITIONS });
    await ctx.createTopics();
    ch = await ctx.clickhouse();
    producer = ctx.kafka.producer({
      transactionalId: `${ctx.topicPrefix}sink-test-${uniqueId()}`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
  });
  after(async () => {
    await sink?.stop(5_000);
    await producer?.disconnect();
    await ctx?.cleanup();
  });

  /** Commits `TRANSACTIONS_PER_ROUND` transactions, each with events on every partition. */
  async function publishRound(round: number): Promise<number> {
    let events = 0;
    for (let t = 0; t < TRANSACTIONS_PER_ROUND; t++) {
      const transaction = await producer.transaction();
      const messages = [];
      for (let i = 0; i < EVENTS_PER_TRANSACTION; i++) {
        const id = `r${round}-t${t}-e${i}`;
        messages.push({
          key: id,
          partition: i % PARTITIONS,
          value: priced.encode(pricedEvent({ event_id: id, run_id: `run-${round}-${t}` })),
        });
      }
      await transaction.send({ topic: ctx.topics.priced, acks: -1, messages });
      await transaction.commit();
      events += messages.length;
    }
    return events;
  }

  const stored = async () => {
    const [row] = await ch.rows<{ events: string; lines: string }>(
      'SELECT uniqExact(event_id) AS events, count() AS lines FROM line_items',
    );
    return { events: Number(row?.events), lines: Number(row?.lines) };
  };

  const resyncs = async () => {
    const { values } = await metrics.resyncs.get();
    return values.filter((v) => v.labels.topic === ctx.topics.priced).reduce((n, v) => n + v.value, 0);
  };

  it('resynchronises each partition once, not after every transaction, and stores every line once', async () => {
    metrics = createSinkMetrics(createRegistry('sink-transactions-test'));
    sink = createSink({
      kafka: ctx.kafka,
      writer: createSinkWriter({ clickhouse: ch }),
      logger: ctx.logger,
      metrics,
      topics: { priced: ctx.topics.priced, alerts: ctx.topics.alerts, deadLetters: ctx.topics.deadLetters },
      groupId: `${ctx.topicPrefix}sink-transactions`,
      flushIntervalMs: 200,
    });
    await sink.start();

    // Several rounds, each stored before the next is sent: every round's first batch per partition
    // starts just after the previous round's last commit marker.
    let sent = 0;
    for (let round = 0; round < 3; round++) {
      sent += await publishRound(round);
      await waitFor(async () => (await stored()).events >= sent, 30_000, `${sent} events stored`);
    }
    const final = await stored();
    assert.equal(final.events, sent);
    assert.equal(final.lines, sent * 2, 'each event has two line items, stored once');
    // One resync per partition, when the sink first reads it (its position came from the group).
    assert.equal(await resyncs(), PARTITIONS);
  });
});
