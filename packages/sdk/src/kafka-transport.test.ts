import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeKafkaError, isRetriableKafkaError } from './kafka-transport.ts';

/** kafkajs' error shapes (name, retriable, cause) as its retry loops build them. */
function kafkaError(name: string, retriable: boolean, extra: Record<string, unknown> = {}) {
  return Object.assign(new Error(`${name} happened`), { name, retriable, ...extra });
}

describe('kafka error classification', () => {
  it('retries a refused connection that kafkajs wrapped as non-retriable after its own retries', () => {
    const refused = kafkaError('KafkaJSConnectionError', true, {
      message: 'Connection error: connect ECONNREFUSED',
    });
    const exhausted = kafkaError('KafkaJSNumberOfRetriesExceeded', false, {
      cause: refused,
      originalError: refused,
    });
    const wrapped = kafkaError('KafkaJSNonRetriableError', false, { cause: refused });
    assert.equal(isRetriableKafkaError(exhausted), true);
    assert.equal(isRetriableKafkaError(wrapped), true);
    assert.deepEqual(describeKafkaError(wrapped), {
      name: 'KafkaJSConnectionError',
      message: 'Connection error: connect ECONNREFUSED',
      kafkaType: undefined,
      retriable: true,
    });
  });

  it('does not retry what the broker refused for good, or what is not a kafkajs error', () => {
    const tooLarge = kafkaError('KafkaJSProtocolError', false, { type: 'MESSAGE_TOO_LARGE' });
    assert.equal(
      isRetriableKafkaError(kafkaError('KafkaJSNonRetriableError', false, { cause: tooLarge })),
      false,
    );
    assert.equal(describeKafkaError(tooLarge).kafkaType, 'MESSAGE_TOO_LARGE');
    assert.equal(
      isRetriableKafkaError(kafkaError('KafkaJSNonRetriableError', false)),
      false,
      'a bare non-retriable',
    );
    assert.equal(isRetriableKafkaError(new TypeError('bug')), false);
    assert.equal(
      isRetriableKafkaError(kafkaError('KafkaJSProtocolError', true, { type: 'NOT_LEADER_OR_FOLLOWER' })),
      true,
    );
  });
});
