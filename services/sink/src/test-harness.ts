/**
 * Test harness for the sink as a real process: spawn `main.ts` against a test context, kill it, cut
 * its ClickHouse connection through a TCP proxy (the shared ClickHouse itself is never stopped), and
 * generate priced events whose exact totals are known. Not used by production code.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { createPricedCodec, type Producer } from '@tollgate/core';
import type { PricedEvent } from '@tollgate/core/contract/types';
import type { TestContext } from '@tollgate/test/support';
import { lineItem, pricedEvent } from './testing.ts';

const mainPath = resolve(import.meta.dirname, 'main.ts');

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface SinkProcess {
  child: ChildProcess;
  port: number;
  /** stderr and stdout so far (logs), for assertion messages. */
  output(): string;
  exited: Promise<number | null>;
}

export function spawnSink(
  ctx: TestContext,
  {
    clickhouseUrl,
    groupId,
    port,
    env = {},
  }: { clickhouseUrl?: string; groupId: string; port: number; env?: Record<string, string> },
): SinkProcess {
  const prefix = ctx.topics.priced.slice(0, -'tollgate.priced.v1'.length);
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', mainPath], {
    env: {
      PATH: process.env.PATH ?? '',
      KAFKA_BROKERS: ctx.brokers.join(','),
      CLICKHOUSE_URL: clickhouseUrl ?? ctx.clickhouseUrl,
      CLICKHOUSE_DATABASE: ctx.database,
      TOPIC_PREFIX: prefix,
      SINK_GROUP_ID: groupId,
      HTTP_PORT: String(port),
      LOG_LEVEL: 'debug',
      SINK_FLUSH_INTERVAL_MS: '300',
      SINK_LAG_INTERVAL_MS: '500',
      SINK_RETRY_MAX_MS: '1000',
      SINK_INSERT_TIMEOUT_MS: '5000',
      SINK_SESSION_TIMEOUT_MS: '8000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, port, output: () => output.slice(-4000), exited };
}

export async function getText(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2_000) });
  return { status: response.status, body: await response.text() };
}

/** A Prometheus sample's value summed over label sets (0 when absent). */
export function metricSum(metrics: string, name: string): number {
  let sum = 0;
  for (const line of metrics.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.split(' ').at(-1));
  }
  return sum;
}

/** A TCP proxy to ClickHouse that a test can cut (refuse and reset every connection) and restore. */
export interface Proxy {
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  /**
   * While on, requests reach ClickHouse (and run there) but every answer is swallowed and the client's
   * connection reset: an insert lands while its client sees a failure.
   */
  swallowAnswers(on: boolean): void;
  /**
   * While set, each connection forwards only its next `bytes` bytes to ClickHouse (and on to the next
   * newline byte), then ends the upstream side (the server sees the connection close mid-request) and
   * resets the client: a network cut in the middle of a request body. `undefined` turns it off.
   */
  cutRequestsAfter(bytes: number | undefined): void;
  close(): Promise<void>;
}

export async function createProxy(target: URL): Promise<Proxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let swallowing = false;
  let cutAfterBytes: number | undefined;
  let cutGeneration = 0;
  const listen = async () => {
    server = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      sockets.add(client);
      sockets.add(upstream);
      /** Set once the request was cut: the server's side is left to finish and close by itself. */
      let cutDone = false;
      const drop = () => {
        client.destroy();
        if (!cutDone) upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      // Bytes forwarded since the cut mode last changed (keep-alive connections are cut too).
      let forwarded = 0;
      let seenGeneration = cutGeneration;
      client.on('data', (chunk: Buffer) => {
        if (seenGeneration !== cutGeneration) {
          seenGeneration = cutGeneration;
          forwarded = 0;
        }
        const budget = cutAfterBytes;
        if (budget === undefined) {
          upstream.write(chunk);
          return;
        }
        if (cutDone) return;
        // Forward `budget` bytes, then up to and including the next newline: a plain TSV or JSONEachRow
        // body then ends exactly after a row, the cut that 18.16 takes for a shorter, valid body.
        const newline = chunk.indexOf(0x0a, Math.max(0, budget - forwarded));
        if (newline === -1) {
          forwarded += chunk.length;
          upstream.write(chunk);
          return;
        }
        cutDone = true;
        upstream.end(chunk.subarray(0, newline + 1));
        upstream.setTimeout(10_000, () => upstream.destroy());
        client.destroy();
      });
      upstream.on('data', (chunk: Buffer) => {
        if (cutDone) return; // the server's answer to the cut request reaches nobody
        if (swallowing) drop();
        else client.write(chunk);
      });
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
  };
  const stop = async () => {
    const closing = server ? new Promise((done) => server?.close(done)) : Promise.resolve();
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await closing;
    server = undefined;
  };
  await listen();
  return {
    port,
    cut: stop,
    restore: listen,
    swallowAnswers: (on) => {
      swallowing = on;
    },
    cutRequestsAfter: (bytes) => {
      cutAfterBytes = bytes;
      cutGeneration += 1;
    },
    close: stop,
  };
}

