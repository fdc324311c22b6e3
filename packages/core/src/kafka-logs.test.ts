import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { createKafka } from './kafka.ts';
import { createLogger } from './logger.ts';

/** What a service logs at `level` while creating producers (no broker is contacted). */
function logsOfProducers(level: string): { level: number; msg: string }[] {
  const lines: string[] = [];
  const destination = new PassThrough();
  destination.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
  const kafka = createKafka({
    brokers: ['127.0.0.1:1'],
    clientId: 'logs-test',
    logger: createLogger({ name: 'test', level, destination }),
  });
  kafka.producer({ idempotent: true });
  kafka.producer({ transactionalId: 'tx-1', idempotent: true, maxInFlightRequests: 1 });
  return lines.map((line) => JSON.parse(line) as { level: number; msg: string });
}

describe('kafkajs log lines', () => {
  it("keeps kafkajs's advisories that do not apply to Tollgate out of the warnings", () => {
    // The partitioner notice comes once per process: one run sees both.
    const lines = logsOfProducers('debug');
    assert.ok(lines.some((line) => /^KafkaJS v2\.0\.0 switched default partitioner/.test(line.msg)));
    assert.equal(
      lines.filter((line) => /^Limiting retries for the idempotent producer/.test(line.msg)).length,
      2,
    );
    assert.deepEqual(
      lines.filter((line) => line.level > 20),
      [],
      'nothing at info or above: a service at LOG_LEVEL=info prints none of it',
    );
  });

  it('logs broker errors kafkajs retries by itself as warnings, and keeps the others as errors', () => {
    const lines: { level: number; msg: string }[] = [];
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) =>
      lines.push(
        ...chunk
          .toString()
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line)),
      ),
    );
    const kafka = createKafka({
      brokers: ['127.0.0.1:1'],
      clientId: 'logs-test',
      logger: createLogger({ name: 'test', level: 'info', destination }),
    });
    const log = kafka.logger();
    log.error('Response InitProducerId(key: 22, version: 4)', {
      error: "The coordinator is loading and hence can't process requests for this group",
    });
    log.error('Crash: KafkaJSProtocolError: This is not the correct coordinator for this group', {});
    log.error('Restarting the consumer in 100ms', {});
    log.error('Connection error: connect ECONNREFUSED 127.0.0.1:9092', {});
    log.error(
      'Failed to connect to seed broker, trying another broker from the list: Connection error: connect ECONNREFUSED 127.0.0.1:9092',
      { retryCount: 0, retryTime: 100 },
    );
    log.error('Response Produce(key: 0, version: 7)', {
      error: 'Not authorized to access topics: [Topic authorization failed]',
    });
    log.error('Crash: KafkaJSNonRetriableError: The group is rebalancing, so a rejoin is needed', {});
    assert.deepEqual(
      lines.map((line) => [line.level, line.msg.slice(0, 24)]),
      [
        [40, 'Response InitProducerId('],
        [40, 'Crash: KafkaJSProtocolEr'],
        [40, 'Restarting the consumer '],
        [40, 'Connection error: connec'],
        [40, 'Failed to connect to see'],
        [50, 'Response Produce(key: 0,'],
        [50, 'Crash: KafkaJSNonRetriab'],
      ],
    );
  });
});
