import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  clickhouseConfig,
  clickhouseConnection,
  commonConfig,
  httpTls,
  kafkaConfig,
  kafkaConnection,
  loadConfig,
} from './config.ts';
import { ConfigError } from './errors.ts';
import { z } from './index.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-config-'));
const ca = join(dir, 'ca.pem');
writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');

/** The connection a service gets from these variables, or the message of the error it stops with. */
function connect(env: Record<string, string>) {
  return orConfigError(() => kafkaConnection(loadConfig(z.object(kafkaConfig), env)));
}

function connectClickHouse(env: Record<string, string>) {
  return orConfigError(() => clickhouseConnection(loadConfig(z.object(clickhouseConfig), env)));
}

function orConfigError<T>(build: () => T): T | string {
  try {
    return build();
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
}

after(() => rmSync(dir, { recursive: true, force: true }));

describe('Kafka connection settings (KAFKA_SSL*, KAFKA_SASL_*)', () => {
  it('is plaintext without authentication by default', () => {
    assert.deepEqual(connect({}), { brokers: ['127.0.0.1:9092'], ssl: undefined, sasl: undefined });
  });

  it('turns TLS on with the system CAs, or with a CA file read at start', () => {
    assert.deepEqual(connect({ KAFKA_BROKERS: 'b-1:9096,b-2:9096', KAFKA_SSL: 'true' }), {
      brokers: ['b-1:9096', 'b-2:9096'],
      ssl: true,
      sasl: undefined,
    });
    const withCa = connect({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: ca });
    assert.ok(typeof withCa === 'object' && typeof withCa.ssl === 'object');
    assert.match(String(withCa.ssl.ca), /BEGIN CERTIFICATE/);
  });

  it('passes SASL credentials for each mechanism managed clusters offer', () => {
    for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
      const connection = connect({
        KAFKA_SSL: 'true',
        KAFKA_SASL_MECHANISM: mechanism,
        KAFKA_SASL_USERNAME: 'svc-tollgate',
        KAFKA_SASL_PASSWORD: 's3cret',
      });
      assert.ok(typeof connection === 'object');
      assert.deepEqual(connection.sasl, { mechanism, username: 'svc-tollgate', password: 's3cret' });
    }
  });

  it('names the variable and the reason for every setting that cannot work', () => {
    assert.match(String(connect({ KAFKA_SSL: 'maybe' })), /KAFKA_SSL: /);
    assert.match(
      String(connect({ KAFKA_SASL_MECHANISM: 'gssapi' })),
      /KAFKA_SASL_MECHANISM: .*"plain"\|"scram-sha-256"\|"scram-sha-512"/,
    );
    assert.equal(
      connect({ KAFKA_SSL_CA_FILE: ca }),
      'invalid configuration: KAFKA_SSL_CA_FILE: is set but KAFKA_SSL is not; set KAFKA_SSL=true',
    );
    assert.equal(
      connect({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: join(dir, 'nope.pem') }),
      `invalid configuration: KAFKA_SSL_CA_FILE: cannot read ${join(dir, 'nope.pem')} (ENOENT)`,
    );
    assert.equal(
      connect({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: ca }),
      'invalid configuration: KAFKA_SSL_KEY_FILE: is required with KAFKA_SSL_CERT_FILE',
    );
    assert.equal(
      connect({ KAFKA_SASL_MECHANISM: 'scram-sha-512' }),
      'invalid configuration: KAFKA_SASL_USERNAME: is required with KAFKA_SASL_MECHANISM; KAFKA_SASL_PASSWORD: is required with KAFKA_SASL_MECHANISM',
    );
    assert.equal(
      connect({ KAFKA_SASL_USERNAME: 'svc', KAFKA_SASL_PASSWORD: 'x' }),
      'invalid configuration: KAFKA_SASL_USERNAME: is set but KAFKA_SASL_MECHANISM is not (plain, scram-sha-256, scram-sha-512); KAFKA_SASL_PASSWORD: is set but KAFKA_SASL_MECHANISM is not (plain, scram-sha-256, scram-sha-512)',
    );
  });
});

