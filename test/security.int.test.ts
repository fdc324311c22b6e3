/**
 * Tollgate against secured Kafka and ClickHouse, as production clusters run: TLS with a private CA and
 * SASL for Kafka, https for ClickHouse. The local broker's SASL_SSL listener (infra/src/kafka-secure.ts)
 * and the local ClickHouse's https port (infra/src/clickhouse.ts) are the cluster; every client here gets
 * only the variables a platform team would set (KAFKA_BROKERS, KAFKA_SSL, KAFKA_SSL_CA_FILE, KAFKA_SASL_*,
 * CLICKHOUSE_URL, CLICKHOUSE_CA_FILE), and the services and the CLI are the real entry points.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  clickhouseConfig,
  clickhouseConnection,
  createAlertCodec,
  createClickHouse,
  createKafka,
  createUsageCodec,
  dropDatabase,
  type KafkaConnection,
  kafkaConfig,
  kafkaConnection,
  loadConfig,
  loadRateCardFile,
  silentLogger,
  z,
} from '@tollgate/core';
import { exampleCostAlert, exampleModelCall } from '@tollgate/core/contract/examples';
import { subscribeAlerts } from '../packages/sdk/src/alerts.ts';
import { createMeter } from '../packages/sdk/src/meter.ts';
import { readTopic } from '../packages/sdk/src/test-consumer.ts';
import { executePlans } from '../services/cli/src/simulate/execute.ts';
import { createSimulationMeter, planFleet } from '../services/cli/src/simulate/index.ts';
import { costlyEvents, ledgerCost } from './support/expected.ts';
import {
  createTestContext,
  deadLetterRow,
  repoRoot,
  runCli,
  secureClickHouseEnv,
  secureKafkaEnv,
  skipIntegration,
  type TestContext,
  uniqueId,
} from './support/index.ts';
import { eventually, type Pipeline, startPipeline } from './support/pipeline.ts';

async function describeCluster(connection: KafkaConnection) {
  const kafka = createKafka({
    ...connection,
    clientId: 'security-test',
    logger: silentLogger(),
    connectionTimeoutMs: 3_000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    return await admin.describeCluster();
  } finally {
    await admin.disconnect();
  }
}

/** The local listener's one SASL password (every user of it has the same). */
function secretOf(connection: KafkaConnection): string {
  assert.ok(connection.sasl);
  return connection.sasl.password;
}

/** The run the agent starts to show it may read the policies (its run_start is on the usage topic too). */
const POLICY_CHECK_RUN = 'acl-policy-check';

