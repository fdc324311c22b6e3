/** Dead letters of the detector: the untouched input with where it came from and why it was refused. */
import {
  type Codec,
  createDeadLetter,
  type DeadLetter,
  deadLetterMessage,
  type Message,
} from '@tollgate/core';
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
