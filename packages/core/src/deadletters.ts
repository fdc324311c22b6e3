/**
 * Dead letters: what a stage publishes to tollgate.dlq.v1 when it cannot handle a message. The original
 * key and bytes travel untouched, with the stage, a stable reason code and a reason naming the field and
 * rule, so an operator can fix the producer and replay. Nothing is dropped silently.
 */
import type { Codec, DecodeResult } from './avro/codec.ts';
import type { DeadLetter } from './contract/types.ts';

export interface DeadLetterSource {
  topic: string;
  partition: number;
  /** Kafka offset as the client gives it (a decimal string). */
  offset: string;
  key: Uint8Array | null;
  /** The original message value; null (a tombstone) is kept as an empty payload. */
  value: Uint8Array | null;
}

export interface CreateDeadLetterOptions {
  /** The stage giving up: ingest, pricer, sink, detector. */
  stage: string;
  /** Stable machine code: not_single_object, unknown_fingerprint, corrupt, invariant_violated, … */
  reasonCode: string;
  reason: string;
  source: DeadLetterSource;
  /** When the stage gave up, epoch milliseconds; defaults to now. */
  failedAtMs?: number;
}

const EMPTY = new Uint8Array(0);

export function createDeadLetter({
  stage,
  reasonCode,
  reason,
  source,
  failedAtMs = Date.now(),
}: CreateDeadLetterOptions): DeadLetter {
  return {
    stage,
    reason_code: reasonCode,
    reason,
    source_topic: source.topic,
    source_partition: source.partition,
    source_offset: source.offset,
    key: source.key,
    payload: source.value ?? EMPTY,
    failed_at: failedAtMs,
  };
}

/** The dead letter for a message that did not decode: the decode failure's code is the reason code. */
export function deadLetterForDecodeFailure(
  stage: string,
  failure: Extract<DecodeResult<unknown>, { ok: false }>,
  source: DeadLetterSource,
  failedAtMs?: number,
): DeadLetter {
  return createDeadLetter({ stage, reasonCode: failure.code, reason: failure.reason, source, failedAtMs });
}

/** The dead letter for an event that broke a contract invariant (see validateUsageEvent). */
export function deadLetterForInvariant(
  stage: string,
  violation: { field: string; rule: string },
  source: DeadLetterSource,
  failedAtMs?: number,
): DeadLetter {
  return createDeadLetter({
    stage,
    reasonCode: 'invariant_violated',
    reason: `${violation.field}: ${violation.rule}`,
    source,
    failedAtMs,
  });
}

/** A Kafka message for tollgate.dlq.v1 (Avro DeadLetter, keyed like the source message). */
export function deadLetterMessage(
  codec: Codec<DeadLetter>,
  letter: DeadLetter,
): { key: Buffer | null; value: Buffer } {
  const key =
    letter.key == null
      ? null
      : Buffer.isBuffer(letter.key)
        ? letter.key
        : Buffer.from(letter.key.buffer, letter.key.byteOffset, letter.key.byteLength);
  return { key, value: codec.encode(letter) };
}
