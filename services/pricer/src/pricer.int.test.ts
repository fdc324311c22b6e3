/**
 * The pricer against the real broker, in process: pricing a stream, dead letters, a hot rate-card
 * switch, duplicates across a restart and a restatement. (The crash test runs main.ts as a child
 * process: crash.int.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type CompiledRateCard,
  createDeadLetterCodec,
  createPricedEncoder,
  createRegistry,
  createUsageCodec,
  loadRateCardFile,
  parseRateCardOrThrow,
} from '@tollgate/core';
import type { DeadLetter } from '@tollgate/core/contract/types';
import { createTestContext, skipIntegration, type TestContext } from '@tollgate/test/support';
import { DEFAULT_RATE_CARD_FILE } from './config.ts';
import { createPricerMetrics, type PricerMetrics } from './metrics.ts';
import { createPricer, type Pricer } from './pricer.ts';
import { publishRateCard } from './publish-ratecard.ts';
import { createRateCardFeed, type RateCardFeed } from './ratecards.ts';
import { readToEnd } from './read-to-end.ts';
import { reprice } from './reprice.ts';
import { collectPriced, produceUsage, waitFor, workloadEvent, workloadTotalNanos } from './test-harness.ts';

interface Running {
  pricer: Pricer;
  feed: RateCardFeed;
  metrics: PricerMetrics;
  stop(): Promise<void>;
}

async function startPricer(ctx: TestContext, groupId: string, fallback: CompiledRateCard): Promise<Running> {
  const metrics = createPricerMetrics(createRegistry('pricer-test'));
  const feed = createRateCardFeed({
    kafka: ctx.kafka,
    topic: ctx.topics.rateCards,
    cardId: 'default',
    fallback,
    logger: ctx.logger,
    metrics,
    groupIdPrefix: groupId,
  });
  await feed.start();
  const pricer = createPricer({
    kafka: ctx.kafka,
    logger: ctx.logger,
    metrics,
    codecs: { usage: createUsageCodec(), priced: createPricedEncoder(), deadLetter: createDeadLetterCodec() },
    topics: { usage: ctx.topics.usage, priced: ctx.topics.priced, deadLetters: ctx.topics.deadLetters },
    groupId,
    rateCard: feed.current,
    dedupWindowOffsets: 10_000,
    sessionTimeoutMs: 10_000,
  });
  await pricer.start();
  return {
    pricer,
    feed,
    metrics,
    async stop() {
      await pricer.stop();
      await feed.stop();
    },
  };
}

type Metric = {
  get(): Promise<{ values: { value: number; labels: Partial<Record<string, string | number>> }[] }>;
};
/** A metric's value summed over the label sets matching `labels`. */
const counterValue = async (metric: Metric, labels: Record<string, string> = {}) =>
  (await metric.get()).values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);

