/**
 * The record codec of kafkajs as patched in patches/kafkajs+2.2.4.patch (fast paths for varints,
 * varlongs, CRC32C, record encoding and decoding), checked against reference implementations written
 * from the Kafka protocol spec here: a bug there corrupts every message on every topic.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { createRandom } from './random.ts';

const require = createRequire(import.meta.url);
const protocol = `${require.resolve('kafkajs').replace(/index\.js$/, '')}src/protocol/`;
// biome-ignore lint/suspicious/noExplicitAny: kafkajs's internals carry no types.
type Internal = any;
const Encoder: Internal = require(`${protocol}encoder`);
const Decoder: Internal = require(`${protocol}decoder`);
const crc32C: (buffer: Buffer) => number = require(`${protocol}recordBatch/crc32C`);
const Record: Internal = require(`${protocol}recordBatch/record/v0`);
const { RecordBatch }: Internal = require(`${protocol}recordBatch/v0`);
const decodeRecordBatch: Internal = require(`${protocol}recordBatch/v0/decoder`);
const ProduceV3: Internal = require(`${protocol}requests/produce/v3/request`);
const createRequest: Internal = require(`${protocol}request`);
const Connection: Internal = require(`${protocol}../network/connection`);

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), one bit at a time. */
function referenceCrc32C(buffer: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buffer) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Zigzag then unsigned LEB128, as the protocol's varint and varlong types define them, in BigInt. */
function referenceVarlong(value: bigint): Buffer {
  let zigzag = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  const bytes: number[] = [];
  while (zigzag >= 0x80n) {
    bytes.push(Number(zigzag & 0x7fn) | 0x80);
    zigzag >>= 7n;
  }
  bytes.push(Number(zigzag));
  return Buffer.from(bytes);
}

const edges = [0, 1, -1, 63, 64, -64, -65, 127, 128, 2 ** 30, -(2 ** 30), 2 ** 31 - 1, -(2 ** 31)];
const wide = [
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 40,
  -(2 ** 40),
  2 ** 48 - 1,
  2 ** 48,
  2 ** 53 - 1,
  -(2 ** 53 - 1),
];

function randomInts(count: number, span: number, seed: number): number[] {
  const random = createRandom(seed);
  return Array.from({ length: count }, () => Math.floor((random.next() - 0.5) * span));
}

