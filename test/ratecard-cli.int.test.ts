/**
 * `tollgate ratecard list` and `tollgate ratecard show` against the real broker: the cards that
 * `ratecard publish` put on the topic, read back as a pricer reads them; a later message a pricer would
 * refuse is named while the card before it stays listed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { loadRateCardFile, topicSpecs } from '@tollgate/core';
import {
  createTestContext,
  produceMessages,
  repoRoot,
  runCli,
  skipIntegration,
  type TestContext,
} from './support/index.ts';

describe('tollgate ratecard list and show', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let env: Record<string, string>;
  const file = `${repoRoot}/ratecards/default.yaml`;

  before(async () => {
    ctx = await createTestContext({ partitions: 1 });
    await ctx.createTopics(topicSpecs(ctx.topics, 1).filter((spec) => spec.name === ctx.topics.rateCards));
    env = { KAFKA_BROKERS: ctx.brokers.join(','), TOPIC_PREFIX: ctx.topicPrefix };
  });
  after(() => ctx.cleanup());

  const cli = async (...args: string[]) => {
    const result = await runCli(env, ...args);
    assert.equal(result.code, 0, result.stdout);
    return result.stdout;
  };

  it('says what pricers use when the topic holds no card', async () => {
    assert.match(
      await cli('ratecard', 'list'),
      /^no rate cards on \S+: pricers price with their RATE_CARD_FILE/,
    );
  });

  it('lists a published card with its versions and the one in force, and shows it as published', async () => {
    await cli('ratecard', 'publish', file);
    const card = await loadRateCardFile(file);
    const table = await cli('ratecard', 'list');
    const newest = card.versions.at(-1)!;
    assert.match(table, new RegExp(`│ default │ USD +│ ${newest.version} from \\S+ +│ ${newest.version} +│`));
    assert.match(table, new RegExp(`│ ${card.contentHash.slice(0, 12)} │`));
    const json = JSON.parse(await cli('ratecard', 'list', '--json'));
    assert.equal(json.cards[0].sha256, card.contentHash);
    assert.equal(json.cards[0].version_in_force, newest.version);

    assert.equal(await cli('ratecard', 'show', 'default', '--yaml'), readFileSync(file, 'utf8'));
    assert.match(
      await cli('ratecard', 'show', 'default'),
      new RegExp(`^rate card default \\(USD\\), sha256 ${card.contentHash}\\n`),
    );
    const missing = await runCli(env, 'ratecard', 'show', 'enterprise');
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, 'tollgate: no rate card enterprise on the topic; it holds default\n');
  });

  it('names a later message a pricer would refuse, and keeps listing the card before it', async () => {
    await produceMessages(ctx.kafka, ctx.topics.rateCards, [
      { key: 'default', value: 'id: default\ncurrency: usd\nversions: []\n' },
    ]);
    const table = await cli('ratecard', 'list');
    assert.match(table, /│ default │ USD /);
    assert.match(
      table,
      /1 card id with a latest message pricers refuse or ignore \(the card before it, if any, stays in use\):\n {2}default at partition 0 offset \d+: .*currency/,
    );
  });
});