export interface Load {
  events: number;
  lines: number;
  costNanos: bigint;
  /** Expected cost per feature ('' = untagged). */
  costByFeature: Map<string, bigint>;
}

const FEATURES = ['search', 'support', 'coding', ''];
const MODELS = ['claude-sonnet-4-5', 'gpt-5', 'gemini-2.5-pro'];

/** Event `i` of a generated load: 3 lines (one unpriced every 10th event), deterministic costs. */
export function loadEvent(i: number, prefix: string): PricedEvent {
  const feature = FEATURES[i % FEATURES.length] ?? '';
  const unpriced = i % 10 === 9;
  return pricedEvent(
    {
      event_id: `${prefix}-${i}`,
      run_id: `${prefix}-run-${i % 97}`,
      feature: feature === '' ? null : feature,
      model: MODELS[i % MODELS.length] ?? null,
      agent_id: `agent-${i % 5}`,
      parent_agent_id: i % 5 === 0 ? null : 'agent-0',
      event_time: Date.UTC(2026, 0, 15, i % 24, i % 60),
    },
    [
      lineItem({ line_no: 0, quantity: String(1000 + i), cost_nanos: 3 * (1000 + i) * 1000 }),
      lineItem({ line_no: 1, item: 'output', quantity: String(i % 500), cost_nanos: 15 * (i % 500) * 1000 }),
      unpriced
        ? lineItem({
            line_no: 2,
            category: 'tools',
            item: 'web_search',
            unit: 'call',
            quantity: '1',
            priced: false,
            cost_nanos: null,
            unit_price: null,
          })
        : lineItem({
            line_no: 2,
            category: 'tools',
            item: 'web_search',
            unit: 'call',
            quantity: '1',
            cost_nanos: 10_000_000 + i,
          }),
    ],
  );
}

/** Publishes `count` events in chunks, `pauseMs` apart, and returns the exact totals they carry. */
export async function publishLoad(
  producer: Producer,
  topic: string,
  { count, chunk, pauseMs, prefix }: { count: number; chunk: number; pauseMs: number; prefix: string },
): Promise<Load> {
  const codec = createPricedCodec();
  const load: Load = { events: 0, lines: 0, costNanos: 0n, costByFeature: new Map() };
  for (let start = 0; start < count; start += chunk) {
    const events = [];
    for (let i = start; i < Math.min(count, start + chunk); i++) events.push(loadEvent(i, prefix));
    await producer.send({
      topic,
      messages: events.map((event) => ({ key: event.usage.run_id, value: codec.encode(event) })),
    });
    for (const event of events) {
      load.events += 1;
      load.lines += event.line_items.length;
      const cost = event.line_items.reduce(
        (sum, line) => sum + BigInt(line.priced ? (line.cost_nanos ?? 0) : 0),
        0n,
      );
      load.costNanos += cost;
      const feature = event.usage.feature ?? '';
      load.costByFeature.set(feature, (load.costByFeature.get(feature) ?? 0n) + cost);
    }
    if (pauseMs > 0) await new Promise((done) => setTimeout(done, pauseMs));
  }
  return load;
}
