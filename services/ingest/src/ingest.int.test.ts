/**
 * The ingest service against the real broker, over real HTTP: events and spans POSTed to a listening
 * app are read back from the usage topic and decoded; rejected ones are read back from the DLQ topic.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  createDeadLetterCodec,
  createRegistry,
  createUsageCodec,
  type DeadLetter,
  type Kafka,
  type UsageEvent,
} from '@tollgate/core';
import { createTestContext, skipIntegration, type TestContext } from '@tollgate/test/support';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { createAuthenticator, sha256Hex } from './auth.ts';
import { createIntake } from './intake.ts';
import { createIngestMetrics } from './metrics.ts';
import { chatSpan, exportRequest, span, TRACE_ID } from './otlp/fixtures.ts';
import { createKafkaPublisher, type Publisher } from './publisher.ts';

const usageCodec = createUsageCodec();
const deadLetterCodec = createDeadLetterCodec();
const TOKEN = 'tg_test_9d2f7e1a';
const T = Date.UTC(2026, 10, 3, 14, 0, 0);

interface Consumed {
  partition: number;
  key: string | null;
  value: Buffer;
}

/** Reads `count` messages of `topic` from the beginning, or fails after `timeoutMs`. */
async function consume(kafka: Kafka, topic: string, count: number, timeoutMs = 20_000): Promise<Consumed[]> {
  const consumer = kafka.consumer({ groupId: `${topic}-reader-${Date.now()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: Consumed[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${seen.length} of ${count} messages on ${topic} after ${timeoutMs} ms`)),
        timeoutMs,
      );
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            seen.push({ partition, key: message.key?.toString('utf8') ?? null, value: message.value! });
            if (seen.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    return seen;
  } finally {
    await consumer.disconnect();
  }
}

function decodeUsage(bytes: Buffer): UsageEvent {
  const result = usageCodec.decode(bytes);
  assert.ok(result.ok, result.ok ? '' : result.reason);
  return result.value;
}

function decodeDeadLetter(bytes: Buffer): DeadLetter {
  const result = deadLetterCodec.decode(bytes);
  assert.ok(result.ok, result.ok ? '' : result.reason);
  return result.value;
}

