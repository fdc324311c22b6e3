import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createKeyStore, generateApiKey, hashApiKey, parseKeyFile } from './auth.ts';
import { ApiError } from './errors.ts';

describe('api keys', () => {
  it('authenticates by the hash only and scopes to the org and role', () => {
    const { key, record } = generateApiKey('k1', 'acme', 'admin');
    assert.equal(record.sha256, hashApiKey(key));
    assert.ok(!JSON.stringify(record).includes(key));
    const store = createKeyStore([record]);
    assert.deepEqual(store.authenticate({ authorization: `Bearer ${key}` }), {
      keyId: 'k1',
      orgId: 'acme',
      role: 'admin',
    });
    assert.deepEqual(store.authenticate({ 'x-api-key': key }).orgId, 'acme');
    assert.throws(
      () => store.authenticate({}),
      (e: unknown) => e instanceof ApiError && e.code === 'TG_AUTH_MISSING',
    );
    assert.throws(
      () => store.authenticate({ authorization: `Bearer ${key}x` }),
      (e: unknown) => e instanceof ApiError && e.code === 'TG_AUTH_INVALID',
    );
  });

  it('names the bad field of a key file', () => {
    assert.throws(
      () => parseKeyFile('{"keys":[{"id":"a","org_id":"acme","role":"owner","sha256":"00"}]}', 'keys.json'),
      /keys\.json: keys\.0\.role: .*; keys\.0\.sha256: must be the lowercase hex SHA-256 of the key/,
    );
    assert.throws(() => parseKeyFile('nope', 'API_KEYS'), /API_KEYS: not JSON/);
  });
});
