import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { createKafka, silentLogger } from '@tollgate/core';
import { sha256Hex } from './auth.ts';
import { createKafkaPublisher } from './publisher.ts';
import { buildTestApp, createRecordingPublisher } from './testing.ts';

const EVENT = {
  event_id: 'evt-1',
  event_time: Date.UTC(2026, 10, 3, 14, 5, 0),
  kind: 'tool_call',
  run_id: 'run-1',
  org_id: 'org-acme',
  tool_call: { tool_name: 'web_search', duration_ms: 812 },
};

describe('authentication', () => {
  const token = 'tg_live_3f9a1c0e7b2d4f6a8c1e3b5d7f9a2c4e';
  const t = buildTestApp({ tokenSha256s: [sha256Hex('another-token'), sha256Hex(token)] });
  const send = (headers: Record<string, string>) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/json', ...headers },
      payload: JSON.stringify([EVENT]),
    });

  test('a missing token is 401 with WWW-Authenticate, and nothing is published', async () => {
    const response = await send({});
    assert.equal(response.statusCode, 401);
    assert.equal(response.headers['www-authenticate'], 'Bearer realm="tollgate-ingest"');
    assert.deepEqual(response.json(), {
      error: {
        code: 'TG_INGEST_UNAUTHORIZED',
        message: 'missing bearer token: send Authorization: Bearer <token>',
        retriable: false,
      },
    });
    assert.equal(t.published().length, 0);
  });

  test('a wrong token, or another scheme, is 401', async () => {
    for (const authorization of [
      `Bearer ${token}x`,
      `Basic ${Buffer.from(`u:${token}`).toString('base64')}`,
      'Bearer',
    ]) {
      const response = await send({ authorization });
      assert.equal(response.statusCode, 401, authorization);
      assert.equal(response.json().error.code, 'TG_INGEST_UNAUTHORIZED');
    }
    assert.equal(t.published().length, 0);
  });

  test('any configured token is accepted, also on /v1/traces', async () => {
    assert.equal((await send({ authorization: `Bearer ${token}` })).statusCode, 200);
    assert.equal((await send({ authorization: 'bearer another-token' })).statusCode, 200);
    const traces = await t.app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      payload: { resourceSpans: [] },
    });
    assert.equal(traces.statusCode, 200);
    const unauthenticated = await t.app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { 'content-type': 'application/json' },
      payload: { resourceSpans: [] },
    });
    assert.equal(unauthenticated.statusCode, 401);
    assert.equal(t.published().length, 2);
  });

  test('ops routes need no token', async () => {
    for (const url of ['/healthz', '/readyz', '/metrics'])
      assert.equal((await t.app.inject({ method: 'GET', url })).statusCode, 200, url);
  });

  test('without configured digests, requests need no token', async () => {
    const open = buildTestApp();
    const response = await open.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify([EVENT]),
    });
    assert.equal(response.statusCode, 200);
  });
});

describe('Kafka not acknowledging', () => {
  // A real kafkajs producer pointed at a port where no broker listens: the failure path as it happens.
  const kafka = createKafka({
    brokers: ['127.0.0.1:9'],
    clientId: 'ingest-test-unreachable',
    logger: silentLogger(),
    connectionTimeoutMs: 200,
    retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 },
  });
  const publisher = createKafkaPublisher({
    kafka,
    logger: silentLogger(),
    publishTimeoutMs: 1_500,
    batchBytes: 65_536,
    topics: ['tollgate.usage.v1'],
  });
  after(() => publisher.close());
  const t = buildTestApp({ publisher });

  test('answers 503 with a retriable code and Retry-After', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify([EVENT]),
    });
    assert.equal(response.statusCode, 503);
    assert.equal(response.headers['retry-after'], '7');
    const { error } = response.json();
    assert.equal(error.code, 'TG_INGEST_KAFKA_UNAVAILABLE');
    assert.equal(error.retriable, true);
  });

  test('readiness reports the broker as down', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(response.statusCode, 503);
    assert.deepEqual(response.json(), { status: 'not ready', checks: { kafka: false } });
  });

  test('the failure is counted', async () => {
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /tollgate_ingest_publish_failures_total\{route="events",service="ingest"\} 1/);
    assert.match(
      metrics,
      /tollgate_ingest_requests_total\{route="\/v1\/events",status="503",service="ingest"\} 1/,
    );
  });
});

describe('metrics', () => {
  test('accepted and rejected events are counted by route and reason', async () => {
    const t = buildTestApp();
    await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify([EVENT, { ...EVENT, event_id: 'evt-2', org_id: '' }]),
    });
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(
      metrics,
      /tollgate_ingest_events_total\{route="events",outcome="accepted",service="ingest"\} 1/,
    );
    assert.match(
      metrics,
      /tollgate_ingest_events_total\{route="events",outcome="rejected",service="ingest"\} 1/,
    );
    assert.match(
      metrics,
      /tollgate_ingest_rejections_total\{route="events",reason_code="invalid_event",service="ingest"\} 1/,
    );
  });
});

describe('shutdown', () => {
  test('closing waits for a request in flight, which is answered once Kafka acknowledged', async () => {
    const recording = createRecordingPublisher();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let reached: () => void = () => {};
    const publishing = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const t = buildTestApp({
      publisher: {
        ...recording,
        async publish(messages) {
          reached();
          await gate;
          await recording.publish(messages);
        },
      },
    });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (t.app.server.address() as AddressInfo).port;
    const inFlight = fetch(`http://127.0.0.1:${port}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([EVENT]),
    });
    await publishing;
    let closed = false;
    const closing = t.app.close().then(() => {
      closed = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(closed, false, 'close waits for the request in flight');
    release();
    const response = await inFlight;
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('connection'), 'close');
    const closeStartedMs = Date.now();
    await closing;
    assert.ok(Date.now() - closeStartedMs < 5_000, 'the keep-alive connection does not hold close() open');
    assert.equal(t.published().length, 1);
  });
});