describe('ingest (HTTP → Kafka)', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let publisher: Publisher;
  let app: FastifyInstance;
  let base: string;

  before(async () => {
    ctx = await createTestContext({ partitions: 3 });
    await ctx.createTopics();
    const registry = createRegistry('ingest');
    const metrics = createIngestMetrics(registry);
    // Small produce calls, so one request is published in several ordered chunks.
    publisher = createKafkaPublisher({
      kafka: ctx.kafka,
      logger: ctx.logger,
      publishTimeoutMs: 15_000,
      batchBytes: 2_048,
      topics: [ctx.topics.usage, ctx.topics.deadLetters],
    });
    const intake = createIntake({
      publisher,
      usageCodec,
      deadLetterCodec,
      topics: { usage: ctx.topics.usage, deadLetters: ctx.topics.deadLetters },
      metrics,
      logger: ctx.logger,
    });
    app = buildApp({
      logger: ctx.logger,
      registry,
      metrics,
      intake,
      authenticator: createAuthenticator({ tokenSha256s: [sha256Hex(TOKEN)] }),
      limits: { maxBodyBytes: 1024 * 1024, maxEventsPerRequest: 1_000, maxEventBytes: 16 * 1024 },
      retryAfterSeconds: 5,
      readiness: { kafka: () => publisher.ready() },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await app?.close();
    await publisher?.close();
    await ctx?.cleanup();
  });

  const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
      body,
    });

  it('is ready once the broker answers', async () => {
    const response = await fetch(`${base}/readyz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'ready', checks: { kafka: true } });
  });

  it('publishes events and spans as Avro keyed by run_id, each run on one partition in order; rejections go to the DLQ', async () => {
    const events = Array.from({ length: 60 }, (_, n) => ({
      event_id: `evt-${n}`,
      event_time: T + n * 1_000,
      kind: 'model_call',
      run_id: `run-${n % 4}`,
      org_id: 'org-acme',
      feature: 'support-triage',
      model: 'claude-sonnet-4-5',
      provider: 'anthropic',
      model_call: { input_tokens: 1_000 + n, cache_read_tokens: 500, output_tokens: 200 },
    }));
    const bad = {
      ...events[0]!,
      event_id: 'evt-bad',
      model_call: { input_tokens: 10, cache_read_tokens: 50, output_tokens: 1 },
    };
    const eventsResponse = await post(
      '/v1/events',
      JSON.stringify([...events.slice(0, 30), bad, ...events.slice(30)]),
    );
    assert.equal(eventsResponse.status, 207);
    const eventsBody = (await eventsResponse.json()) as {
      accepted: number;
      rejected: { index: number; field: string }[];
    };
    assert.equal(eventsBody.accepted, 60);
    assert.deepEqual(
      eventsBody.rejected.map((r) => [r.index, r.field]),
      [[30, 'model_call.cache_read_tokens']],
    );

    const spansBody = gzipSync(
      JSON.stringify(
        exportRequest([
          chatSpan('0a1581bf3cb55c13', { 'tollgate.run_id': 'run-1' }),
          span('0b1581bf3cb55c13', { 'http.request.method': 'POST' }),
          chatSpan('0c1581bf3cb55c13', { 'gen_ai.usage.output_tokens': 'many' }),
        ]),
      ),
    );
    const spansResponse = await post('/v1/traces', spansBody, { 'content-encoding': 'gzip' });
    assert.equal(spansResponse.status, 200);
    const otlp = (await spansResponse.json()) as { partialSuccess: { rejectedSpans: string } };
    assert.equal(otlp.partialSuccess.rejectedSpans, '1');

    const usage = await consume(ctx.kafka, ctx.topics.usage, 61);
    const decoded = usage.map((m) => ({ ...m, event: decodeUsage(m.value) }));
    for (const m of decoded) assert.equal(m.key, m.event.run_id, 'keyed by run_id');
    const partitionOf = new Map<string, number>();
    for (const m of decoded) {
      const known = partitionOf.get(m.event.run_id);
      assert.ok(known === undefined || known === m.partition, `${m.event.run_id} stays on one partition`);
      partitionOf.set(m.event.run_id, m.partition);
    }
    for (const run of ['run-0', 'run-2', 'run-3']) {
      const times = decoded.filter((m) => m.event.run_id === run).map((m) => m.event.event_time);
      assert.equal(times.length, 15);
      assert.deepEqual(
        times,
        [...times].sort((a, b) => a - b),
        `${run} in the order sent`,
      );
    }
    const fromEvents = decoded.find((m) => m.event.event_id === 'evt-7')!.event;
    assert.equal(fromEvents.source, 'ingest-json');
    assert.equal(fromEvents.feature, 'support-triage');
    assert.deepEqual(fromEvents.model_call, {
      operation: 'chat',
      input_tokens: 1_007,
      cache_read_tokens: 500,
      cache_write_5m_tokens: 0,
      cache_write_1h_tokens: 0,
      output_tokens: 200,
      reasoning_tokens: 0,
      duration_ms: 0,
    });
    const fromSpan = decoded.find((m) => m.event.source === 'ingest-otlp')!;
    assert.equal(fromSpan.event.event_id, `otlp-${TRACE_ID}-0a1581bf3cb55c13`);
    assert.equal(fromSpan.event.run_id, 'run-1');
    assert.equal(fromSpan.partition, partitionOf.get('run-1'), 'a span joins its run’s partition');
    assert.equal(fromSpan.event.model_call!.cache_read_tokens, 40_960);
    assert.equal(decoded.filter((m) => m.event.event_id === 'evt-bad').length, 0);

    const letters = (await consume(ctx.kafka, ctx.topics.deadLetters, 2)).map((m) => ({
      ...m,
      letter: decodeDeadLetter(m.value),
    }));
    const [eventLetter, spanLetter] = letters.map((m) => m.letter);
    assert.equal(eventLetter!.stage, 'ingest');
    assert.equal(eventLetter!.reason_code, 'invariant_violated');
    assert.equal(
      eventLetter!.reason,
      'model_call.cache_read_tokens: cache reads plus writes must not exceed input_tokens',
    );
    assert.equal(eventLetter!.source_topic, 'ingest:/v1/events');
    assert.equal(eventLetter!.source_offset, '30');
    assert.equal(letters[0]!.key, 'run-0');
    assert.deepEqual(JSON.parse(Buffer.from(eventLetter!.payload).toString('utf8')), bad);
    assert.equal(spanLetter!.reason_code, 'invalid_span');
    assert.equal(
      spanLetter!.reason,
      'attributes.gen_ai.usage.output_tokens: must be a non-negative integer (intValue)',
    );
    assert.equal(spanLetter!.source_topic, 'ingest:/v1/traces');
  });

  it('is not ready when a topic it writes to does not exist', async () => {
    const typo = createKafkaPublisher({
      kafka: ctx.kafka,
      logger: ctx.logger,
      publishTimeoutMs: 5_000,
      batchBytes: 2_048,
      topics: [ctx.topics.usage, `${ctx.topics.deadLetters}-typo`],
    });
    try {
      assert.equal(await typo.ready(), false);
    } finally {
      await typo.close();
    }
  });

  it('a missing token publishes nothing', async () => {
    const response = await fetch(`${base}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '[]',
    });
    assert.equal(response.status, 401);
  });
});
