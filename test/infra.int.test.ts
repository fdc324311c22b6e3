import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigResourceTypes, sql } from '@tollgate/core';
import { infraDown, infraStatus, infraUp, type ProvisionOptions, provision } from '@tollgate/infra';
import { isAlive } from '@tollgate/infra/processes';
import type { InfraSettings } from '@tollgate/infra/settings';
import { createTestContext, repoRoot, skipIntegration, type TestContext } from './support/index.ts';

describe('local infrastructure', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  before(async () => {
    ctx = await createTestContext({ partitions: 2 });
    await ctx.createTopics();
  });
  after(() => ctx.cleanup());

  it('produces and consumes through the real broker, compacted topics keep the latest value per key', async () => {
    const producer = ctx.kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({
      topic: ctx.topics.rateCards,
      messages: [
        { key: 'default', value: 'v1' },
        { key: 'default', value: 'v2' },
        { key: 'acme', value: 'a1' },
      ],
    });
    await producer.send({ topic: ctx.topics.usage, messages: [{ key: 'run-1', value: 'hello' }] });
    await producer.disconnect();

    const consumer = ctx.kafka.consumer({ groupId: `${ctx.database}-g` });
    await consumer.connect();
    await consumer.subscribe({ topics: [ctx.topics.rateCards, ctx.topics.usage], fromBeginning: true });
    const seen: { topic: string; key: string; value: string; timestampType: number }[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ topic, message }) => {
            seen.push({ topic, key: String(message.key), value: String(message.value), timestampType: 0 });
            if (seen.length === 4) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    assert.deepEqual(
      seen.filter((m) => m.topic === ctx.topics.rateCards).map((m) => `${m.key}=${m.value}`),
      ['default=v1', 'default=v2', 'acme=a1'],
    );
    assert.deepEqual(
      seen.filter((m) => m.topic === ctx.topics.usage).map((m) => m.value),
      ['hello'],
    );

    const admin = ctx.kafka.admin();
    await admin.connect();
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [ctx.topics.rateCards, ctx.topics.usage].map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
      })),
    });
    await admin.disconnect();
    const byTopic = new Map(
      configs.resources.map((r) => [
        r.resourceName,
        new Map(r.configEntries.map((e) => [e.configName, e.configValue])),
      ]),
    );
    assert.equal(byTopic.get(ctx.topics.rateCards)?.get('cleanup.policy'), 'compact');
    assert.equal(byTopic.get(ctx.topics.usage)?.get('cleanup.policy'), 'delete');
    for (const topic of [ctx.topics.rateCards, ctx.topics.usage]) {
      assert.equal(byTopic.get(topic)?.get('message.timestamp.type'), 'LogAppendTime', topic);
    }
  });

  it('round-trips rows through the real ClickHouse', async () => {
    const ch = await ctx.clickhouse();
    await ch.insert('dead_letters', [
      {
        received_at: '2026-11-28 10:00:00',
        stage: 'pricer',
        reason_code: 'decode_failed',
        reason: "it's \\ broken",
        source_topic: 't',
        source_partition: 1,
        source_offset: '42',
        key: 'run-1',
        payload_base64: 'AAEC',
        dlq_partition: 0,
        dlq_offset: '7',
      },
    ]);
    const rows = await ch.rows<{ reason: string; source_offset: string }>(
      sql`SELECT reason, source_offset FROM dead_letters WHERE reason = ${"it's \\ broken"}`,
    );
    assert.deepEqual(rows, [{ reason: "it's \\ broken", source_offset: '42' }]);
  });

  it('provisions once however often it runs: topics created, migrations recorded once each', async () => {
    const fresh = await createTestContext({ partitions: 2 });
    try {
      const options = provisionOptions(fresh, { partitions: 2 });
      const first = await provision(options);
      assert.deepEqual(first.created.sort(), Object.values(fresh.topics).sort());
      assert.ok(first.applied.length > 0);
      const second = await provision(options);
      assert.deepEqual(second.created, []);
      assert.deepEqual(second.existing.sort(), Object.values(fresh.topics).sort());
      assert.deepEqual(second.applied, []);
      assert.deepEqual(second.mismatches, []);
      const ch = await fresh.clickhouse();
      const rows = await ch.rows<{ name: string; n: string }>(
        'SELECT name, count() AS n FROM schema_migrations GROUP BY name',
      );
      assert.equal(rows.length, first.applied.length);
      for (const row of rows) assert.equal(row.n, '1', row.name);
    } finally {
      await fresh.createTopics(); // registers the provisioned topics for deletion
      await fresh.cleanup();
    }
  });

  it('refuses more replicas than the cluster has brokers, naming each topic and the broker error', async () => {
    const fresh = await createTestContext();
    try {
      await assert.rejects(
        provision(provisionOptions(fresh, { replicationFactor: 3 })),
        new RegExp(
          `^TollgateError: kafka create topics failed: INVALID_REPLICATION_FACTOR \\(.+\\) for 11 topics: .*${fresh.topics.usage.replaceAll('.', '\\.')}$`,
        ),
      );
    } finally {
      await fresh.cleanup();
    }
  });

  it('names every existing topic whose partitions or configs differ from what the services rely on', async () => {
    const admin = ctx.kafka.admin();
    await admin.connect();
    try {
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: ctx.topics.policies,
            configEntries: [{ name: 'cleanup.policy', value: 'delete' }],
          },
        ],
      });
    } finally {
      await admin.disconnect();
    }
    const { mismatches, created } = await provision(provisionOptions(ctx, { partitions: 3 }));
    assert.deepEqual(created, []);
    const keyed = [ctx.topics.usage, ctx.topics.priced, ctx.topics.featureRepartition];
    for (const topic of keyed)
      assert.ok(mismatches.includes(`${topic}: has 2 partitions, Tollgate expects 3`), topic);
    assert.ok(
      mismatches.includes(`${ctx.topics.policies}: cleanup.policy is delete, Tollgate expects compact`),
    );
    // AlterConfigs (not the incremental kind) replaces every config of a topic: LogAppendTime went too.
    assert.ok(
      mismatches.includes(
        `${ctx.topics.policies}: message.timestamp.type is CreateTime, Tollgate expects LogAppendTime`,
      ),
    );
    // 7 keyed topics with 2 partitions instead of 3, and the policy topic's two configs
    assert.equal(mismatches.length, 9, mismatches.join('\n'));
  });
});

