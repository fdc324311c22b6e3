/**
 * The statements of `tollgate dlq replay`: which dead letters are waiting for a replay, and what
 * dead_letter_replays records once they are published again. Same SQL on 18.16 and current ClickHouse.
 */
import { formatDateTime, type Sql, sql, TOPIC_NAMES } from '@tollgate/core';

export interface DeadLetterFilter {
  stage: string;
  reasonCode?: string | undefined;
  from: Date;
  to: Date;
}

/** One source message waiting for a replay (several dead letters of one message are one row). */
export interface PendingDeadLetter {
  source_topic: string;
  source_partition: number;
  source_offset: string;
  stage: string;
  reason_code: string;
  key: string;
  payload_base64: string;
}

function conditions(filter: DeadLetterFilter): Sql {
  const reason = filter.reasonCode === undefined ? sql`1` : sql`reason_code = ${filter.reasonCode}`;
  // Only messages of a usage topic (any TOPIC_PREFIX): its one consumer is the pricer (see dlq.ts).
  // Ingest's letters have no Kafka origin (source_partition -1): they were an HTTP request's bad input.
  return sql`stage = ${filter.stage} AND ${reason} AND received_at >= ${filter.from} AND received_at < ${filter.to}
  AND endsWith(source_topic, ${TOPIC_NAMES.usage}) AND source_partition >= 0
  AND (source_topic, source_partition, source_offset) NOT IN
      (SELECT source_topic, source_partition, source_offset FROM dead_letter_replays)`;
}

/** The waiting source messages, in source order, at most `limit`. */
export function pendingDeadLettersQuery(filter: DeadLetterFilter, limit: number): Sql {
  // The filter runs in a subquery: on 18.16 an alias of the outer SELECT (any(stage) AS stage) would
  // stand for the column in the WHERE beside it.
  return sql`SELECT source_topic, source_partition, source_offset,
  any(stage) AS stage, any(reason_code) AS reason_code, any(key) AS key, any(payload_base64) AS payload_base64
FROM (SELECT * FROM dead_letters WHERE ${conditions(filter)})
GROUP BY source_topic, source_partition, source_offset
ORDER BY source_topic, source_partition, source_offset
LIMIT ${limit}`;
}

/** How many source messages wait, by reason and topic: what `--dry-run` prints. */
export function pendingDeadLettersSummaryQuery(filter: DeadLetterFilter): Sql {
  return sql`SELECT reason_code, source_topic, uniqExact(source_partition, source_offset) AS messages
FROM dead_letters
WHERE ${conditions(filter)}
GROUP BY reason_code, source_topic
ORDER BY reason_code, source_topic`;
}

/** The dead_letter_replays row of a letter published again at `partition`/`offset`. */
export function replayRow(letter: PendingDeadLetter, partition: number, offset: string, at: Date) {
  return {
    source_topic: letter.source_topic,
    source_partition: letter.source_partition,
    source_offset: letter.source_offset,
    stage: letter.stage,
    reason_code: letter.reason_code,
    replayed_at: formatDateTime(at),
    replay_partition: partition,
    replay_offset: offset,
  };
}
