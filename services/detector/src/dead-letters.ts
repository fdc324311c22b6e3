/** Dead letters of the detector: the untouched input with where it came from and why it was refused. */
import type { Codec, DeadLetter, Message } from '@tollgate/core';
import type { InputMessage } from './runtime/stage.ts';

export function deadLetter(
  codec: Codec<DeadLetter>,
  stage: string,
  message: InputMessage,
  reasonCode: string,
  reason: string,
  now: number,
): Message {
  return {
    key: message.key,
    value: codec.encode({
      stage,
      reason_code: reasonCode,
      reason,
      source_topic: message.topic,
      source_partition: message.partition,
      source_offset: message.offset,
      key: message.key,
      payload: message.value ?? Buffer.alloc(0),
      failed_at: now,
    }),
  };
}
