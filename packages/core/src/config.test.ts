import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { kafkaConfig, kafkaConnection, loadConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { z } from './index.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-config-'));
const ca = join(dir, 'ca.pem');
writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');

/** The connection a service gets from these variables, or the message of the error it stops with. */
function connect(env: Record<string, string>) {
  try {
    return kafkaConnection(loadConfig(z.object(kafkaConfig), env));
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
}

describe('Kafka connection settings (KAFKA_SSL*, KAFKA_SASL_*)', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

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