describe('ClickHouse connection settings (CLICKHOUSE_*)', () => {
  const key = join(dir, 'client.key');
  writeFileSync(key, '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n');

  it('is the local server as user default without TLS by default', () => {
    assert.deepEqual(connectClickHouse({}), {
      url: 'http://127.0.0.1:8123',
      database: 'tollgate',
      username: 'default',
      password: '',
    });
  });

  it('takes an https URL with the system CAs, or with a CA file and a client certificate read at start', () => {
    const url = 'https://ch.internal:8443';
    assert.deepEqual(connectClickHouse({ CLICKHOUSE_URL: url, CLICKHOUSE_USER: 'tollgate' }), {
      url,
      database: 'tollgate',
      username: 'tollgate',
      password: '',
    });
    const withCa = connectClickHouse({ CLICKHOUSE_URL: url, CLICKHOUSE_CA_FILE: ca });
    assert.ok(typeof withCa === 'object');
    assert.deepEqual(Object.keys(withCa.tls ?? {}), ['ca']);
    assert.match(String(withCa.tls?.ca), /BEGIN CERTIFICATE/);
    const mutual = connectClickHouse({
      CLICKHOUSE_URL: url,
      CLICKHOUSE_CA_FILE: ca,
      CLICKHOUSE_CERT_FILE: ca,
      CLICKHOUSE_KEY_FILE: key,
    });
    assert.ok(typeof mutual === 'object' && mutual.tls !== undefined && 'key' in mutual.tls);
    assert.match(mutual.tls.key, /BEGIN PRIVATE KEY/);
  });

  it('names the variable and the reason for every setting that cannot work', () => {
    assert.match(
      String(connectClickHouse({ CLICKHOUSE_URL: 'ch:8123' })),
      /^invalid configuration: CLICKHOUSE_URL: must be an http:\/\/ or https:\/\/ URL$/,
    );
    assert.equal(
      connectClickHouse({ CLICKHOUSE_CA_FILE: ca }),
      'invalid configuration: CLICKHOUSE_CA_FILE: is set but CLICKHOUSE_URL is not https:// (http://127.0.0.1:8123)',
    );
    assert.equal(
      connectClickHouse({ CLICKHOUSE_URL: 'https://ch:8443', CLICKHOUSE_CA_FILE: join(dir, 'gone.pem') }),
      `invalid configuration: CLICKHOUSE_CA_FILE: cannot read ${join(dir, 'gone.pem')} (ENOENT)`,
    );
    assert.equal(
      connectClickHouse({ CLICKHOUSE_URL: 'https://ch:8443', CLICKHOUSE_KEY_FILE: key }),
      'invalid configuration: CLICKHOUSE_CERT_FILE: is required with CLICKHOUSE_KEY_FILE',
    );
    assert.equal(
      connectClickHouse({
        CLICKHOUSE_URL: 'https://ch:8443',
        CLICKHOUSE_CERT_FILE: ca,
        CLICKHOUSE_KEY_FILE: key,
      }),
      'invalid configuration: CLICKHOUSE_CA_FILE: is required with CLICKHOUSE_CERT_FILE (mutual TLS)',
    );
  });
});

describe('HTTPS for the services (HTTP_TLS_*)', () => {
  const key = join(dir, 'server.key');
  writeFileSync(key, '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n');
  const serve = (env: Record<string, string>) =>
    orConfigError(() => httpTls(loadConfig(z.object(commonConfig), env)));

  it('is plain http by default, https with a certificate and key, mutual TLS with a CA', () => {
    assert.equal(serve({}), undefined);
    const tls = serve({ HTTP_TLS_CERT_FILE: ca, HTTP_TLS_KEY_FILE: key });
    assert.ok(typeof tls === 'object');
    assert.deepEqual(Object.keys(tls), ['cert', 'key']);
    const mutual = serve({ HTTP_TLS_CERT_FILE: ca, HTTP_TLS_KEY_FILE: key, HTTP_TLS_CA_FILE: ca });
    assert.ok(typeof mutual === 'object');
    assert.deepEqual(
      [mutual.requestCert, mutual.rejectUnauthorized, /BEGIN CERTIFICATE/.test(String(mutual.ca))],
      [true, true, true],
    );
  });

  it('names the variable and the reason for settings that cannot work', () => {
    assert.equal(
      serve({ HTTP_TLS_CERT_FILE: ca }),
      'invalid configuration: HTTP_TLS_KEY_FILE: is required with HTTP_TLS_CERT_FILE',
    );
    assert.equal(
      serve({ HTTP_TLS_CA_FILE: ca }),
      'invalid configuration: HTTP_TLS_CA_FILE: is set but HTTP_TLS_CERT_FILE and HTTP_TLS_KEY_FILE are not (https needs them)',
    );
    assert.match(
      String(serve({ HTTP_TLS_CERT_FILE: join(dir, 'missing.pem'), HTTP_TLS_KEY_FILE: key })),
      /^invalid configuration: HTTP_TLS_CERT_FILE: cannot read .*missing\.pem \(ENOENT\)$/,
    );
  });
});
