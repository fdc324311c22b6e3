import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readCliConfig } from './config.ts';

describe('CLI configuration', () => {
  it('points the commands at the local stack on the ports it was given', () => {
    const config = readCliConfig(
      { TOLLGATE_KAFKA_PORT: '19092', TOLLGATE_CLICKHOUSE_HTTP_PORT: '18123' },
      '/repo',
    );
    assert.deepEqual(config.KAFKA_BROKERS, ['127.0.0.1:19092']);
    assert.equal(config.CLICKHOUSE_URL, 'http://127.0.0.1:18123');
    assert.equal(config.home, '/repo/.tollgate');
  });

  it('keeps brokers and a ClickHouse URL given explicitly', () => {
    const config = readCliConfig(
      {
        TOLLGATE_KAFKA_PORT: '19092',
        KAFKA_BROKERS: 'kafka-1:9092,kafka-2:9092',
        CLICKHOUSE_URL: 'http://ch:8123',
      },
      '/repo',
    );
    assert.deepEqual(config.KAFKA_BROKERS, ['kafka-1:9092', 'kafka-2:9092']);
    assert.equal(config.CLICKHOUSE_URL, 'http://ch:8123');
  });

  it('defaults every service port', () => {
    const config = readCliConfig({}, '/repo');
    assert.deepEqual(
      [
        config.TOLLGATE_PRICER_PORT,
        config.TOLLGATE_SINK_PORT,
        config.TOLLGATE_DETECTOR_PORT,
        config.TOLLGATE_INGEST_PORT,
        config.TOLLGATE_API_PORT,
      ],
      [9101, 9102, 9103, 9104, 8080],
    );
  });

  it('refuses two components on one port, naming both variables', () => {
    assert.throws(
      () => readCliConfig({ TOLLGATE_API_PORT: '9092' }, '/repo'),
      /TOLLGATE_KAFKA_PORT and TOLLGATE_API_PORT are both 9092; give each its own port/,
    );
    assert.throws(() => readCliConfig({ TOLLGATE_SINK_PORT: '70000' }, '/repo'), /TOLLGATE_SINK_PORT: /);
  });
});
