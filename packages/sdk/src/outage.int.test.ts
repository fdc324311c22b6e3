/**
 * A broker that stops mid-run. The shared local Kafka must never be stopped (other suites use it), so
 * this test starts a private single-node Kafka with the infra module, on free ports, under its own
 * state folder, and stops and restarts that one. It checks the documented buffer policy end to end:
 * record calls wait while the broker is away and everything is delivered once it is back (counted,
 * no duplicates), or, past bufferTimeoutMs, the call rejects with TG_SDK_BUFFER_FULL and close()
 * hands back what it could not deliver.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createKafka,
  createUsageCodec,
  ensureTopics,
  type Kafka,
  prefixedTopicNames,
  silentLogger,
  type TollgateError,
  topicSpecs,
} from '@tollgate/core';
import { skipIntegration, uniqueId } from '@tollgate/test/support';
import { type PrivateBroker, startPrivateBroker } from '@tollgate/test/support/private-broker';
import { type BufferFullError, type DeadlineError, DeliveryError } from './errors.ts';
import { createMeter } from './meter.ts';
import { readTopic } from './test-consumer.ts';

const usage = { input_tokens: 1000, output_tokens: 100 };

describe('SDK while its broker stops and comes back', { skip: skipIntegration, timeout: 600_000 }, () => {
  let broker: PrivateBroker;
  let kafka: Kafka;
  const topic = prefixedTopicNames(`${uniqueId()}.`).usage;
  const codec = createUsageCodec();

  before(async () => {
    broker = await startPrivateBroker('sdk-outage');
    kafka = createKafka({ brokers: broker.brokers, clientId: 'sdk-outage', logger: silentLogger() });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(
      admin,
      topicSpecs({ ...prefixedTopicNames(''), usage: topic }, 3).filter((s) => s.name === topic),
    );
    await admin.disconnect();
  });

  after(() => broker.close());

  function meter(extra: {
    maxBufferedEvents: number;
    bufferTimeoutMs: number;
    onError: (err: TollgateError) => void;
  }) {
    return createMeter({
      brokers: broker.brokers,
      clientId: 'sdk-outage',
      topic,
      defaults: { org_id: 'acme' },
      lingerMs: 5,
      retryBackoffMs: 100,
      retryBackoffMaxMs: 500,
      connectionTimeoutMs: 1_000,
      requestTimeoutMs: 5_000,
      ...extra,
    });
  }

  it('waits while the broker is down, then delivers every event exactly once when it returns', async () => {
    const errors: TollgateError[] = [];
    const m = meter({ maxBufferedEvents: 100, bufferTimeoutMs: 300_000, onError: (err) => errors.push(err) });
    const run = await m.startRun({ runId: `outage-wait-${uniqueId()}` });
    for (let i = 0; i < 50; i++) run.recordModelCall({ provider: 'openai', model: 'gpt-5', usage });
    await m.flush();

    await broker.stop();
    const waiting: Promise<void>[] = [];
    let settled = 0;
    for (let i = 0; i < 300; i++) {
      const pending = run.recordModelCall({ provider: 'openai', model: 'gpt-5', usage });
      if (pending) waiting.push(pending.finally(() => settled++));
    }
    assert.equal(waiting.length, 200, '100 fit the buffer, 200 wait for room');
    await sleep(3_000);
    assert.equal(
      settled,
      0,
      'nothing is accepted or refused while the broker is away and the timeout is far',
    );
    assert.equal(m.stats().bufferedEvents, 100);
    assert.ok(
      errors.some((e) => e instanceof DeliveryError && e.retriable),
      'the outage is reported to onError while the SDK retries',
    );

    await broker.start();
    await Promise.all(waiting);
    await run.end('success');
    await m.close({ timeoutMs: 60_000 });
    assert.equal(m.stats().failedEvents, 0);

    const messages = (await readTopic(kafka, topic)).filter((msg) => msg.key === run.runId);
    const events = messages.map((msg) => {
      const decoded = codec.decode(msg.value);
      assert.ok(decoded.ok);
      return decoded.value;
    });
    assert.equal(events.length, 1 + 350 + 1, 'run_start, 350 model calls, run_end: each once');
    assert.equal(new Set(events.map((e) => e.event_id)).size, events.length, 'no event twice');
    assert.equal(events.filter((e) => e.kind === 'model_call').length, 350);
    assert.deepEqual([events[0]!.kind, events.at(-1)!.kind], ['run_start', 'run_end']);
  });

  it('past bufferTimeoutMs a record call rejects with TG_SDK_BUFFER_FULL, and close hands back the rest', async () => {
    const errors: TollgateError[] = [];
    await broker.stop();
    const m = meter({ maxBufferedEvents: 20, bufferTimeoutMs: 1_500, onError: (err) => errors.push(err) });
    const run = await m.startRun({ runId: `outage-reject-${uniqueId()}` });
    for (let i = 0; i < 19; i++)
      assert.equal(run.recordModelCall({ provider: 'openai', model: 'gpt-5', usage }), undefined);
    const started = Date.now();
    const refused = run.recordModelCall({ provider: 'openai', model: 'gpt-5', usage });
    assert.ok(refused instanceof Promise, 'the 21st event waits for room');
    await assert.rejects(refused, (err: BufferFullError) => {
      assert.equal(err.code, 'TG_SDK_BUFFER_FULL');
      assert.equal(err.retriable, true);
      return true;
    });
    assert.ok(Date.now() - started >= 1_400, 'it waited bufferTimeoutMs first');

    await assert.rejects(m.close({ timeoutMs: 1_000 }), (err: DeadlineError) => {
      assert.equal(err.code, 'TG_SDK_TIMEOUT');
      assert.equal(err.undeliveredEvents, 20);
      const kinds = err.messages.map((msg) => {
        const decoded = codec.decode(msg.value);
        assert.ok(decoded.ok);
        return decoded.value.kind;
      });
      assert.deepEqual(
        kinds,
        ['run_start', ...Array(19).fill('model_call')],
        'every accepted event is handed back',
      );
      return true;
    });
    assert.ok(
      errors.some((e) => e.code === 'TG_SDK_TIMEOUT'),
      'and reported to onError',
    );
    assert.equal(m.stats().failedEvents, 20);

    await broker.start();
    const delivered = (await readTopic(kafka, topic)).filter((msg) => msg.key === run.runId);
    assert.equal(delivered.length, 0, 'nothing of that run reached the broker while it was down');
  });
});