/** Provisioning the topics and database of a test context, quietly. */
function provisionOptions(
  context: TestContext,
  extra: Pick<ProvisionOptions, 'partitions' | 'replicationFactor'>,
): ProvisionOptions {
  return {
    kafka: { brokers: context.brokers },
    clickhouse: { url: context.clickhouseUrl, database: context.database },
    root: repoRoot,
    topics: context.topics,
    progress: () => {},
    ...extra,
  };
}

function stackSettings(root: string, home: string): InfraSettings {
  return {
    root,
    home,
    kafkaPort: 29092,
    kafkaControllerPort: 29093,
    kafkaSecurePort: 29094,
    clickhouseHttpPort: 28123,
    clickhouseTcpPort: 29000,
    clickhouseHttpsPort: 28443,
    clickhouseDatabase: 'tollgate',
    allowApt: true,
    progress: () => {},
  };
}

describe('infra up twice, then down', { skip: skipIntegration }, () => {
  it('leaves no process it started running, and keeps the data', async () => {
    const home = mkdtempSync(join(tmpdir(), 'tollgate-infra-'));
    const settings = stackSettings(repoRoot, home);
    try {
      const first = await infraUp(settings);
      assert.equal(first.kafka.started, true);
      assert.equal(first.clickhouse.started, true);
      assert.ok(first.migrationsApplied.length > 0);
      const brokerLog = readFileSync(join(home, 'logs', 'kafka', 'server.log'), 'utf8');
      assert.match(brokerLog, /Kafka Server started/, 'the broker writes its own log');
      assert.doesNotMatch(readFileSync(join(home, 'logs', 'kafka', 'stdout.log'), 'utf8'), /SLF4J/);
      const second = await infraUp(settings);
      assert.equal(second.kafka.started, false, 'second up starts nothing');
      assert.equal(second.clickhouse.started, false);
      assert.equal(second.kafka.pid, first.kafka.pid);
      assert.deepEqual(second.migrationsApplied, []);
      assert.deepEqual(second.topicsCreated, []);

      const down = await infraDown(settings);
      assert.deepEqual(down.stopped.map((s) => s.pid).sort(), [first.kafka.pid, first.clickhouse.pid].sort());
      assert.equal(isAlive(first.kafka.pid), false, 'kafka pid is gone');
      assert.equal(isAlive(first.clickhouse.pid), false, 'clickhouse pid is gone');
      const status = await infraStatus(settings);
      assert.deepEqual(
        status.map((s) => [s.name, s.pid, s.answers]),
        [
          ['kafka', undefined, false],
          ['clickhouse', undefined, false],
        ],
      );
    } finally {
      await infraDown(settings, { wipe: true });
      rmSync(home, { recursive: true, force: true });
    }
  });
});
