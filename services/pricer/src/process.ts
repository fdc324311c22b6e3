/**
 * One batch of usage messages from one partition → the priced events and dead letters to publish in
 * its transaction. Pure apart from the dedup window it advances: no I/O, no clock (priced_at comes
 * in), so the pricer's decisions are testable without a broker.
 *
 * Each message ends in exactly one of:
 * - replayed: below the committed offset, already handled by an earlier transaction; it only feeds
 *   the dedup window (see dedup.ts);
 * - duplicate: a valid event whose (org_id, event_id) is in the window; dropped, counted;
 * - dead letter: undecodable, invalid, unpriceable (cost overflow) or too large once priced, with the
 *   original bytes and the reason; the partition moves on;
 * - priced: one PricedEvent, keyed by run_id.
 */
import {
  type Codec,
  type CompiledRateCard,
  createDeadLetter,
  deadLetterForDecodeFailure,
  deadLetterForInvariant,
  deadLetterMessage,
  type PricedEncoder,
  price,
  type SlabBlock,
  type SlabPool,
  validateUsageEvent,
} from '@tollgate/core';
import type { DeadLetter, PricedEvent, UsageEvent } from '@tollgate/core/contract/types';
import type { DedupWindow } from './dedup.ts';

export const STAGE = 'pricer';

export interface SourceMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

export interface Codecs {
  usage: Codec<UsageEvent>;
  /** Copies the usage message's body into the priced event when its schema allows (core's priced-encoder.ts). */
  priced: PricedEncoder;
  deadLetter: Codec<DeadLetter>;
}

export interface BatchContext {
  codecs: Codecs;
  card: CompiledRateCard;
  window: DedupWindow;
  topic: string;
  partition: number;
  /** Messages below this offset were handled by a committed transaction: they only feed the window. */
  committedOffset: number;
  pricedAtMs: number;
  /** A priced event larger than this (encoded) could not be produced: it is dead-lettered instead. */
  maxPricedBytes?: number;
  /**
   * Where the priced events are encoded (their blocks come back in `blocks`, to be released once
   * they are sent); by default each gets a buffer of its own.
   */
  slabs?: SlabPool;
}

export interface OutMessage {
  /** A string is produced as its UTF-8. */
  key: Buffer | string | null;
  value: Buffer;
}

export interface BatchResult {
  priced: OutMessage[];
  /** The slab blocks the priced values are views of (empty without `slabs`). */
  blocks: SlabBlock[];
  deadLetters: OutMessage[];
  /** Sum of the priced events' totals, nanos. */
  totalNanos: bigint;
  counts: {
    priced: number;
    duplicates: number;
    replayed: number;
    unpricedLines: number;
    deadLetters: Map<string, number>;
  };
}

const EMPTY = Buffer.alloc(0);

export function processMessages(messages: readonly SourceMessage[], ctx: BatchContext): BatchResult {
  const {
    codecs,
    card,
    window,
    topic,
    partition,
    committedOffset,
    pricedAtMs,
    maxPricedBytes = 900 * 1024,
    slabs,
  } = ctx;
  const result: BatchResult = {
    priced: [],
    blocks: [],
    deadLetters: [],
    totalNanos: 0n,
    counts: { priced: 0, duplicates: 0, replayed: 0, unpricedLines: 0, deadLetters: new Map() },
  };
  const deadLetter = (letter: DeadLetter) => {
    result.deadLetters.push(deadLetterMessage(codecs.deadLetter, letter));
    result.counts.deadLetters.set(
      letter.reason_code,
      (result.counts.deadLetters.get(letter.reason_code) ?? 0) + 1,
    );
  };

  for (const message of messages) {
    const offset = Number(message.offset);
    const replay = offset < committedOffset;
    const source = { topic, partition, offset: message.offset, key: message.key, value: message.value };
    const decoded = codecs.usage.decode(message.value ?? EMPTY);
    if (!decoded.ok) {
      if (!replay) deadLetter(deadLetterForDecodeFailure(STAGE, decoded, source, pricedAtMs));
      else result.counts.replayed++;
      continue;
    }
    const event = decoded.value;
    const valid = validateUsageEvent(event);
    if (!valid.ok) {
      if (!replay) deadLetter(deadLetterForInvariant(STAGE, valid, source, pricedAtMs));
      else result.counts.replayed++;
      continue;
    }
    const duplicate = window.seen(event.org_id, event.event_id, offset);
    if (replay) {
      result.counts.replayed++;
      continue;
    }
    if (duplicate) {
      result.counts.duplicates++;
      continue;
    }
    const outcome = price(event, card);
    if (!outcome.ok) {
      deadLetter(
        createDeadLetter({
          stage: STAGE,
          reasonCode: outcome.code,
          reason: outcome.reason,
          source,
          failedAtMs: pricedAtMs,
        }),
      );
      continue;
    }
    const pricing = outcome.value;
    const pricedEvent: PricedEvent = {
      usage: event,
      line_items: pricing.line_items,
      total_nanos: pricing.total_nanos,
      currency: pricing.currency,
      has_unpriced: pricing.has_unpriced,
      rate_card: pricing.rate_card,
      priced_at: pricedAtMs,
      adjustment_of: null,
    };
    let block: SlabBlock | undefined;
    const value = slabs
      ? codecs.priced.encode(pricedEvent, message.value, (length) => {
          block = slabs.allocate(length);
          return slabs.view(block);
        })
      : codecs.priced.encode(pricedEvent, message.value);
    if (value.length > maxPricedBytes) {
      if (block) slabs?.release([block], true);
      const reason = `priced event is ${value.length} bytes, over the ${maxPricedBytes}-byte message limit`;
      deadLetter(
        createDeadLetter({
          stage: STAGE,
          reasonCode: 'priced_too_large',
          reason,
          source,
          failedAtMs: pricedAtMs,
        }),
      );
      continue;
    }
    if (block) result.blocks.push(block);
    // The key as a string: kafkajs writes its UTF-8 into the record, no Buffer per message.
    result.priced.push({ key: event.run_id, value });
    result.totalNanos += BigInt(pricing.total_nanos);
    result.counts.priced++;
    if (pricing.has_unpriced)
      for (const line of pricing.line_items) if (!line.priced) result.counts.unpricedLines++;
  }
  return result;
}
