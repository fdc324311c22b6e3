/**
 * Tollgate against a secured Kafka listener, as production clusters run: TLS with a private CA and
 * SASL/PLAIN. The local broker's SASL_SSL listener (infra/src/kafka-secure.ts) is the cluster; every
 * client here gets only the variables a platform team would set (KAFKA_BROKERS, KAFKA_SSL,
 * KAFKA_SSL_CA_FILE, KAFKA_SASL_*), and the services are the real entry points.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  createKafka,
  type KafkaConnection,
  kafkaConfig,
  kafkaConnection,
  loadConfig,
  loadRateCardFile,
  silentLogger,
  z,
} from '@tollgate/core';
import { readTopic } from '../packages/sdk/src/test-consumer.ts';
import { executePlans } from '../services/cli/src/simulate/execute.ts';
import { createSimulationMeter, planFleet } from '../services/cli/src/simulate/index.ts';
import { costlyEvents, ledgerCost } from './support/expected.ts';
import {
  createTestContext,
  repoRoot,
  secureKafkaEnv,
  skipIntegration,
  type TestContext,
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

describe('Kafka with TLS and SASL', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let env: Record<string, string>;
  let secure: KafkaConnection;
  let pipeline: Pipeline | undefined;
  before(async () => {
    ctx = await createTestContext({ partitions: 3 });
    await ctx.createTopics();
    await ctx.clickhouse();
    env = await secureKafkaEnv();
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

  it('runs pricer, sink and detector on the secured listener: SDK usage arrives priced in ClickHouse', async () => {
    pipeline = await startPipeline(ctx, { services: ['pricer', 'sink', 'detector'], env });
    const card = await loadRateCardFile(`${repoRoot}/ratecards/default.yaml`);
    // The SDK's producer thread gets ssl and sasl too.
    const meter = createSimulationMeter({ ...secure, topic: ctx.topics.usage, card });
    const plans = planFleet({ preset: 'normal', runs: 8, seed: 11, orgs: ['acme'], features: ['f1'] }, 'tls');
    const ledgers = await executePlans({ meter, plans });
    await meter.close();

    // Everything went through the secured listener: the usage topic holds exactly what the SDK sent.
    const sent = ledgers.reduce((n, ledger) => n + ledger.events, 0);
    assert.equal((await readTopic(ctx.kafka, ctx.topics.usage)).length, sent);
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
});
