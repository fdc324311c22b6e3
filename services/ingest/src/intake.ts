/**
 * What both routes do once a request is split into accepted events and rejections: encode the events as
 * Avro (keyed by run_id), wrap each rejection in a dead letter, publish everything in one ordered
 * publish, and count it.
 *
 * A rejected event is answered to the caller (their input, their fix, told synchronously) AND sent to
 * tollgate.dlq.v1 with the bytes they sent and the reason, so nothing is lost silently even when the
 * caller ignores the answer. Dead letters from ingest have no Kafka origin: `source_topic` names the
 * route (`ingest:/v1/events`), `source_partition` is -1 and `source_offset` is the event's index in
 * the request body.
 */
import {
  type Codec,
  createDeadLetter,
  type DeadLetter,
  deadLetterMessage,
  type Logger,
  type UsageEvent,
  ValidationError,
} from '@tollgate/core';
import type { IngestMetrics, IngestRoute } from './metrics.ts';
import type { OutgoingMessage, Publisher } from './publisher.ts';

export interface Rejection {
  /** Position in the request (array element, NDJSON value or span). */
  index: number;
  /** The event's id when it had a readable one. */
  eventId: string | null;
  /** Stable machine code: invalid_json, invalid_event, invariant_violated, invalid_span. */
  reasonCode: string;
  field: string;
  rule: string;
  /** The dead letter's key (the run id when known). */
  key: Buffer | null;
  /** What the producer sent for this event, untouched where the format allows. */
  payload: Buffer;
}

export interface IntakeTopics {
  usage: string;
  deadLetters: string;
}

export interface Intake {
  /**
   * Publishes and waits for Kafka's acknowledgement. Returns the final rejections: the ones given plus
   * events that did not fit the Avro schema (which validation should have caught). Throws only when
   * Kafka does not acknowledge (TG_INGEST_KAFKA_UNAVAILABLE).
   */
  submit(
    route: IngestRoute,
    accepted: { index: number; event: UsageEvent }[],
    rejected: Rejection[],
  ): Promise<{ accepted: number; rejected: Rejection[] }>;
}

export interface IntakeOptions {
  publisher: Publisher;
  usageCodec: Codec<UsageEvent>;
  deadLetterCodec: Codec<DeadLetter>;
  topics: IntakeTopics;
  metrics: IngestMetrics;
  logger: Logger;
  /** Clock for dead letters' failed_at; tests pin it. */
  nowMs?: () => number;
}

const ROUTE_PATH: Record<IngestRoute, string> = { events: '/v1/events', traces: '/v1/traces' };

export function createIntake({
  publisher,
  usageCodec,
  deadLetterCodec,
  topics,
  metrics,
  logger,
  nowMs = Date.now,
}: IntakeOptions): Intake {
  const log = logger.child({ component: 'intake' });

  return {
    async submit(route, accepted, rejected) {
      const messages: OutgoingMessage[] = [];
      const rejections = [...rejected];
      for (const { index, event } of accepted) {
        try {
          messages.push({
            topic: topics.usage,
            key: Buffer.from(event.run_id, 'utf8'),
            value: usageCodec.encode(event),
          });
        } catch (err) {
          if (!(err instanceof ValidationError)) throw err;
          rejections.push({
            index,
            eventId: event.event_id,
            reasonCode: 'invalid_event',
            field: err.field,
            rule: err.rule,
            key: Buffer.from(event.run_id, 'utf8'),
            payload: Buffer.from(JSON.stringify(event), 'utf8'),
          });
        }
      }
      const acceptedCount = messages.length;
      const failedAtMs = nowMs();
      rejections.sort((a, b) => a.index - b.index);
      for (const r of rejections) {
        const letter = createDeadLetter({
          stage: 'ingest',
          reasonCode: r.reasonCode,
          reason: `${r.field}: ${r.rule}`,
          source: {
            topic: `ingest:${ROUTE_PATH[route]}`,
            partition: -1,
            offset: String(r.index),
            key: r.key,
            value: r.payload,
          },
          failedAtMs,
        });
        messages.push({ topic: topics.deadLetters, ...deadLetterMessage(deadLetterCodec, letter) });
      }

      const stopTimer = metrics.publishSeconds.startTimer({ route });
      try {
        await publisher.publish(messages);
      } catch (err) {
        metrics.publishFailures.inc({ route });
        throw err;
      }
      stopTimer();
      if (acceptedCount > 0) metrics.events.inc({ route, outcome: 'accepted' }, acceptedCount);
      for (const r of rejections) metrics.rejections.inc({ route, reason_code: r.reasonCode });
      if (rejections.length > 0) {
        metrics.events.inc({ route, outcome: 'rejected' }, rejections.length);
        log.info(
          { route, accepted: acceptedCount, rejected: rejections.length, first: rejections[0]!.field },
          'events rejected and dead-lettered',
        );
      }
      return { accepted: acceptedCount, rejected: rejections };
    },
  };
}
