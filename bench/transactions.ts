/**
 * Kafka transactions back to back, the way the pricer and the detector's stages use them: one
 * transactional producer; per transaction one produce, the consumer offset (sendOffsets) and a commit.
 * Prints, as its last line, one JSON object:
 *   ms_per_transaction     wall time per transaction, one after another
 *   requests_per_transaction  Kafka requests the client sent per transaction, by API
 * It shows what patches/kafkajs+2.2.4.patch changes: upstream kafkajs looks the coordinator up
 * (FindCoordinator, "GroupCoordinator" in its events) before every transactional request, and a
 * transaction begun right after a commit waits out its retry backoff on CONCURRENT_TRANSACTIONS.
 * Size: BENCH_TRANSACTIONS (default 500).
 */
import { createTestContext, uniqueId } from '@tollgate/test/support';

const TRANSACTIONS = Number(process.env.BENCH_TRANSACTIONS ?? 500);
const log = (line: string) => process.stderr.write(`transactions: ${line}\n`);

const ctx = await createTestContext({ partitions: 1 });
try {
  await ctx.createTopics();
  const topic = ctx.topics.priced;
  const producer = ctx.kafka.producer({
    transactionalId: `${ctx.topicPrefix}bench-${uniqueId()}`,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  const requests = new Map<string, number>();
  producer.on(producer.events.REQUEST, ({ payload }) => {
    requests.set(payload.apiName, (requests.get(payload.apiName) ?? 0) + 1);
  });
  await producer.connect();
  requests.clear(); // count the transactions only, not connecting
  const value = Buffer.alloc(400, 1);
  log(`${TRANSACTIONS} transactions, one after another`);
  const started = performance.now();
  for (let i = 0; i < TRANSACTIONS; i++) {
    const transaction = await producer.transaction();
    await transaction.send({ topic, acks: -1, messages: [{ key: 'run', value }] });
    await transaction.sendOffsets({
      consumerGroupId: `${ctx.topicPrefix}bench-group`,
      topics: [{ topic: ctx.topics.usage, partitions: [{ partition: 0, offset: String(i + 1) }] }],
    });
    await transaction.commit();
  }
  const elapsedMs = performance.now() - started;
  await producer.disconnect();
  const perTransaction = Object.fromEntries(
    [...requests].sort().map(([api, n]) => [api, Number((n / TRANSACTIONS).toFixed(2))]),
  );
  process.stdout.write(
    `${JSON.stringify({
      transactions: TRANSACTIONS,
      ms_per_transaction: Number((elapsedMs / TRANSACTIONS).toFixed(2)),
      requests_per_transaction: perTransaction,
    })}\n`,
  );
} finally {
  await ctx.cleanup();
}
