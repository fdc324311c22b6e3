import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '@tollgate/core';
import { sha256Hex } from './auth.ts';
import { ingestConfigSchema, ingestTopics } from './config.ts';

describe('ingest configuration', () => {
  test('defaults: port 9104, 5 MiB bodies, 5000 events, no authentication', () => {
    const config = loadConfig(ingestConfigSchema, {});
    assert.equal(config.HTTP_PORT, 9104);
    assert.equal(config.INGEST_MAX_BODY_BYTES, 5 * 1024 * 1024);
    assert.equal(config.INGEST_MAX_EVENTS_PER_REQUEST, 5_000);
    assert.deepEqual(config.INGEST_API_KEY_SHA256S, []);
    assert.deepEqual(ingestTopics(config), { usage: 'tollgate.usage.v1', deadLetters: 'tollgate.dlq.v1' });
  });

  test('topics: under TOPIC_PREFIX like every service, or one named outright', () => {
    const prefixed = loadConfig(ingestConfigSchema, { TOPIC_PREFIX: 'staging.' });
    assert.deepEqual(ingestTopics(prefixed), {
      usage: 'staging.tollgate.usage.v1',
      deadLetters: 'staging.tollgate.dlq.v1',
    });
    const named = loadConfig(ingestConfigSchema, {
      TOPIC_PREFIX: 'staging.',
      INGEST_USAGE_TOPIC: 'usage-eu',
    });
    assert.deepEqual(ingestTopics(named), { usage: 'usage-eu', deadLetters: 'staging.tollgate.dlq.v1' });
  });

  test('token digests: comma-separated, case-insensitive, each a SHA-256', () => {
    const a = sha256Hex('token-a');
    const b = sha256Hex('token-b');
    const config = loadConfig(ingestConfigSchema, { INGEST_API_KEY_SHA256S: ` ${a.toUpperCase()}, ${b} ,` });
    assert.deepEqual(config.INGEST_API_KEY_SHA256S, [a, b]);
  });

  test('a plain token where a digest belongs is refused, naming the variable', () => {
    assert.throws(
      () => loadConfig(ingestConfigSchema, { INGEST_API_KEY_SHA256S: 'tg_live_secret', HTTP_PORT: 'x' }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /INGEST_API_KEY_SHA256S\.0: each entry must be a SHA-256 digest/.test(err.message) &&
        /HTTP_PORT/.test(err.message),
    );
  });
});
