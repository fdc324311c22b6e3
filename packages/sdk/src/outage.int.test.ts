/**
 * A broker that stops mid-run. The shared local Kafka must never be stopped (other suites use it), so
 * this test starts a private single-node Kafka with the infra module, on free ports, under its own
 * state folder, and stops and restarts that one. It checks the documented buffer policy end to end:
 * record calls wait while the broker is away and everything is delivered once it is back (counted,
 * no duplicates), or, past bufferTimeoutMs, the call rejects with TG_SDK_BUFFER_FULL and close()
 * hands back what it could not deliver.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { startKafka } from '@tollgate/infra/kafka';
import { stopProcess } from '@tollgate/infra/processes';
import type { InfraSettings } from '@tollgate/infra/settings';
import { repoRoot, skipIntegration, uniqueId } from '@tollgate/test/support';
import { type BufferFullError, type DeadlineError, DeliveryError } from './errors.ts';
import { createMeter } from './meter.ts';
import { readTopic } from './test-consumer.ts';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const usage = { input_tokens: 1000, output_tokens: 100 };

describe('SDK while its broker stops and comes back', { skip: skipIntegration, timeout: 600_000 }, () => {
  let settings: InfraSettings;
  let pid: number | undefined;
  let kafka: Kafka;
  const topic = prefixedTopicNames(`${uniqueId()}.`).usage;
  const codec = createUsageCodec();

  async function startBroker(): Promise<void> {
    const started = await startKafka(settings);
    assert.equal(started.started, true, 'a private broker of our own, not the shared one');
    pid = started.pid;
  }

  async function stopBroker(): Promise<void> {
    assert.ok(pid !== undefined);
    await stopProcess(pid, 30_000);
    pid = undefined;
  }

  before(async () => {
    const home = mkdtempSync(join(tmpdir(), 'tollgate-sdk-outage-'));
    // Reuse the broker jars the shared stack already downloaded (same pom, same stamp).
    const jars = join(repoRoot, '.tollgate', 'kafka', 'libs');
    if (existsSync(jars)) {
      mkdirSync(join(home, 'kafka'), { recursive: true });
      symlinkSync(jars, join(home, 'kafka', 'libs'));
    }
    settings = {
      root: repoRoot,
      home,
      kafkaPort: await freePort(),
      kafkaControllerPort: await freePort(),
      kafkaSecurePort: await freePort(),
      clickhouseHttpPort: 0,
      clickhouseTcpPort: 0,
      clickhouseHttpsPort: 0,
      clickhouseDatabase: 'unused',
      allowApt: false,
      progress: () => {},
    };
    await startBroker();
    kafka = createKafka({
      brokers: [`127.0.0.1:${settings.kafkaPort}`],
      clientId: 'sdk-outage',
      logger: silentLogger(),
    });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(
      admin,
      topicSpecs({ ...prefixedTopicNames(''), usage: topic }, 3).filter((s) => s.name === topic),
    );
    await admin.disconnect();
  });

  after(async () => {
    if (pid !== undefined) await stopProcess(pid, 30_000);
    rmSync(settings.home, { recursive: true, force: true });
  });

  function meter(extra: {
    maxBufferedEvents: number;
    bufferTimeoutMs: number;
    onError: (err: TollgateError) => void;
  }) {
    return createMeter({
      brokers: [`127.0.0.1:${settings.kafkaPort}`],
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

    await stopBroker();
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

    await startBroker();
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
    await stopBroker();
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

    await startBroker();
    const delivered = (await readTopic(kafka, topic)).filter((msg) => msg.key === run.runId);
    assert.equal(delivered.length, 0, 'nothing of that run reached the broker while it was down');
  });
});