describe('Kafka with TLS and SASL, ClickHouse over https', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let env: Record<string, string>;
  let chEnv: Record<string, string>;
  let secure: KafkaConnection;
  let pipeline: Pipeline | undefined;
  before(async () => {
    ctx = await createTestContext({ partitions: 3 });
    await ctx.createTopics();
    await ctx.clickhouse();
    env = await secureKafkaEnv();
    chEnv = await secureClickHouseEnv();
    secure = kafkaConnection(loadConfig(z.object(kafkaConfig), env));
  });
  after(async () => {
    await pipeline?.stop();
    await ctx.cleanup();
  });

  it('connects with the CA file and the SASL password from the environment variables', async () => {
    assert.equal(env.KAFKA_SSL, 'true');
    assert.notEqual(secure.brokers.join(), ctx.brokers.join());
    const cluster = await describeCluster(secure);
    // The broker advertises the listener the client came in on.
    assert.deepEqual(
      cluster.brokers.map((b) => `${b.host}:${b.port}`),
      secure.brokers,
    );
  });

  it('authenticates with SCRAM-SHA-256 and SCRAM-SHA-512 as well (what MSK and Aiven issue)', async () => {
    assert.ok(secure.sasl);
    const { username, password } = secure.sasl;
    for (const mechanism of ['scram-sha-256', 'scram-sha-512'] as const) {
      const cluster = await describeCluster({ ...secure, sasl: { mechanism, username, password } });
      assert.equal(cluster.brokers.length, 1);
      await assert.rejects(
        describeCluster({ ...secure, sasl: { mechanism, username, password: 'not-the-password' } }),
        /SASL SCRAM SHA(256|512) authentication failed/,
      );
    }
  });

  it('refuses a wrong password and an untrusted certificate, with their reasons', async () => {
    assert.ok(secure.sasl);
    await assert.rejects(
      describeCluster({ ...secure, sasl: { ...secure.sasl, password: 'not-the-password' } }),
      /SASL PLAIN authentication failed: Authentication failed: Invalid username or password/,
    );
    await assert.rejects(describeCluster({ ...secure, ssl: true }), (err: Error & { cause?: Error }) =>
      /self-signed certificate in certificate chain/.test(`${err.message} ${err.cause?.message}`),
    );
  });

  it('queries ClickHouse over https with the CA file, and refuses a server it cannot verify', async () => {
    assert.match(chEnv.CLICKHOUSE_URL ?? '', /^https:\/\//);
    const connect = (vars: Record<string, string>) =>
      createClickHouse({
        ...clickhouseConnection(
          loadConfig(z.object(clickhouseConfig), { ...vars, CLICKHOUSE_DATABASE: ctx.database }),
        ),
        logger: silentLogger(),
      });
    const trusted = connect(chEnv);
    try {
      const [row] = await trusted.rows<{ n: string }>('SELECT count() AS n FROM schema_migrations');
      assert.ok(Number(row?.n) > 0);
    } finally {
      await trusted.close();
    }
    const untrusted = connect({ CLICKHOUSE_URL: chEnv.CLICKHOUSE_URL ?? '' });
    try {
      // The server sends its certificate and the stack's CA; the system CAs vouch for neither.
      await assert.rejects(
        untrusted.rows('SELECT 1'),
        /^TollgateError: clickhouse query failed: the server's certificate is not trusted \(SELF_SIGNED_CERT_IN_CHAIN\); set CLICKHOUSE_CA_FILE to the PEM file of the CA that signed it$/,
      );
    } finally {
      await untrusted.close();
    }
  });

  it("mutual TLS: a client certificate from the CA is accepted by both, a stranger's refused by both", async () => {
    // Both listeners ask for a client certificate and check one that is sent (not required: the other
    // tests connect without one). The local CA issued client.pem beside each listener's ca.pem.
    const kafkaDir = dirname(env.KAFKA_SSL_CA_FILE ?? '');
    const chDir = dirname(chEnv.CLICKHOUSE_CA_FILE ?? '');
    const stranger = mkdtempSync(join(tmpdir(), 'tollgate-stranger-'));
    try {
      const made = spawnSync('openssl', [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
        ...[
          '-keyout',
          join(stranger, 'key.pem'),
          '-out',
          join(stranger, 'cert.pem'),
          '-days',
          '1',
          '-subj',
          '/CN=stranger',
        ],
      ]);
      assert.equal(made.status, 0, String(made.stderr));
      const kafkaAs = (dir: string, cert: string, key: string) =>
        kafkaConnection(
          loadConfig(z.object(kafkaConfig), {
            ...env,
            KAFKA_SSL_CERT_FILE: join(dir, cert),
            KAFKA_SSL_KEY_FILE: join(dir, key),
          }),
        );
      assert.equal((await describeCluster(kafkaAs(kafkaDir, 'client.pem', 'client.key'))).brokers.length, 1);
      // The broker ends the handshake with a TLS alert naming the certificate; ClickHouse, its CA.
      await assert.rejects(
        describeCluster(kafkaAs(stranger, 'cert.pem', 'key.pem')),
        /alert certificate unknown/,
      );
      const clickhouseAs = (dir: string, cert: string, key: string) =>
        createClickHouse({
          ...clickhouseConnection(
            loadConfig(z.object(clickhouseConfig), {
              ...chEnv,
              CLICKHOUSE_DATABASE: ctx.database,
              CLICKHOUSE_CERT_FILE: join(dir, cert),
              CLICKHOUSE_KEY_FILE: join(dir, key),
            }),
          ),
          logger: silentLogger(),
        });
      const trusted = clickhouseAs(chDir, 'client.pem', 'client.key');
      const refused = clickhouseAs(stranger, 'cert.pem', 'key.pem');
      try {
        assert.deepEqual(await trusted.rows('SELECT 1 AS one'), [{ one: 1 }]);
        await assert.rejects(refused.rows('SELECT 1 AS one'), /alert unknown ca/);
      } finally {
        await trusted.close();
        await refused.close();
      }
    } finally {
      rmSync(stranger, { recursive: true, force: true });
    }
  });

  it('tollgate provision sets a cluster up over both: topics checked, migrations applied once', async () => {
    const database = `test_${uniqueId()}`;
    const vars = { ...env, ...chEnv, CLICKHOUSE_DATABASE: database };
    try {
      const first = await runCli(vars, 'provision');
      assert.equal(first.code, 0, first.stdout);
      assert.match(
        first.stdout,
        new RegExp(`provisioning Kafka ${env.KAFKA_BROKERS} \\(TLS, SASL plain\\) and ClickHouse https://`),
      );
      // `tollgate test` started the local stack, whose topics are Tollgate's: they exist and match.
      assert.match(first.stdout, /topics: 0 created, 11 already there; migrations: [1-9]\d* applied/);
      const second = await runCli(vars, 'provision');
      assert.equal(second.code, 0, second.stdout);
      assert.match(second.stdout, /migrations: 0 applied/);
      const partitions = await runCli(vars, 'provision', '--partitions', '12');
      assert.equal(partitions.code, 1);
      assert.match(partitions.stdout, /tollgate\.usage\.v1: has 6 partitions, Tollgate expects 12/);
    } finally {
      await dropDatabase({
        ...clickhouseConnection(loadConfig(z.object(clickhouseConfig), vars)),
        logger: silentLogger(),
      });
    }
  });

  /** `tollgate acls CLIENT --apply` as the operator for user tollgate-CLIENT; the number of ACLs created. */
  async function applyAcls(client: string, groupId?: string, topicPrefix = ctx.topicPrefix): Promise<number> {
    const group = groupId === undefined ? [] : ['--group-id', groupId];
    const principal = `User:tollgate-${client}`;
    const args = [
      'acls',
      client,
      '--principal',
      principal,
      '--topic-prefix',
      topicPrefix,
      ...group,
      '--apply',
    ];
    const result = await runCli(env, ...args);
    assert.equal(result.code, 0, result.stdout);
    return Number(/created (\d+) ACLs/.exec(result.stdout)?.[1]);
  }

  it('tollgate acls --apply gives each client its ACLs, and a client can do nothing else', async () => {
    // The broker runs an authorizer; user tollgate (the operator) is a super user, the others start bare.
    const counts: Record<string, number> = {};
    for (const client of ['pricer', 'sink', 'detector', 'agent'] as const)
      counts[client] = await applyAcls(
        client,
        client === 'agent' ? undefined : `${ctx.topicPrefix}${client}`,
      );
    // operations per rule: topics read 2, write 2, read-write 3; the group 2; the transactional ids 2
    assert.deepEqual(counts, { pricer: 12, sink: 9, detector: 27, agent: 6 });
    const agent = {
      ...secure,
      sasl: { mechanism: 'plain' as const, username: 'tollgate-agent', password: secretOf(secure) },
    };
    const producer = createKafka({
      ...agent,
      clientId: 'acl-test',
      logger: silentLogger(),
      retry: { retries: 0 },
    }).producer();
    await producer.connect();
    try {
      await producer.send({ topic: ctx.topics.usage, messages: [] });
      await assert.rejects(
        producer.send({ topic: ctx.topics.priced, messages: [{ value: 'forged' }] }),
        /Not authorized to access topics/,
      );
    } finally {
      await producer.disconnect();
    }
    // The agent reads the ceilings policies a platform team publishes (the meter's policies option).
    const meter = createMeter({
      ...agent,
      clientId: 'acl-test-agent',
      topic: ctx.topics.usage,
      defaults: { org_id: 'acme' },
      policies: { topic: ctx.topics.policies, timeoutMs: 20_000 },
    });
    try {
      await meter.startRun({ runId: POLICY_CHECK_RUN });
    } finally {
      await meter.close();
    }
  });

  it('runs pricer, sink and detector on the secured listeners, each as its own user: SDK usage arrives priced in ClickHouse', async () => {
    const as = (username: string) => ({ KAFKA_SASL_USERNAME: username });
    pipeline = await startPipeline(ctx, {
      services: ['pricer', 'sink', 'detector'],
      env: { ...env, ...chEnv, CLICKHOUSE_DATABASE: ctx.database },
      serviceEnv: {
        pricer: as('tollgate-pricer'),
        sink: as('tollgate-sink'),
        detector: as('tollgate-detector'),
      },
    });
    const card = await loadRateCardFile(`${repoRoot}/ratecards/default.yaml`);
    // The SDK's producer thread gets ssl and sasl too, as the agent user with its two ACLs.
    const meter = createSimulationMeter({
      ...secure,
      sasl: { mechanism: 'plain', username: 'tollgate-agent', password: secretOf(secure) },
      topic: ctx.topics.usage,
      card,
    });
    const plans = planFleet({ preset: 'normal', runs: 8, seed: 11, orgs: ['acme'], features: ['f1'] }, 'tls');
    const ledgers = await executePlans({ meter, plans });
    await meter.close();

    // Everything went through the secured listener: the usage topic holds exactly what the SDK sent.
    const sent = ledgers.reduce((n, ledger) => n + ledger.events, 0);
    const usage = await readTopic(ctx.kafka, ctx.topics.usage);
    assert.equal(usage.filter((message) => message.key !== POLICY_CHECK_RUN).length, sent);
    const ch = await ctx.clickhouse();
    await eventually(
      async () => {
        const [row] = await ch.rows<{ n: string }>('SELECT uniqExact(event_id) AS n FROM line_items');
        return Number(row?.n) === costlyEvents(ledgers);
      },
      { describe: () => pipeline?.logs(20) ?? '' },
    );
    const [total] = await ch.rows<{ nanos: string }>('SELECT sum(cost_nanos) AS nanos FROM line_items');
    assert.equal(
      BigInt(total?.nanos ?? -1),
      ledgers.reduce((sum, ledger) => sum + ledgerCost(ledger), 0n),
    );
  });

  it('an operator publishes a rate card as its own user, and an agent may not', async () => {
    // `tollgate ratecard publish` writes the cluster's rate-card topic (no TOPIC_PREFIX): the default card,
    // which is what that topic of the local stack holds anyway.
    assert.equal(await applyAcls('operator', undefined, ''), 8);
    const card = `${repoRoot}/ratecards/default.yaml`;
    const as = (username: string) => ({ ...env, KAFKA_SASL_USERNAME: username });
    const published = await runCli(as('tollgate-operator'), 'ratecard', 'publish', card);
    assert.equal(published.code, 0, published.stdout);
    assert.match(published.stdout, /^published rate card default /);
    // and reads back the cards and the policies in force (through groups of its own prefix)
    const listed = await runCli(as('tollgate-operator'), 'policy', 'list', '--json');
    assert.equal(listed.code, 0, listed.stdout);
    assert.equal(JSON.parse(listed.stdout).topic, 'tollgate.policies.v1');
    const cards = await runCli(as('tollgate-operator'), 'ratecard', 'list', '--json');
    assert.equal(cards.code, 0, cards.stdout);
    assert.ok(JSON.parse(cards.stdout).cards.some((c: { id: string }) => c.id === 'default'));
    const refused = await runCli(as('tollgate-agent'), 'ratecard', 'publish', card);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(
      refused.stdout,
      /^tollgate: Kafka at \S+ refused User:tollgate-agent \(TOPIC_AUTHORIZATION_FAILED: Not authorized to access topics/,
    );
    assert.match(refused.stdout, /`tollgate acls CLIENT --principal User:tollgate-agent` prints/);
  });

  it('a restatement runs as a user holding only the restate ACLs', async () => {
    // The operator's user, which holds only the operator's rules so far (the test above), re-prices the
    // priced topic of this test's pipeline under its prefix.
    const vars = {
      ...env,
      KAFKA_SASL_USERNAME: 'tollgate-operator',
      TOPIC_PREFIX: ctx.topicPrefix,
      PRICER_GROUP_ID: `${ctx.topicPrefix}pricer`,
    };
    const restate = () =>
      runCli(
        vars,
        'ratecard',
        'restate',
        '--card',
        `${repoRoot}/ratecards/default.yaml`,
        '--from',
        '2026-01-01',
        '--to',
        '2100-01-01',
        '--dry-run',
      );
    const refused = await restate();
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stdout, /refused User:tollgate-operator \(TOPIC_AUTHORIZATION_FAILED/);
    const granted = await runCli(
      env,
      'acls',
      'restate',
      '--principal',
      'User:tollgate-operator',
      '--topic-prefix',
      ctx.topicPrefix,
      '--group-id',
      `${ctx.topicPrefix}pricer-reprice`,
      '--apply',
    );
    assert.equal(granted.code, 0, granted.stdout);
    const allowed = await restate();
    assert.equal(allowed.code, 0, allowed.stdout);
    // the same card the events were priced under: nothing to adjust
    assert.match(allowed.stdout, /dry run: re-priced \d+ events of \d+ read under default/);
    assert.match(allowed.stdout, /adjusted 0, /);
  });

  it('a dead-letter replay runs as a user holding only the dlq-replay ACLs; the pricer prices what it sent', async () => {
    // A pricer letter (a schema it did not know then) waits in this test's ClickHouse.
    const event = {
      ...exampleModelCall(),
      event_id: 'evt-acl-replay',
      run_id: 'run-acl-replay',
      event_time: Date.now() - 60_000,
    };
    const ch = await ctx.clickhouse();
    await ch.insert('dead_letters', [
      deadLetterRow('pricer', ctx.topics.usage, 0, 900, event.run_id, createUsageCodec().encode(event), 900),
    ]);
    const vars = {
      ...env,
      ...chEnv,
      CLICKHOUSE_DATABASE: ctx.database,
      KAFKA_SASL_USERNAME: 'tollgate-operator',
    };
    const replay = () => runCli(vars, 'dlq', 'replay', '--stage', 'pricer');
    const refused = await replay();
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stdout, /refused User:tollgate-operator \(TOPIC_AUTHORIZATION_FAILED/);
    const granted = await runCli(
      env,
      'acls',
      'dlq-replay',
      '--principal',
      'User:tollgate-operator',
      '--topic-prefix',
      ctx.topicPrefix,
      '--apply',
    );
    assert.equal(granted.code, 0, granted.stdout);
    assert.match(granted.stdout, /created 2 ACLs/);
    const allowed = await replay();
    assert.equal(allowed.code, 0, allowed.stdout);
    assert.match(allowed.stdout, /replayed 1 dead letters; recorded in dead_letter_replays/);
    await eventually(
      async () => {
        const rows = await ch.rows<{ n: string }>(
          "SELECT count() AS n FROM line_items WHERE event_id = 'evt-acl-replay'",
        );
        return Number(rows[0]?.n) > 0;
      },
      { describe: () => pipeline?.logs(20) ?? '' },
    );
  });

  it('ingest and an alert subscriber work as their own users with only their ACLs', async () => {
    await applyAcls('ingest');
    await applyAcls('alerts', `${ctx.topicPrefix}alerts`);
    const token = 'tg_security_test_token';
    const ingest = await startPipeline(ctx, {
      services: ['ingest'],
      env: {
        ...env,
        KAFKA_SASL_USERNAME: 'tollgate-ingest',
        INGEST_USAGE_TOPIC: ctx.topics.usage,
        INGEST_DLQ_TOPIC: ctx.topics.deadLetters,
        INGEST_API_KEY_SHA256S: createHash('sha256').update(token).digest('hex'),
      },
    });
    try {
      const before = (await readTopic(ctx.kafka, ctx.topics.usage)).length;
      const lettersBefore = (await readTopic(ctx.kafka, ctx.topics.deadLetters)).length;
      const event = {
        event_id: 'evt-acl-1',
        event_time: Date.now(),
        kind: 'model_call',
        run_id: 'run-acl',
        org_id: 'acme',
        model: 'claude-sonnet-4-5',
        provider: 'anthropic',
        model_call: { input_tokens: 1_000, output_tokens: 200 },
      };
      const bad = { ...event, event_id: 'evt-acl-bad', model_call: { input_tokens: -1, output_tokens: 0 } };
      const response = await fetch(`http://127.0.0.1:${ingest.services.get('ingest')?.port}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify([event, bad]),
      });
      assert.equal(response.status, 207, await response.clone().text());
      // One event on the usage topic, the rejected one on the dead-letter topic: both writes allowed.
      assert.equal((await readTopic(ctx.kafka, ctx.topics.usage)).length, before + 1);
      assert.equal((await readTopic(ctx.kafka, ctx.topics.deadLetters)).length, lettersBefore + 1);
    } finally {
      await ingest.stop();
    }

    const codec = createAlertCodec();
    const alert = { ...exampleCostAlert(), alert_id: `acl-${ctx.topicPrefix}` };
    const producer = ctx.kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({
      topic: ctx.topics.alerts,
      messages: [{ key: alert.alert_id, value: codec.encode(alert) }],
    });
    await producer.disconnect();
    const seen: string[] = [];
    const subscription = await subscribeAlerts({
      ...secure,
      sasl: { mechanism: 'plain', username: 'tollgate-alerts', password: secretOf(secure) },
      topic: ctx.topics.alerts,
      groupId: `${ctx.topicPrefix}alerts.dashboard`,
      fromBeginning: true,
      onAlert: (received) => {
        seen.push(received.alert_id);
      },
    });
    try {
      await eventually(async () => seen.includes(alert.alert_id));
    } finally {
      await subscription.close();
    }
  });
});