describe('patched kafkajs record codec', () => {
  it('computes CRC-32C: the standard check value and random buffers of every tail length', () => {
    assert.equal(crc32C(Buffer.from('123456789')), 0xe3069283);
    for (let length = 0; length < 64; length++) {
      const buffer = randomBytes(length);
      assert.equal(crc32C(buffer), referenceCrc32C(buffer), `length ${length}`);
    }
    const large = randomBytes(100_003);
    assert.equal(crc32C(large), referenceCrc32C(large));
  });

  it('writes varints and varlongs byte for byte as the spec defines them', () => {
    for (const value of [...edges, ...randomInts(5_000, 2 ** 32, 1)]) {
      assert.deepEqual(
        new Encoder().writeVarInt(value).buffer,
        referenceVarlong(BigInt(value)),
        `varint ${value}`,
      );
    }
    for (const value of [...edges, ...wide, ...randomInts(5_000, 2 ** 52, 2)]) {
      const expected = referenceVarlong(BigInt(value));
      assert.deepEqual(new Encoder().writeVarLong(value).buffer, expected, `varlong ${value}`);
      assert.equal(Encoder.sizeOfVarLong(value), expected.length, `size of varlong ${value}`);
    }
  });

  it('reads varlongs exactly, as numbers up to 7 bytes and as 64-bit values beyond', () => {
    for (const value of [...edges, ...wide, ...randomInts(5_000, 2 ** 52, 3)]) {
      const decoder = new Decoder(referenceVarlong(BigInt(value)));
      assert.equal(String(decoder.readSafeVarLong()), String(value), `varlong ${value}`);
    }
    for (const value of [2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n, -(2n ** 56n)]) {
      const encoded = referenceVarlong(value);
      const decoder = new Decoder(Buffer.concat([encoded, Buffer.from([0x2a])]));
      assert.equal(decoder.readSafeVarLong().toString(), String(value));
      assert.equal(decoder.readInt8(), 0x2a, 'the read ends at the varlong end');
    }
  });

  it('round-trips record batches: keys, nulls, headers, offsets and timestamps past 2^53', async () => {
    const random = createRandom(4);
    const pick = (n: number) => random.int(0, n - 1);
    const now = Date.now();
    for (const firstOffset of ['0', '123456789', '9007199254740990', '9223372036854775000']) {
      for (const firstTimestamp of [now, '9223372036854775000']) {
        const messages = Array.from({ length: 40 }, (_, i) => ({
          key: pick(4) === 0 ? null : Buffer.from(`run-${pick(1e6)}`),
          value: pick(8) === 0 ? null : randomBytes(pick(900)),
          headers: pick(3) === 0 ? { one: Buffer.from('1'), many: [Buffer.from('a'), Buffer.from('b')] } : {},
          offsetDelta: i,
          timestampDelta: pick(5) === 0 ? pick(2 ** 40) - 2 ** 39 : pick(5_000),
        }));
        const encoded = await RecordBatch({
          records: messages.map((message) => Record(message)),
          firstOffset,
          firstTimestamp,
          maxTimestamp: now,
          lastOffsetDelta: messages.length - 1,
        });
        const bytes: Buffer = encoded.buffer;
        // The CRC covers everything after itself (attributes onwards): 8 + 4 + 4 + 1 + 4 bytes in.
        assert.equal(bytes.readUInt32BE(17), referenceCrc32C(bytes.subarray(21)));
        const { records } = await decodeRecordBatch(new Decoder(bytes));
        assert.equal(records.length, messages.length);
        records.forEach((record: Internal, i: number) => {
          const sent = messages[i]!;
          assert.equal(record.offset, String(BigInt(firstOffset) + BigInt(i)), 'offset');
          assert.equal(
            record.timestamp,
            String(BigInt(firstTimestamp) + BigInt(sent.timestampDelta)),
            'timestamp',
          );
          assert.deepEqual(record.key, sent.key);
          assert.deepEqual(record.value, sent.value);
          assert.deepEqual(Object.keys(record.headers), Object.keys(sent.headers));
        });
      }
    }
  });

  it('lays out a produce request as the spec does, its large record batches held by reference', async () => {
    const random = createRandom(7);
    const message = (size: number) => ({
      key: Buffer.from(`run-${random.int(0, 1e6)}`),
      value: randomBytes(size),
    });
    // One partition's batch far above the 64 KiB from which encoders are referenced, others below it;
    // the small topic right after the large one is written into what remains of the same buffer.
    const topicData = [
      {
        topic: 'priced',
        partitions: [{ partition: 3, messages: Array.from({ length: 700 }, () => message(900)) }],
      },
      { topic: 'alerts', partitions: [{ partition: 0, messages: [message(10)] }] },
      {
        topic: 'dlq',
        partitions: [
          { partition: 0, messages: [message(10)] },
          { partition: 1, messages: Array.from({ length: 50 }, () => message(300)) },
        ],
      },
    ];
    const request = ProduceV3({ acks: -1, timeout: 30_000, transactionalId: 'tx-1', topicData });
    const encoded = await createRequest({ correlationId: 42, clientId: 'tollgate-test', request });
    const buffers: Buffer[] = encoded.buffers();
    assert.ok(buffers.length > 1, 'the large batch is not copied into one buffer');
    const bytes = Buffer.concat(buffers);
    assert.equal(bytes.length, encoded.size());
    assert.deepEqual(bytes, encoded.buffer);

    // Request => Size ApiKey ApiVersion CorrelationId ClientId, then Produce v3's body.
    const decoder = new Decoder(bytes);
    assert.equal(decoder.readInt32(), bytes.length - 4, 'size prefix');
    assert.equal(decoder.readInt16(), 0, 'api key (Produce)');
    assert.equal(decoder.readInt16(), 3, 'api version');
    assert.equal(decoder.readInt32(), 42, 'correlation id');
    assert.equal(decoder.readString(), 'tollgate-test');
    assert.equal(decoder.readString(), 'tx-1', 'transactional id');
    assert.equal(decoder.readInt16(), -1, 'acks');
    assert.equal(decoder.readInt32(), 30_000, 'timeout');
    assert.equal(decoder.readInt32(), topicData.length);
    for (const topic of topicData) {
      assert.equal(decoder.readString(), topic.topic);
      assert.equal(decoder.readInt32(), topic.partitions.length);
      for (const partition of topic.partitions) {
        assert.equal(decoder.readInt32(), partition.partition);
        const batch = decoder.readBytes(decoder.readInt32());
        assert.equal(batch.readUInt32BE(17), referenceCrc32C(batch.subarray(21)), 'batch CRC');
        const { records } = await decodeRecordBatch(new Decoder(batch));
        assert.deepEqual(
          records.map((r: Internal) => [r.key, r.value]),
          partition.messages.map((m) => [m.key, m.value]),
        );
      }
    }
    assert.equal(decoder.offset, bytes.length, 'nothing after the last partition');
  });

  it('reads responses however the socket splits them, a large one assembled as it arrives', () => {
    const random = createRandom(9);
    const noop = () => {};
    const logger = { namespace: () => logger, debug: noop, info: noop, warn: noop, error: noop };
    for (let trial = 0; trial < 40; trial++) {
      const connection = new Connection({ host: 'h', port: 1, logger, requestTimeout: 1_000 });
      const fulfilled: { correlationId: number; payload: Buffer }[] = [];
      connection.requestQueue = { fulfillRequest: (r: Internal) => fulfilled.push(r) };
      // Responses: Size (int32), CorrelationId (int32), payload; some far larger than a socket chunk.
      const sizes = Array.from({ length: 6 }, () => [0, 1, 30, 70_000, 300_000][random.int(0, 4)]!);
      const payloads = sizes.map((size) => randomBytes(size));
      const wire = Buffer.concat(
        payloads.map((payload, i) => {
          const head = Buffer.alloc(8);
          head.writeInt32BE(payload.length + 4, 0);
          head.writeInt32BE(i + 1, 4);
          return Buffer.concat([head, payload]);
        }),
      );
      // Chunks as a socket delivers them: split anywhere, inside size prefixes too, or several at once.
      for (let at = 0; at < wire.length; ) {
        const size = random.next() < 0.3 ? random.int(1, 9) : random.int(1, 70_000);
        connection.processData(wire.subarray(at, at + size));
        at += size;
      }
      assert.deepEqual(
        fulfilled.map((r) => r.correlationId),
        payloads.map((_, i) => i + 1),
      );
      for (const [i, r] of fulfilled.entries()) assert.ok(r.payload.equals(payloads[i]!), `payload ${i + 1}`);
    }
  });
});
