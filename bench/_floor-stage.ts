/**
 * One stage of the floor benchmark (bench/floor.ts), in a process of its own: the Kafka work a pipeline
 * stage does for every event, with the processing left out. Settings are the services' defaults.
 *   relay   the pricer's: reads FLOOR_FROM read-committed, and for each batch of a partition commits one
 *           transaction holding one FLOOR_PAYLOAD message per message read (same key, to FLOOR_TO) and
 *           the batch's offsets, from the partition's own transactional producer
 *   reader  the sink's: reads FLOOR_FROM read-committed and commits offsets once a second
 * Prints `ready` once it has joined its group, `done` each time the messages it handled reach one of
 * FLOOR_MARKS (counts, comma-separated), and keeps running until SIGTERM. Kafka failures go to stderr
 * and end the process.
 */
import {
  createKafka,
  createLogger,
  type EachBatchPayload,
  keyPartitioner,
  type Producer,
} from '@tollgate/core';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const role = process.argv[2];
if (role !== 'relay' && role !== 'reader') throw new Error(`role: expected relay or reader, got ${role}`);
const from = env('FLOOR_FROM');
const groupId = env('FLOOR_GROUP_ID');
const marks = env('FLOOR_MARKS').split(',').map(Number);

const logger = createLogger({ level: 'warn', name: `floor-${role}`, destination: process.stderr });
const kafka = createKafka({ brokers: env('KAFKA_BROKERS').split(','), clientId: groupId, logger });
let handled = 0;
const count = (messages: number) => {
  const before = handled;
  handled += messages;
  for (const mark of marks) if (before < mark && handled >= mark) process.stdout.write('done\n');
};

const consumer =
  role === 'relay'
    ? // the pricer's defaults (services/pricer/src/pricer.ts)
      kafka.consumer({
        groupId,
        readUncommitted: false,
        maxBytesPerPartition: 2 * 1024 * 1024,
        minBytes: 1024 * 1024,
        maxWaitTimeInMs: 200,
        maxBytes: 12 * 1024 * 1024,
      })
    : // the sink's (services/sink/src/sink.ts)
      kafka.consumer({
        groupId,
        readUncommitted: false,
        maxBytes: 4 * 1024 * 1024,
        maxBytesPerPartition: 1024 * 1024,
        maxWaitTimeInMs: 500,
      });
consumer.on(consumer.events.GROUP_JOIN, () => process.stdout.write('ready\n'));
consumer.on(consumer.events.CRASH, ({ payload }) => {
  process.stderr.write(`${role}: consumer crashed: ${payload.error.stack}\n`);
  process.exit(1);
});

const producers = new Map<number, Promise<Producer>>();
/** The partition's transactional producer, as the pricer keeps one per usage partition. */
function producerFor(partition: number): Promise<Producer> {
  let producer = producers.get(partition);
  if (!producer) {
    const created = kafka.producer({
      transactionalId: `${groupId}-${partition}`,
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: keyPartitioner,
    });
    producer = created.connect().then(() => created);
    producers.set(partition, producer);
  }
  return producer;
}

// Read once: the relay's only per-batch work is Kafka's.
const to = role === 'relay' ? env('FLOOR_TO') : '';
const payload = role === 'relay' ? Buffer.from(env('FLOOR_PAYLOAD'), 'base64') : Buffer.alloc(0);
// 256 KiB requests, as the pricer sends them
const perRequest = Math.max(1, Math.floor((256 * 1024) / Math.max(1, payload.length)));

async function relay({ batch, heartbeat }: EachBatchPayload): Promise<void> {
  const transaction = await (await producerFor(batch.partition)).transaction();
  for (let i = 0; i < batch.messages.length; i += perRequest) {
    const messages = batch.messages.slice(i, i + perRequest).map((m) => ({ key: m.key, value: payload }));
    await transaction.send({ topic: to, acks: -1, messages });
  }
  await transaction.sendOffsets({
    consumerGroupId: groupId,
    topics: [
      {
        topic: batch.topic,
        partitions: [{ partition: batch.partition, offset: String(BigInt(batch.lastOffset()) + 1n) }],
      },
    ],
  });
  await transaction.commit();
  count(batch.messages.length);
  await heartbeat();
}

await consumer.connect();
await consumer.subscribe({ topic: from, fromBeginning: true });
await consumer.run(
  role === 'relay'
    ? { autoCommit: false, partitionsConsumedConcurrently: 6, eachBatch: relay }
    : {
        autoCommitInterval: 1_000,
        partitionsConsumedConcurrently: 6,
        eachBatch: async ({ batch }) => count(batch.messages.length),
      },
);

process.once('SIGTERM', async () => {
  await consumer.disconnect();
  for (const producer of producers.values()) await (await producer).disconnect();
  process.exit(0);
});
