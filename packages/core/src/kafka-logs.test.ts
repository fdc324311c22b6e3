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
});
