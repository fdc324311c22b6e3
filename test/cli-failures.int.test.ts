/**
 * What a person sees when the CLI cannot reach or use Kafka or ClickHouse: one line naming what failed
 * and the setting to look at, within seconds, never a stack trace or half a minute of silence. Against
 * the real local stack: a closed port, the SASL_SSL listener with a wrong password or without the CA,
 * a plaintext client on the TLS port, a topic prefix with no topics, an unknown ClickHouse user and
 * database.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  createTestContext,
  freePort,
  repoRoot,
  runCli,
  secureKafkaEnv,
  skipIntegration,
  type TestContext,
  uniqueId,
} from './support/index.ts';

const CARD = `${repoRoot}/ratecards/default.yaml`;

/** Runs the CLI expecting it to fail: its output is one `tollgate:` line, and it took under `limitMs`. */
async function failure(env: Record<string, string>, args: string[], limitMs = 15_000): Promise<string> {
  const started = Date.now();
  const result = await runCli(env, ...args);
  const elapsed = Date.now() - started;
  assert.equal(result.code, 1, result.stdout);
  const lines = result.stdout.trim().split('\n');
  const last = lines.at(-1) ?? '';
  assert.match(last, /^tollgate: /, result.stdout);
  assert.doesNotMatch(result.stdout, /^\s+at /m, 'no stack trace');
  assert.ok(elapsed < limitMs, `failed after ${elapsed} ms`);
  return last;
}

describe('CLI failures against Kafka and ClickHouse', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let local: Record<string, string>;
  before(async () => {
    ctx = await createTestContext();
    local = { KAFKA_BROKERS: ctx.brokers.join(','), CLICKHOUSE_URL: ctx.clickhouseUrl };
  });
  after(() => ctx.cleanup());

  it('a broker that is not there fails every Kafka command within seconds, naming KAFKA_BROKERS', async () => {
    const port = await freePort();
    const env = { KAFKA_BROKERS: `127.0.0.1:${port}` };
    const commands = [
      ['ratecard', 'publish', CARD],
      ['policy', 'delete', 'no-such-policy'],
      ['alerts', '--for', '5'],
      ['simulate', '--runs', '1'],
      ['provision'],
      ['acls', 'agent', '--principal', 'User:x', '--apply'],
    ];
    const lines = await Promise.all(commands.map((args) => failure(env, args)));
    for (const [i, line] of lines.entries()) {
      assert.equal(
        line,
        `tollgate: cannot reach Kafka at 127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port}); ` +
          'check KAFKA_BROKERS, that the brokers run and are reachable from here, and KAFKA_SSL for a TLS listener',
        commands[i]?.join(' '),
      );
    }
  });

  it('a topic prefix whose topics were never provisioned is named, with provision as the fix', async () => {
    const prefix = `${uniqueId('missing')}.`;
    const line = await failure({ ...local, TOPIC_PREFIX: prefix }, ['ratecard', 'publish', CARD]);
    assert.match(line, new RegExp(`has no topic ${prefix.replaceAll('.', '\\.')}tollgate\\.ratecards\\.v1;`));
    assert.match(line, /`tollgate provision`, or check TOPIC_PREFIX$/);
  });

  it('SASL and TLS mistakes on the secured listener name the variable to fix', async () => {
    const secure = await secureKafkaEnv();
    const wrongPassword = await failure({ ...secure, KAFKA_SASL_PASSWORD: 'not-the-password' }, [
      'policy',
      'delete',
      'x',
    ]);
    assert.match(wrongPassword, /refused the credentials \(SASL PLAIN authentication failed/);
    assert.match(wrongPassword, /check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD$/);

    const { KAFKA_SSL_CA_FILE: _ca, ...withoutCa } = secure;
    const untrusted = await failure(withoutCa, ['policy', 'delete', 'x']);
    assert.match(untrusted, /its certificate is not trusted \(SELF_SIGNED_CERT_IN_CHAIN\)/);
    assert.match(untrusted, /set KAFKA_SSL_CA_FILE/);

    const noTls = await failure({ KAFKA_BROKERS: secure.KAFKA_BROKERS ?? '' }, ['policy', 'delete', 'x']);
    assert.match(noTls, /cannot reach Kafka at 127\.0\.0\.1:\d+ \(.+\); check KAFKA_BROKERS.*KAFKA_SSL/);
  });

  it('a TLS client on the plaintext listener is told so', async () => {
    const line = await failure({ ...local, KAFKA_SSL: 'true' }, ['policy', 'delete', 'x']);
    assert.match(line, /over TLS .*a plaintext listener answers there/);
    assert.match(line, /set KAFKA_SSL=false$/);
  });

  it('ClickHouse: unreachable, unknown user and a database without the schema', async () => {
    const port = await freePort();
    const [unreachable, user, database] = await Promise.all([
      failure({ CLICKHOUSE_URL: `http://127.0.0.1:${port}` }, ['report']),
      failure({ ...local, CLICKHOUSE_USER: 'nobody' }, ['report']),
      failure({ ...local, CLICKHOUSE_DATABASE: 'tollgate_never_provisioned' }, ['report']),
    ]);
    assert.equal(
      unreachable,
      `tollgate: cannot reach ClickHouse at http://127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port}); ` +
        'check CLICKHOUSE_URL and that the server runs and is reachable from here',
    );
    assert.match(
      user,
      /^tollgate: ClickHouse at http:\/\/127\.0\.0\.1:\d+ refused user nobody \(.+\(code 19[23]\)\)/,
    );
    assert.match(user, /check CLICKHOUSE_USER and CLICKHOUSE_PASSWORD$/);
    assert.match(database, /tollgate_never_provisioned.*\(code 81\); Tollgate's schema is not in database/);
    assert.match(database, /run `tollgate provision`, or check CLICKHOUSE_DATABASE$/);
  });
});
