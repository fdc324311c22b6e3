/**
 * The producer thread: runs the kafkajs producer (createKafkaTransport) off the thread that records
 * events. kafkajs builds every produce request in JavaScript (record encoding, CRC-32C), tens of
 * milliseconds for a large batch; here that work overlaps with the agent's own work and with the
 * encoding of the next batch instead of stalling the agent's event loop.
 *
 * Protocol (messages from the parent):
 *   { type: 'send', id, batch }  → { type: 'result', id, ok: true } | { type: 'result', id, ok: false, error }
 *   { type: 'close' }            → { type: 'closed' }, then the thread ends
 * and { type: 'log', line } for every log line (pino JSON), which the parent re-logs.
 */
import { Writable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '@tollgate/core/logger';
import { unpackBatch } from './batch-wire.ts';
import { createKafkaTransport, describeKafkaError, type KafkaTransportOptions } from './kafka-transport.ts';

export type WorkerInit = Omit<KafkaTransportOptions, 'logger'> & { logLevel: string };

export type ToWorker = { type: 'send'; id: number; batch: ArrayBuffer } | { type: 'close' };

export interface SendFailure {
  name: string;
  message: string;
  /** kafkajs' error type (the broker's error name), when there is one. */
  kafkaType: string | undefined;
  retriable: boolean;
}

export type FromWorker =
  | { type: 'result'; id: number; ok: true }
  | { type: 'result'; id: number; ok: false; error: SendFailure }
  | { type: 'log'; line: string }
  | { type: 'closed' };

const port = parentPort;
if (port === null) throw new Error('kafka-worker.ts runs as a worker thread (see worker-transport.ts)');
const post = (message: FromWorker) => port.postMessage(message);

const init = workerData as WorkerInit;
const logger = createLogger({
  name: 'tollgate-sdk',
  level: init.logLevel,
  destination: new Writable({
    write(chunk: Buffer, _encoding, done) {
      post({ type: 'log', line: chunk.toString() });
      done();
    },
  }),
});
const transport = createKafkaTransport({ ...init, logger });

port.on('message', (message: ToWorker) => {
  if (message.type === 'send') {
    transport.send(unpackBatch(message.batch)).then(
      () => post({ type: 'result', id: message.id, ok: true }),
      (err: unknown) => post({ type: 'result', id: message.id, ok: false, error: describeKafkaError(err) }),
    );
  } else if (message.type === 'close') {
    transport
      .close()
      .catch((err: unknown) => logger.warn({ err }, 'producer disconnect failed'))
      .finally(() => {
        post({ type: 'closed' });
        port.close();
      });
  }
});
