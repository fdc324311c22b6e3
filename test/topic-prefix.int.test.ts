/**
 * A second Tollgate on a shared cluster: with TOPIC_PREFIX set, the CLI provisions and publishes under
 * the prefix, as the services read under it, and never touches the unprefixed topics.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { databaseExists } from '@tollgate/core';
import { readTopic } from '../packages/sdk/src/test-consumer.ts';
import { createTestContext, repoRoot, runCli, skipIntegration, type TestContext } from './support/index.ts';

describe('TOPIC_PREFIX in the CLI', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let env: Record<string, string>;
  before(async () => {
    ctx = await createTestContext({ partitions: 2 });
    env = {
      KAFKA_BROKERS: ctx.brokers.join(','),
      CLICKHOUSE_URL: ctx.clickhouseUrl,
      CLICKHOUSE_DATABASE: ctx.database,
      TOPIC_PREFIX: ctx.topicPrefix,
    };
  });
  after(async () => {
    await ctx.createTopics(); // registers the provisioned topics for deletion
    await ctx.clickhouse(); // and the database
    await ctx.cleanup();
  });

  it('provision --dry-run lists every topic and migration it would create, and creates nothing', async () => {
    const result = await runCli(env, 'provision', '--partitions', '2', '--dry-run');
    assert.equal(result.code, 0, result.stdout);
    assert.match(
      result.stdout,
      /topics: 11 to create, 0 already there; migrations: \d+ to apply, 0 already applied \(--dry-run: nothing changed\)/,
    );
    for (const topic of Object.values(ctx.topics))
      assert.match(result.stdout, new RegExp(`would create topic ${topic.replaceAll('.', '\\.')}\\n`));
    assert.match(result.stdout, new RegExp(`would create database ${ctx.database}\\n`));
    const admin = ctx.kafka.admin();
    await admin.connect();
    try {
      const topics = await admin.listTopics();
      assert.deepEqual(
        topics.filter((topic) => topic.startsWith(ctx.topicPrefix)),
        [],
      );
    } finally {
      await admin.disconnect();
    }
    assert.equal(
      await databaseExists({ url: ctx.clickhouseUrl, database: ctx.database, logger: ctx.logger }),
      false,
    );
  });

  it('provision creates every topic under the prefix', async () => {
    const result = await runCli(env, 'provision', '--partitions', '2');
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /topics: 11 created, 0 already there/);
    for (const topic of Object.values(ctx.topics))
      assert.match(result.stdout, new RegExp(`created topic ${topic.replaceAll('.', '\\.')}\\n`));
    const again = await runCli(env, 'provision', '--partitions', '2', '--dry-run');
    assert.match(
      again.stdout,
      /topics: 0 to create, 11 already there; migrations: 0 to apply, \d+ already applied/,
    );
  });

  it('ratecard publish writes the prefixed rate-card topic', async () => {
    const result = await runCli(env, 'ratecard', 'publish', `${repoRoot}/ratecards/default.yaml`);
    assert.equal(result.code, 0, result.stdout);
    const cards = await readTopic(ctx.kafka, ctx.topics.rateCards);
    assert.deepEqual(
      cards.map((card) => card.key),
      ['default'],
    );
  });

  it('acls default to the prefix too', async () => {
    const result = await runCli(env, 'acls', 'agent', '--principal', 'User:agent-eu');
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, new RegExp(`--topic ${ctx.topics.usage.replaceAll('.', '\\.')}\\n`));
  });
});
