import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger, type TollgateError } from '@tollgate/core';
import { createDelivery, type DeliveryOptions, RECORD_OVERHEAD_BYTES, type Transport } from './delivery.ts';
import {
  type BufferFullError,
  DeadlineError,
  DeliveryError,
  MeterClosedError,
  type OutboundMessage,
} from './errors.ts';

/**
 * A transport whose broker is a test double: these tests exercise the buffer policy (what happens
 * while the broker is slow, down, or refusing), which a real broker cannot be made to do on cue.
 * The same policy runs against the real broker in meter.int.test.ts.
 */
function scriptedTransport() {
  const delivered: OutboundMessage[][] = [];
  const attempts: OutboundMessage[][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let gate: Promise<void> = Promise.resolve();
  let openGate = () => {};
  let failures: Error[] = [];
  const transport: Transport & Record<string, unknown> = {
    async send(batch) {
      attempts.push(batch);
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await gate;
        const failure = failures.shift();
        if (failure) throw failure;
        delivered.push(batch);
      } finally {
        inFlight -= 1;
      }
    },
    isRetriable: (err) => (err as { retriable?: boolean }).retriable === true,
    async close() {},
  };
  return {
    transport,
    delivered,
    attempts,
    maxInFlight: () => maxInFlight,
    block() {
      gate = new Promise((resolve) => {
        openGate = resolve;
      });
    },
    unblock: () => openGate(),
    failNext(...errors: Error[]) {
      failures = errors;
    },
    values: () => delivered.flat().map((m) => m.value.toString()),
  };
}

function message(n: number, bytes = 84): OutboundMessage {
  const value = Buffer.alloc(bytes, 32);
  value.write(String(n));
  return { key: Buffer.from('run-1'), value, keyHash: 7 };
}

const SIZE = 5 + 84 + RECORD_OVERHEAD_BYTES;

function options(transport: Transport, overrides: Partial<DeliveryOptions> = {}): DeliveryOptions {
  return {
    transport,
    lingerMs: 5,
    batchMaxBytes: 10 * SIZE,
    maxBufferedEvents: 1000,
    maxBufferedBytes: 1000 * SIZE,
    bufferTimeoutMs: 1000,
    retryBackoffMs: 5,
    retryBackoffMaxMs: 20,
    logger: silentLogger(),
    onError: () => {},
    ...overrides,
  };
}

const retriable = () => Object.assign(new Error('broker not available'), { retriable: true });
const permanent = () => Object.assign(new Error('message too large'), { retriable: false });