describe('pricer against the real broker', { skip: skipIntegration, timeout: 180_000 }, () => {
  let defaultCard: CompiledRateCard;
  before(async () => {
    defaultCard = await loadRateCardFile(DEFAULT_RATE_CARD_FILE);
  });

  describe('a stream', () => {
    let ctx: TestContext;
    before(async () => {
      ctx = await createTestContext();
      await ctx.createTopics();
    });
    after(() => ctx.cleanup());

    it('prices every event once, keyed by run, with the card reference and the exact total', async () => {
      const events = Array.from({ length: 3_000 }, (_, i) => workloadEvent(i, 50));
      await produceUsage(ctx.kafka, ctx.topics.usage, events);
      const running = await startPricer(ctx, 'pricer-stream', defaultCard);
      const collected = await collectPriced(ctx.kafka, ctx.topics.priced);
      try {
        await waitFor(() => collected.read() >= 3_000, 60_000, '3,000 priced events');
        assert.equal(collected.events.size, 3_000);
        assert.ok([...collected.events.values()].every((e) => e.count === 1));
        assert.equal(collected.totalNanos(), workloadTotalNanos(3_000));
        const sample = collected.events.get('evt-1')!.event;
        assert.equal(sample.total_nanos, 5_775_000);
        assert.deepEqual(sample.rate_card, {
          id: 'default',
          version: '2026-11-28',
          content_hash: defaultCard.contentHash,
        });
        assert.equal(await counterValue(running.metrics.events), 3_000);
        assert.equal(await counterValue(running.metrics.unpricedLines), 0);
        // Keyed by run: each run's events sit on one partition of the priced topic, in order.
        const partitionsOfRun = new Map<string, Set<number>>();
        await readToEnd({
          kafka: ctx.kafka,
          topic: ctx.topics.priced,
          groupIdPrefix: 'check-keys',
          onMessage: (m) => {
            const run = m.key!.toString();
            partitionsOfRun.set(run, (partitionsOfRun.get(run) ?? new Set()).add(m.partition));
          },
        });
        assert.equal(partitionsOfRun.size, 50);
        assert.ok([...partitionsOfRun.values()].every((set) => set.size === 1));
      } finally {
        await collected.stop();
        await running.stop();
      }
    });
  });

  describe('bad events', () => {
    let ctx: TestContext;
    before(async () => {
      ctx = await createTestContext();
      await ctx.createTopics();
    });
    after(() => ctx.cleanup());

    it('sends undecodable and invalid events to the dead-letter topic and prices the rest', async () => {
      const invalid = workloadEvent(0);
      invalid.event_id = 'evt-invalid';
      invalid.model_call!.reasoning_tokens = invalid.model_call!.output_tokens + 1;
      const garbage = Buffer.from([0xc3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      await produceUsage(ctx.kafka, ctx.topics.usage, [
        workloadEvent(0),
        { key: 'run-0', value: garbage },
        invalid,
        workloadEvent(1),
      ]);
      const running = await startPricer(ctx, 'pricer-dlq', defaultCard);
      const collected = await collectPriced(ctx.kafka, ctx.topics.priced);
      try {
        await waitFor(() => collected.read() >= 2, 30_000, 'the two valid events');
        const letters: DeadLetter[] = [];
        const codec = createDeadLetterCodec();
        await waitFor(
          async () => {
            letters.length = 0;
            await readToEnd({
              kafka: ctx.kafka,
              topic: ctx.topics.deadLetters,
              groupIdPrefix: 'check-dlq',
              onMessage: (m) => {
                const decoded = codec.decode(m.value!);
                if (decoded.ok) letters.push(decoded.value);
              },
            });
            return letters.length >= 2;
          },
          30_000,
          'two dead letters',
          500,
        );
        const byCode = new Map(letters.map((l) => [l.reason_code, l]));
        const fingerprint = byCode.get('unknown_fingerprint');
        assert.ok(fingerprint, `reason codes: ${[...byCode.keys()]}`);
        assert.deepEqual(Buffer.from(fingerprint.payload), garbage);
        assert.equal(fingerprint.source_topic, ctx.topics.usage);
        assert.equal(fingerprint.stage, 'pricer');
        const violated = byCode.get('invariant_violated');
        assert.ok(violated);
        assert.match(violated.reason, /reasoning_tokens/);
        assert.ok(Number(violated.source_offset) >= 0);
        assert.deepEqual([...collected.events.keys()].sort(), ['evt-0', 'evt-1']);
        assert.equal(await counterValue(running.metrics.deadLetters), 2);
      } finally {
        await collected.stop();
        await running.stop();
      }
    });
  });

  describe('rate cards', () => {
    let ctx: TestContext;
    before(async () => {
      ctx = await createTestContext();
      await ctx.createTopics();
    });
    after(() => ctx.cleanup());

    it('switches a running pricer to a newly published card, and keeps it when a bad one follows', async () => {
      const running = await startPricer(ctx, 'pricer-cards', defaultCard);
      const collected = await collectPriced(ctx.kafka, ctx.topics.priced);
      try {
        await produceUsage(ctx.kafka, ctx.topics.usage, [workloadEvent(0)]);
        await waitFor(() => collected.read() >= 1, 30_000, 'the first event');
        assert.equal(collected.events.get('evt-0')!.event.rate_card.content_hash, defaultCard.contentHash);

        const text = `id: default
currency: USD
versions:
  - version: "2026-12-01"
    effective_from: 2024-01-01
    models:
      - { provider: openai, match: "gpt-4o*", input: "5.00", cache_read: "1.25", output: "10.00" }
`;
        const published = await publishRateCard({
          kafka: ctx.kafka,
          topic: ctx.topics.rateCards,
          text,
          file: 'new.yaml',
        });
        await waitFor(
          () => running.feed.current().contentHash === published.contentHash,
          30_000,
          'the card switch',
        );

        const next = workloadEvent(6); // the gpt-4o shape again
        await produceUsage(ctx.kafka, ctx.topics.usage, [next]);
        await waitFor(() => collected.read() >= 2, 30_000, 'the second event');
        const repriced = collected.events.get('evt-6')!.event;
        // 600 uncached × 5.00 = 3,000,000; 400 cached × 1.25 = 500,000; 100 out × 10.00 = 1,000,000.
        assert.equal(repriced.total_nanos, 4_500_000);
        assert.deepEqual(repriced.rate_card, {
          id: 'default',
          version: '2026-12-01',
          content_hash: published.contentHash,
        });

        // A bad card on the topic (bypassing the publisher's check) is rejected; the good one stays.
        const producer = ctx.kafka.producer({ idempotent: true });
        await producer.connect();
        await producer.send({
          topic: ctx.topics.rateCards,
          messages: [{ key: 'default', value: text.replace('"5.00"', '"five"') }],
        });
        await producer.disconnect();
        await waitFor(
          async () => (await counterValue(running.metrics.rateCardsRejected)) === 1,
          30_000,
          'the rejection',
        );
        assert.equal(running.feed.current().contentHash, published.contentHash);

        // A restarted pricer starts with the newest good card on the topic, not the fallback.
        const restartedFeed = createRateCardFeed({
          kafka: ctx.kafka,
          topic: ctx.topics.rateCards,
          cardId: 'default',
          fallback: defaultCard,
          logger: ctx.logger,
          metrics: createPricerMetrics(createRegistry('restarted')),
          groupIdPrefix: 'restarted',
        });
        await restartedFeed.start();
        assert.equal(restartedFeed.current().contentHash, published.contentHash);
        await restartedFeed.stop();
      } finally {
        await collected.stop();
        await running.stop();
      }
    });

    it('refuses to publish a bad card, naming the problem', async () => {
      await assert.rejects(
        publishRateCard({
          kafka: ctx.kafka,
          topic: ctx.topics.rateCards,
          text: 'id: x\ncurrency: usd\nversions: []\n',
          file: 'bad.yaml',
        }),
        (err: Error & { code?: string }) =>
          err.code === 'TG_RATECARD_INVALID' && /bad\.yaml:2: currency/.test(err.message),
      );
    });
  });

  describe('duplicates and restatement', () => {
    let ctx: TestContext;
    before(async () => {
      ctx = await createTestContext();
      await ctx.createTopics();
    });
    after(() => ctx.cleanup());

    it('drops a retried event_id even when the retry arrives after a restart', async () => {
      const first = await startPricer(ctx, 'pricer-dup', defaultCard);
      const collected = await collectPriced(ctx.kafka, ctx.topics.priced);
      try {
        const events = Array.from({ length: 30 }, (_, i) => workloadEvent(i, 1)); // one run: one partition
        await produceUsage(ctx.kafka, ctx.topics.usage, events);
        await waitFor(() => collected.read() >= 30, 30_000, '30 priced events');
        await first.stop();
        // The producer retries two events it never saw acknowledged, then sends a new one.
        await produceUsage(ctx.kafka, ctx.topics.usage, [events[3]!, events[17]!, workloadEvent(30, 1)]);
        const second = await startPricer(ctx, 'pricer-dup', defaultCard);
        try {
          await waitFor(() => collected.events.has('evt-30'), 30_000, 'the new event');
          await new Promise((done) => setTimeout(done, 1_000));
          assert.equal(collected.read(), 31, 'the retries were dropped');
          assert.ok([...collected.events.values()].every((e) => e.count === 1));
          assert.equal(await counterValue(second.metrics.events, { outcome: 'duplicate' }), 2);
          assert.equal(await counterValue(second.metrics.events, { outcome: 'priced' }), 1);
        } finally {
          await second.stop();
        }
      } finally {
        await collected.stop();
      }
    });

    it('restates a time range under a corrected card as adjustment events', async () => {
      // The 31 events above (evt-0 … evt-30) are priced under the default card. Correct gpt-4o's input
      // from 2.50 to 2.00: each gpt-4o event (600 uncached tokens) changes by 600 × −0.50 = −300,000 nanos.
      const corrected = parseRateCardOrThrow(
        (await import('node:fs'))
          .readFileSync(DEFAULT_RATE_CARD_FILE, 'utf8')
          .replace(
            'match: [gpt-4o, "/^gpt-4o-\\\\d{4}-\\\\d{2}-\\\\d{2}$/"]\n        input: "2.50"',
            'match: [gpt-4o, "/^gpt-4o-\\\\d{4}-\\\\d{2}-\\\\d{2}$/"]\n        input: "2.00"',
          ),
        'corrected.yaml',
      );
      assert.notEqual(corrected.contentHash, defaultCard.contentHash, 'the correction must change the card');
      const from = Date.UTC(2026, 10, 3);
      const report = await reprice({
        kafka: ctx.kafka,
        pricedTopic: ctx.topics.priced,
        groupIdPrefix: 'reprice-test',
        card: corrected,
        fromMs: from,
        toMs: from + 24, // evt-0 … evt-23 (event_time = from + i)
      });
      // gpt-4o is every 6th event: evt-0, 6, 12, 18 in range.
      assert.equal(report.inRange, 24);
      assert.equal(report.adjusted, 4);
      assert.equal(report.published, 4);
      assert.equal(report.deltaNanos, -1_200_000n);

      const collected = await collectPriced(ctx.kafka, ctx.topics.priced);
      try {
        await waitFor(() => collected.read() >= 35, 30_000, 'originals and adjustments');
        const adjustments = [...collected.events.values()].filter((e) => e.event.adjustment_of !== null);
        assert.deepEqual(adjustments.map((a) => a.event.adjustment_of).sort(), [
          'evt-0',
          'evt-12',
          'evt-18',
          'evt-6',
        ]);
        assert.ok(adjustments.every((a) => a.event.total_nanos === -300_000));
        assert.equal(
          collected.events.get('evt-0')!.event.total_nanos,
          3_000_000,
          'what was billed stays visible',
        );
      } finally {
        await collected.stop();
      }
      const again = await reprice({
        kafka: ctx.kafka,
        pricedTopic: ctx.topics.priced,
        groupIdPrefix: 'reprice-test',
        card: corrected,
        fromMs: from,
        toMs: from + 24,
      });
      assert.equal(again.adjusted, 0, 'a second run under the same card adds nothing');
      assert.equal(again.published, 0);
    });
  });
});
