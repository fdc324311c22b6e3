/** Dead letters of the detector: the untouched input with where it came from and why it was refused. */
import {
  type Codec,
  createDeadLetter,
  type DeadLetter,
  deadLetterMessage,
  type Message,
} from '@tollgate/core';
import type { DetectorMetrics } from './metrics.ts';
import type { InputMessage } from './runtime/stage.ts';

export function deadLetter(
  codec: Codec<DeadLetter>,
  stage: string,
  message: InputMessage,
  reasonCode: string,
  reason: string,
  now: number,
): Message {
  const letter = createDeadLetter({
    stage,
    reasonCode,
    reason,
    source: {
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
      key: message.key,
      value: message.value,
    },
    failedAtMs: now,
  });
  return deadLetterMessage(codec, letter);
}

/**
 * A record of the detector's own repartition topics that does not parse (a bug, or another version's
 * writer): dead-lettered as `bad_internal_record` and counted, so the stage goes on with the rest.
 */
export function badInternalRecord(
  codec: Codec<DeadLetter>,
  metrics: Pick<DetectorMetrics, 'deadLetters'>,
  stage: string,
  message: InputMessage,
  reason: string,
  now: number,
): Message {
  metrics.deadLetters.inc({ stage, reason: 'bad_internal_record' });
  return deadLetter(codec, 'detector', message, 'bad_internal_record', reason, now);
}
