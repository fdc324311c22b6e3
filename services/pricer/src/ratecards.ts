/**
 * The rate card in force, followed live from the compacted rate-card topic.
 *
 * - Messages are keyed by card id; the value is the card's YAML text (publish-ratecard.ts). The
 *   pricer follows one card id and ignores the others.
 * - At start the whole topic is read (a throwaway consumer group, no committed offsets) up to the
 *   end offsets seen at start, so the pricer begins with the newest published card. Until then,
 *   and when the topic holds no card of this id, the fallback (ratecards/default.yaml) is in use.
 * - A card that fails validation, or whose id does not match its key, is rejected with every
 *   problem logged; the last good card stays in use. A tombstone is ignored the same way.
 * - Each batch of usage events takes `current()` once, so one transaction is priced by one card.
 */
import { randomUUID } from 'node:crypto';
import {
  type CompiledRateCard,
  type Consumer,
  type Kafka,
  type Logger,
  parseRateCard,
  TollgateError,
  versionAt,
} from '@tollgate/core';
import type { PricerMetrics } from './metrics.ts';
import { retryRetriable } from './retry.ts';

export interface RateCardFeedOptions {
  kafka: Kafka;
  topic: string;
  cardId: string;
  fallback: CompiledRateCard;
  logger: Logger;
  metrics: PricerMetrics;
  /** Prefix of the throwaway consumer group's id. */
  groupIdPrefix: string;
  /** How long start() waits to read the topic to its end before failing. */
  catchUpTimeoutMs?: number;
  now?: () => number;
}

export interface RateCardFeed {
  /** Resolves once every card published before the call has been read. */
  start(): Promise<void>;
  current(): CompiledRateCard;
  caughtUp(): boolean;
  stop(): Promise<void>;
}

export function describeCard(card: CompiledRateCard, nowMs: number) {
  return {
    cardId: card.id,
    versions: card.versions.map((v) => v.version),
    versionInForce: versionAt(card, nowMs)?.version ?? null,
    contentHash: card.contentHash,
    source: card.source,
  };
}

export function createRateCardFeed(options: RateCardFeedOptions): RateCardFeed {
  const { kafka, topic, cardId, fallback, metrics, catchUpTimeoutMs = 30_000, now = Date.now } = options;
  const logger = options.logger.child({ component: 'ratecards', topic, cardId });
  let card = fallback;
  let consumer: Consumer | undefined;
  let caughtUp = false;

  function use(next: CompiledRateCard, reason: string): void {
    metrics.rateCardInfo.reset();
    metrics.rateCardInfo.set(
      {
        card_id: next.id,
        versions: next.versions.map((v) => v.version).join(','),
        content_hash: next.contentHash,
      },
      1,
    );
    card = next;
    logger.info({ ...describeCard(next, now()), reason }, 'rate card in use');
  }

  function receive(
    message: { key: Buffer | null; value: Buffer | null; offset: string },
    partition: number,
  ): void {
    if (message.key?.toString('utf8') !== cardId) return;
    const source = `${topic}[${partition}]@${message.offset}`;
    if (message.value === null) {
      logger.warn({ source }, 'rate card tombstone ignored; the current card stays in use');
      return;
    }
    const parsed = parseRateCard(message.value.toString('utf8'), source);
    if (!parsed.ok) {
      metrics.rateCardsRejected.inc();
      logger.error({ source, issues: parsed.issues }, 'rate card rejected; the last good card stays in use');
      return;
    }
    if (parsed.card.id !== cardId) {
      metrics.rateCardsRejected.inc();
      logger.error({ source, idInCard: parsed.card.id }, 'rate card rejected: its id does not match its key');
      return;
    }
    if (parsed.card.contentHash === card.contentHash) return;
    use(parsed.card, 'published');
  }

  return {
    async start() {
      use(fallback, 'fallback until the rate-card topic is read');
      const admin = kafka.admin();
      await admin.connect();
      let targets: Map<number, bigint>;
      try {
        const offsets = await retryRetriable(() => admin.fetchTopicOffsets(topic));
        targets = new Map(
          offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high)]),
        );
      } finally {
        await admin.disconnect();
      }
      const reached = new Map<number, bigint>();
      let signal: () => void = () => {};
      const done = new Promise<void>((resolve) => {
        signal = resolve;
      });
      const check = () => {
        for (const [partition, high] of targets) if ((reached.get(partition) ?? -1n) < high) return;
        caughtUp = true;
        signal();
      };
      check();
      consumer = kafka.consumer({
        groupId: `${options.groupIdPrefix}-ratecards-${randomUUID()}`,
        readUncommitted: false,
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        const level = payload.restart ? 'warn' : 'error';
        logger[level](
          { err: payload.error, restart: payload.restart },
          'rate-card consumer crashed; the current card stays in use',
        );
      });
      // END_BATCH_PROCESS also fires for batches of transaction markers only, which skip eachBatch.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        reached.set(payload.partition, BigInt(payload.lastOffset) + 1n);
        if (!caughtUp) check();
      });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) receive(message, batch.partition);
        },
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new TollgateError(
                `rate-card topic ${topic} not read to its end within ${catchUpTimeoutMs} ms`,
                {
                  code: 'TG_RATECARD_CATCH_UP',
                  retriable: true,
                },
              ),
            ),
          catchUpTimeoutMs,
        );
      });
      try {
        await Promise.race([done, timeout]);
      } finally {
        clearTimeout(timer);
      }
      if (card === fallback)
        logger.info({ contentHash: card.contentHash }, 'no published card of this id; using the fallback');
    },
    current: () => card,
    caughtUp: () => caughtUp,
    async stop() {
      await consumer?.disconnect();
    },
  };
}