describe('delivery', () => {
  it('sends in order, in batches within batchMaxBytes, one batch in flight at a time', async () => {
    const t = scriptedTransport();
    const delivery = createDelivery(options(t.transport));
    for (let i = 0; i < 95; i++)
      assert.equal(delivery.offer(message(i)), undefined, 'fast path is synchronous');
    await delivery.flush();
    assert.deepEqual(
      t.values().map((v) => Number.parseInt(v, 10)),
      Array.from({ length: 95 }, (_, i) => i),
    );
    for (const batch of t.delivered) assert.ok(batch.length * SIZE <= 10 * SIZE);
    assert.equal(t.delivered.length, 10);
    assert.equal(t.maxInFlight(), 1);
    assert.deepEqual(delivery.stats(), {
      bufferedEvents: 0,
      bufferedBytes: 0,
      waitingEvents: 0,
      deliveredEvents: 95,
      failedEvents: 0,
      deliveredBatches: 10,
      failedAttempts: 0,
    });
  });

  it('holds a partial batch for lingerMs, then sends it', async () => {
    const t = scriptedTransport();
    const delivery = createDelivery(options(t.transport, { lingerMs: 80 }));
    delivery.offer(message(1));
    delivery.offer(message(2));
    await sleep(20);
    assert.equal(t.attempts.length, 0, 'still lingering');
    await sleep(120);
    assert.deepEqual(
      t.delivered.map((b) => b.length),
      [2],
    );
  });

  it('makes a record call wait while the buffer is full, then accepts it in order', async () => {
    const t = scriptedTransport();
    t.block();
    const delivery = createDelivery(options(t.transport, { maxBufferedEvents: 3, lingerMs: 0 }));
    assert.equal(delivery.offer(message(0)), undefined);
    assert.equal(delivery.offer(message(1)), undefined);
    assert.equal(delivery.offer(message(2)), undefined);
    const waiting = delivery.offer(message(3));
    const later = delivery.offer(message(4));
    assert.ok(waiting instanceof Promise && later instanceof Promise);
    assert.equal(delivery.stats().waitingEvents, 2);
    t.unblock();
    await Promise.all([waiting, later]);
    await delivery.flush();
    assert.deepEqual(
      t.values().map((v) => Number.parseInt(v, 10)),
      [0, 1, 2, 3, 4],
    );
  });

  it('rejects with TG_SDK_BUFFER_FULL after bufferTimeoutMs, and delivers what it had accepted', async () => {
    const t = scriptedTransport();
    t.block();
    const delivery = createDelivery(
      options(t.transport, { maxBufferedEvents: 2, bufferTimeoutMs: 50, lingerMs: 0 }),
    );
    delivery.offer(message(0));
    delivery.offer(message(1));
    const started = Date.now();
    await assert.rejects(delivery.offer(message(2))!, (err: BufferFullError) => {
      assert.equal(err.code, 'TG_SDK_BUFFER_FULL');
      assert.equal(err.retriable, true);
      return true;
    });
    assert.ok(Date.now() - started >= 45);
    t.unblock();
    await delivery.flush();
    assert.deepEqual(
      t.values().map((v) => Number.parseInt(v, 10)),
      [0, 1],
    );
  });

  it('retries a transient failure with the same bytes and reports each attempt to onError', async () => {
    const t = scriptedTransport();
    const errors: TollgateError[] = [];
    t.failNext(retriable(), retriable());
    const delivery = createDelivery(options(t.transport, { onError: (err) => errors.push(err) }));
    delivery.offer(message(0));
    delivery.offer(message(1));
    await delivery.flush();
    assert.equal(t.attempts.length, 3);
    // The very same encoded buffers on every attempt: one event, one event_id, however many retries.
    assert.equal(t.attempts[0]![0]!.value, t.attempts[2]![0]!.value);
    assert.deepEqual(
      t.values().map((v) => Number.parseInt(v, 10)),
      [0, 1],
    );
    assert.equal(errors.length, 2);
    assert.ok(errors.every((e) => e instanceof DeliveryError && e.retriable && e.code === 'TG_SDK_DELIVERY'));
    assert.equal(delivery.stats().failedAttempts, 2);
  });

  it('reports a permanent failure to onError and to flush, with the undelivered bytes', async () => {
    const t = scriptedTransport();
    const errors: TollgateError[] = [];
    t.failNext(permanent());
    const delivery = createDelivery(options(t.transport, { onError: (err) => errors.push(err) }));
    delivery.offer(message(0));
    delivery.offer(message(1));
    await assert.rejects(delivery.flush(), (err: DeliveryError) => {
      assert.equal(err.retriable, false);
      assert.equal(err.eventCount, 2);
      assert.deepEqual(
        err.messages.map((m) => Number.parseInt(m.value.toString(), 10)),
        [0, 1],
      );
      return true;
    });
    assert.equal(errors.length, 1);
    assert.equal(delivery.stats().failedEvents, 2);
    delivery.offer(message(2));
    await delivery.flush();
    assert.deepEqual(
      t.values().map((v) => Number.parseInt(v, 10)),
      [2],
      'later events still flow',
    );
  });

  it('flush with a deadline rejects with TG_SDK_TIMEOUT and keeps the events for delivery', async () => {
    const t = scriptedTransport();
    t.block();
    const delivery = createDelivery(options(t.transport, { lingerMs: 0 }));
    delivery.offer(message(0));
    await assert.rejects(
      delivery.flush(30),
      (err: DeadlineError) => err.code === 'TG_SDK_TIMEOUT' && err.undeliveredEvents === 1,
    );
    t.unblock();
    await delivery.flush();
    assert.equal(t.delivered.flat().length, 1);
  });

  it('close delivers everything accepted, then refuses new events', async () => {
    const t = scriptedTransport();
    const delivery = createDelivery(options(t.transport, { lingerMs: 1000 }));
    for (let i = 0; i < 25; i++) delivery.offer(message(i));
    await delivery.close(5_000);
    assert.equal(t.delivered.flat().length, 25);
    assert.throws(() => delivery.offer(message(99)), MeterClosedError);
  });

  it('close past its deadline names every undelivered event and stops retrying', async () => {
    const t = scriptedTransport();
    const errors: TollgateError[] = [];
    t.failNext(...Array.from({ length: 1000 }, retriable));
    const delivery = createDelivery(
      options(t.transport, { onError: (err) => errors.push(err), maxBufferedEvents: 3 }),
    );
    delivery.offer(message(0));
    delivery.offer(message(1));
    delivery.offer(message(2));
    const waiting = delivery.offer(message(3));
    await assert.rejects(delivery.close(100), (err: DeadlineError) => {
      assert.equal(err.code, 'TG_SDK_TIMEOUT');
      assert.equal(err.undeliveredEvents, 4);
      assert.deepEqual(
        err.messages.map((m) => Number.parseInt(m.value.toString(), 10)),
        [0, 1, 2, 3],
      );
      return true;
    });
    await assert.rejects(waiting!, MeterClosedError);
    const attempts = t.attempts.length;
    await sleep(60);
    assert.equal(t.attempts.length, attempts, 'no retry after close gave up');
    assert.ok(errors.some((e) => e instanceof DeadlineError));
  });
});
