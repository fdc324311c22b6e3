/**
 * A Transport whose kafkajs producer runs on its own thread (kafka-worker.ts). The calling thread
 * keeps the buffer, batching and retry policy (delivery.ts); each batch crosses as one transferred
 * ArrayBuffer. The thread starts on the first send, holds the process open only while a batch is in
 * flight, and is restarted if it dies (the batch it held fails as retriable, so it is sent again).
 */
import { extname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { TollgateError } from '@tollgate/core/errors';
import type { Logger } from '@tollgate/core/logger';
import { packBatch } from './batch-wire.ts';
import type { Transport } from './delivery.ts';
import type { KafkaTransportOptions } from './kafka-transport.ts';
import type { FromWorker, ToWorker, WorkerInit } from './kafka-worker.ts';

// kafka-worker.ts beside this module in the repository, kafka-worker.js beside the bundle in the npm package.
const WORKER_URL = new URL(`./kafka-worker${extname(new URL(import.meta.url).pathname)}`, import.meta.url);

const LEVEL_NAMES: Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/** Re-logs a pino line from the producer thread through the caller's logger. */
function relog(logger: Logger, line: string): void {
  try {
    const {
      level,
      msg,
      time: _time,
      pid: _pid,
      hostname: _hostname,
      service: _service,
      ...fields
    } = JSON.parse(line);
    logger[LEVEL_NAMES[level as number] ?? 'info'](fields, String(msg));
  } catch {
    logger.warn({ line }, 'unparsable log line from the producer thread');
  }
}

export function createWorkerTransport(
  options: KafkaTransportOptions & { closeTimeoutMs?: number },
): Transport {
  const { logger, closeTimeoutMs = 10_000, ...kafkaOptions } = options;
  const log = logger.child({ component: 'sdk-producer' });
  const pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  let worker: Worker | undefined;
  let nextId = 1;

  function failAll(err: Error): void {
    for (const { reject } of pending.values()) reject(err);
    pending.clear();
  }

  function start(): Worker {
    const init: WorkerInit = { ...kafkaOptions, logLevel: logger.level };
    const thread = new Worker(WORKER_URL, { workerData: init });
    thread.unref();
    thread.on('message', (message: FromWorker) => {
      if (message.type === 'log') return relog(log, message.line);
      if (message.type !== 'result') return;
      const waiter = pending.get(message.id);
      if (waiter === undefined) return;
      pending.delete(message.id);
      if (pending.size === 0) thread.unref();
      if (message.ok) return waiter.resolve();
      const { error } = message;
      waiter.reject(
        new TollgateError(`kafka produce failed: ${error.message}`, {
          code: `TG_KAFKA_${error.kafkaType ?? error.name}`,
          retriable: error.retriable,
          details: { name: error.name },
        }),
      );
    });
    thread.on('error', (err) => {
      log.error({ err }, 'producer thread failed');
      failAll(
        new TollgateError('producer thread failed', {
          code: 'TG_SDK_PRODUCER_THREAD',
          retriable: true,
          cause: err,
        }),
      );
    });
    thread.on('exit', (code) => {
      if (worker === thread) worker = undefined;
      failAll(
        new TollgateError(`producer thread exited (${code})`, {
          code: 'TG_SDK_PRODUCER_THREAD',
          retriable: true,
        }),
      );
    });
    return thread;
  }

  return {
    send(messages) {
      worker ??= start();
      const thread = worker;
      const id = nextId++;
      const batch = packBatch(messages);
      return new Promise<void>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        // Keep the process alive while a batch is on its way.
        thread.ref();
        thread.postMessage({ type: 'send', id, batch } satisfies ToWorker, [batch]);
      });
    },

    isRetriable: (err) => err instanceof TollgateError && err.retriable,

    async close() {
      const thread = worker;
      if (thread === undefined) return;
      worker = undefined;
      thread.ref();
      const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
      thread.postMessage({ type: 'close' } satisfies ToWorker);
      const timer = setTimeout(() => {
        log.warn({ closeTimeoutMs }, 'producer thread did not close in time, terminating it');
        void thread.terminate();
      }, closeTimeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
