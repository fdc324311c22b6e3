/**
 * `tollgate ratecard restate` through the real pipeline: events priced under the default card are
 * corrected by a card with a lower price; the spend in ClickHouse moves by exactly the difference
 * (adjustment lines beside what was billed), --dry-run changes nothing, and a second run adds nothing.
 * `tollgate ratecard check` passes the corrected card and fails a broken one with its problems listed.
 * And `tollgate report` on the same spend, for an org that has none.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ClickHouse } from '@tollgate/core';
import { createMeter } from '@tollgate/sdk';
import {
  createTestContext,
  repoRoot,
  runCli,
  skipIntegration,
  type TestContext,
  uniqueId,
} from './support/index.ts';
import { eventually, type Pipeline, startPipeline } from './support/pipeline.ts';

/** Runs of one model call each: with run_start and run_end, three priced events a run. */
const RUNS = 5;
/** 1M uncached input tokens of gpt-4o: $2.50 under the default card, $2.00 under the corrected one. */
const BILLED_NANOS = 2_500_000_000n * BigInt(RUNS);
const CORRECTED_NANOS = 2_000_000_000n * BigInt(RUNS);

describe('tollgate ratecard restate and check', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let ch: ClickHouse;
  let pipeline: Pipeline;
  let env: Record<string, string>;
  const corrected = join(tmpdir(), `${uniqueId('corrected')}.yaml`);
  const broken = join(tmpdir(), `${uniqueId('broken')}.yaml`);
  const started = Date.now();

  before(async () => {
    ctx = await createTestContext({ partitions: 2 });
    await ctx.createTopics();
    ch = await ctx.clickhouse();
    pipeline = await startPipeline(ctx, { services: ['pricer', 'sink'] });
    env = {
      KAFKA_BROKERS: ctx.brokers.join(','),
      CLICKHOUSE_URL: ctx.clickhouseUrl,
      CLICKHOUSE_DATABASE: ctx.database,
      TOPIC_PREFIX: ctx.topicPrefix,
      PRICER_GROUP_ID: `${ctx.topicPrefix}pricer`,
    };
    const card = readFileSync(join(repoRoot, 'ratecards', 'default.yaml'), 'utf8');
    const gpt4o = 'match: [gpt-4o, "/^gpt-4o-\\\\d{4}-\\\\d{2}-\\\\d{2}$/"]\n        input: "2.50"';
    assert.ok(card.includes(gpt4o), "the default card's gpt-4o entry");
    writeFileSync(corrected, card.replace(gpt4o, gpt4o.replace('"2.50"', '"2.00"')));
    writeFileSync(broken, card.replace(gpt4o, gpt4o.replace('"2.50"', '"two fifty"')));

    const meter = createMeter({
      brokers: ctx.brokers,
      clientId: 'restate-test',
      topic: ctx.topics.usage,
      defaults: { org_id: 'acme', feature: 'restate' },
    });
    for (let i = 0; i < RUNS; i++) {
      const run = await meter.startRun();
      run.recordModelCall({
        provider: 'openai',
        model: 'gpt-4o',
        usage: { input_tokens: 1_000_000, output_tokens: 0 },
      });
      await run.end('success');
    }
    await meter.close();
    await eventually(async () => (await spend()).lines === RUNS, { describe: () => pipeline.logs(20) });
  });
  after(async () => {
    await pipeline?.stop();
    await ctx?.cleanup();
  });

  /** The org's spend as allocation reads it, and how many of its lines are billed vs. adjustments. */
  async function spend(): Promise<{ nanos: bigint; lines: number; adjustments: number }> {
    const [row] = await ch.rows<{ nanos: string; lines: string; adjustments: string }>(
      "SELECT toString(sum(cost_nanos)) AS nanos, countIf(adjustment_of = '') AS lines, countIf(adjustment_of != '') AS adjustments FROM line_items WHERE org_id = 'acme'",
    );
    return {
      nanos: BigInt(row?.nanos ?? 0),
      lines: Number(row?.lines),
      adjustments: Number(row?.adjustments),
    };
  }

  const range = () => [
    '--from',
    new Date(started - 3_600_000).toISOString(),
    '--to',
    new Date(Date.now() + 3_600_000).toISOString(),
  ];

  it('check passes the corrected card and lists the problem of a broken one', async () => {
    const good = await runCli(env, 'ratecard', 'check', corrected);
    assert.equal(good.code, 0, good.stdout);
    assert.match(good.stdout, /: rate card default \(USD\), sha256 [0-9a-f]{64}\n {2}version \S+ from /);
    const bad = await runCli(env, 'ratecard', 'check', corrected, broken);
    assert.equal(bad.code, 1, bad.stdout);
    assert.match(
      bad.stdout,
      new RegExp(`tollgate: 1 problem:\\n  ${broken}:\\d+: versions\\[0\\]\\.models\\[\\d+\\]\\.input: `),
    );
  });

  it('--dry-run prints the difference and changes nothing', async () => {
    assert.equal((await spend()).nanos, BILLED_NANOS);
    const result = await runCli(env, 'ratecard', 'restate', '--card', corrected, ...range(), '--dry-run');
    assert.equal(result.code, 0, result.stdout);
    assert.match(
      result.stdout,
      new RegExp(`dry run: re-priced ${3 * RUNS} events of \\d+ read under default`),
    );
    assert.match(
      result.stdout,
      new RegExp(`adjusted ${RUNS}, unchanged ${2 * RUNS}, skipped 0, published 0`),
    );
    assert.match(result.stdout, /difference -2\.5 USD/);
    await new Promise((done) => setTimeout(done, 2_000));
    assert.deepEqual(await spend(), { nanos: BILLED_NANOS, lines: RUNS, adjustments: 0 });
  });

  it('restates: spend moves by the difference, what was billed stays, a rerun adds nothing', async () => {
    const result = await runCli(env, 'ratecard', 'restate', '--card', corrected, ...range());
    assert.equal(result.code, 0, result.stdout);
    assert.match(
      result.stdout,
      new RegExp(`adjusted ${RUNS}, unchanged ${2 * RUNS}, skipped 0, published ${RUNS}`),
    );
    await eventually(async () => (await spend()).adjustments === RUNS, { describe: () => pipeline.logs(20) });
    assert.deepEqual(await spend(), { nanos: CORRECTED_NANOS, lines: RUNS, adjustments: RUNS });

    const again = await runCli(env, 'ratecard', 'restate', '--card', corrected, ...range());
    assert.equal(again.code, 0, again.stdout);
    assert.match(again.stdout, new RegExp(`adjusted 0, unchanged ${3 * RUNS}, skipped 0, published 0`));
    await new Promise((done) => setTimeout(done, 2_000));
    assert.deepEqual(await spend(), { nanos: CORRECTED_NANOS, lines: RUNS, adjustments: RUNS });
  });

  it('report: an org with no spend in the range (a typo) is one line naming the orgs that have some', async () => {
    const result = await runCli(env, 'report', '--org', 'acme,acmee', '--section', 'categories');
    assert.equal(result.code, 0, result.stdout);
    assert.match(
      result.stdout,
      /=== org acmee ===\nno spend recorded in this range \(orgs with spend in it: acme\)\n/,
    );
    assert.match(result.stdout, /=== org acme ===\n\nSpend by cost category\n/);
  });

  it('refuses an empty range and a broken card before reading anything', async () => {
    const empty = await runCli(
      env,
      'ratecard',
      'restate',
      '--card',
      corrected,
      '--from',
      '2026-12-02',
      '--to',
      '2026-12-01',
    );
    assert.equal(empty.code, 1);
    assert.match(empty.stdout, /tollgate: the range is empty: --from must be before --to/);
    const bad = await runCli(env, 'ratecard', 'restate', '--card', broken, ...range());
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /is not a valid rate card:\n {2}.*input: /);
  });

  // Last: it deletes records of the priced topic, as retention would.
  it('refuses a range whose start retention has deleted, unless --partial; a range after what was deleted is complete', async () => {
    const admin = ctx.kafka.admin();
    await admin.connect();
    let partition: number;
    try {
      const offsets = await admin.fetchTopicOffsets(ctx.topics.priced);
      const busiest = offsets.sort((a, b) => Number(b.high) - Number(a.high))[0]!;
      partition = busiest.partition;
      // Everything but the last record (a transaction marker) goes, as a retention pass would.
      await admin.deleteTopicRecords({
        topic: ctx.topics.priced,
        partitions: [{ partition, offset: String(Number(busiest.high) - 1) }],
      });
    } finally {
      await admin.disconnect();
    }
    const refused = await runCli(env, 'ratecard', 'restate', '--card', corrected, ...range(), '--dry-run');
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(
      refused.stdout,
      new RegExp(
        `^tollgate: ${ctx.topics.priced.replaceAll('.', '\\.')} no longer holds every event from \\S+: retention deleted the start of partition ${partition} \\(from offset \\d+\\).*--partial`,
        'm',
      ),
    );

    const partial = await runCli(
      env,
      'ratecard',
      'restate',
      '--card',
      corrected,
      ...range(),
      '--dry-run',
      '--partial',
    );
    assert.equal(partial.code, 0, partial.stdout);
    assert.match(
      partial.stdout,
      new RegExp(`partial: partition ${partition} lost events of the range to retention before this ran`),
    );

    // From now on: the partition still keeps a record older than that, so nothing of the range is gone.
    const later = await runCli(
      env,
      'ratecard',
      'restate',
      '--card',
      corrected,
      '--from',
      new Date().toISOString(),
      '--to',
      new Date(Date.now() + 3_600_000).toISOString(),
      '--dry-run',
    );
    assert.equal(later.code, 0, later.stdout);
    assert.doesNotMatch(later.stdout, /partial/);
  });
});
