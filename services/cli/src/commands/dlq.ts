/**
 * `tollgate dlq replay --stage STAGE`: publishes dead letters again, byte for byte, to the topic and
 * partition they came from, once a fix (a pricer that knows a newer schema, a rate card, a bug fix) lets
 * the stage handle them. Letters come from ClickHouse's dead_letters (what the sink stored from the DLQ
 * topic), one per source message; each one published is recorded in dead_letter_replays after the broker
 * acknowledged it, so running the command again publishes nothing twice. A run cut off between the
 * acknowledgement and the record can publish a chunk again; the pricer drops those repeats (same
 * event_id) as long as they fall inside its dedup window.
 */

import { type ClickHouse, createClickHouse, type Producer, silentLogger } from '@tollgate/core';
import { keyFromText } from '@tollgate/sink/rows';
import { cliKafka, reachKafka } from '../kafka.ts';
import { printTable, usageError } from '../output.ts';
import type { ProgramDeps } from '../program.ts';
import {
  type DeadLetterFilter,
  type PendingDeadLetter,
  pendingDeadLettersQuery,
  pendingDeadLettersSummaryQuery,
  replayRow,
} from './dlq-queries.ts';
import { reportRange } from './report-command.ts';

/**
 * Only the pricer's letters go back to Kafka: the usage topic has one consumer, the pricer, and a message
 * it dead-lettered was counted nowhere. A message the sink or the detector refused sits on the priced
 * topic, which the other of the two read and counted; publishing it again would count it twice there.
 */
export const REPLAYABLE_STAGES = ['pricer'] as const;

const WHY_NOT: Record<string, string> = {
  ingest: "ingest's dead letters were an HTTP caller's bad input: the caller resends them",
  sink: 'the detector has already counted what the sink refused: publishing it again would count it twice',
  detector: 'the sink has already stored what the detector refused: publishing it again would store it twice',
};

export interface ReplayFlags {
  stage: string;
  reasonCode?: string;
  since: string;
  from?: string;
  to?: string;
  /** Source messages per produce request and per dead_letter_replays insert. */
  chunk: number;
  dryRun: boolean;
}

export async function runReplay(
  deps: ProgramDeps,
  flags: ReplayFlags,
  out: NodeJS.WritableStream,
): Promise<void> {
  if (!(REPLAYABLE_STAGES as readonly string[]).includes(flags.stage)) {
    const why = WHY_NOT[flags.stage];
    throw usageError(
      `--stage must be ${REPLAYABLE_STAGES.join(', ')}, got ${JSON.stringify(flags.stage)}${why === undefined ? '' : `: ${why}`}`,
    );
  }
  const filter: DeadLetterFilter = {
    stage: flags.stage,
    reasonCode: flags.reasonCode,
    ...reportRange(flags),
  };
  const clickhouse = createClickHouse({ ...deps.config.clickhouse, logger: silentLogger() });
  try {
    const waiting = await clickhouse.rows<{ reason_code: string; source_topic: string; messages: string }>(
      pendingDeadLettersSummaryQuery(filter),
    );
    const total = waiting.reduce((n, row) => n + Number(row.messages), 0);
    out.write(
      `dead letters of stage ${flags.stage}${flags.reasonCode ? ` (${flags.reasonCode})` : ''} received ${filter.from.toISOString()} → ${filter.to.toISOString()}, not replayed yet: ${total}\n`,
    );
    if (total === 0) return;
    printTable(
      ['reason_code', 'back to topic', 'messages'],
      waiting.map((row) => [row.reason_code, row.source_topic, row.messages]),
      out,
    );
    if (flags.dryRun) {
      out.write('(--dry-run: nothing published)\n');
      return;
    }
    await reachKafka(deps.config.kafka, [...new Set(waiting.map((row) => row.source_topic))]);
    const producer = cliKafka(deps.config.kafka, 'tollgate-dlq-replay').producer({ idempotent: true });
    await producer.connect();
    try {
      const replayed = await replayAll(clickhouse, producer, filter, flags.chunk, (done) =>
        out.write(`  replayed ${done}/${total}\n`),
      );
      out.write(`replayed ${replayed} dead letters; recorded in dead_letter_replays\n`);
    } finally {
      await producer.disconnect();
    }
  } finally {
    await clickhouse.close();
  }
}

/** Publishes and records chunk after chunk until nothing waits; returns how many were published. */
async function replayAll(
  clickhouse: ClickHouse,
  producer: Producer,
  filter: DeadLetterFilter,
  chunk: number,
  progress: (done: number) => void,
): Promise<number> {
  let done = 0;
  for (;;) {
    const letters = await clickhouse.rows<PendingDeadLetter>(pendingDeadLettersQuery(filter, chunk));
    if (letters.length === 0) return done;
    const offsets = await publish(producer, letters);
    const at = new Date();
    await clickhouse.insert(
      'dead_letter_replays',
      letters.map((letter, i) => replayRow(letter, letter.source_partition, offsets[i] ?? '-1', at)),
    );
    done += letters.length;
    progress(done);
  }
}

/** Sends the letters to their source topic and partition; the offset each got, in the letters' order. */
async function publish(producer: Producer, letters: PendingDeadLetter[]): Promise<string[]> {
  const topics = [...new Set(letters.map((letter) => letter.source_topic))];
  const metadata = await producer.sendBatch({
    acks: -1,
    topicMessages: topics.map((topic) => ({
      topic,
      messages: letters
        .filter((letter) => letter.source_topic === topic)
        .map((letter) => ({
          partition: letter.source_partition,
          key: keyFromText(letter.key),
          value: Buffer.from(letter.payload_base64, 'base64'),
        })),
    })),
  });
  // kafkajs answers one base offset per topic-partition; its messages follow in the order sent.
  const next = new Map(
    metadata.map((m) => [`${m.topicName}\u0000${m.partition}`, BigInt(m.baseOffset ?? '-1')]),
  );
  return letters.map((letter) => {
    const slot = `${letter.source_topic}\u0000${letter.source_partition}`;
    const offset = next.get(slot) ?? -1n;
    next.set(slot, offset + 1n);
    return String(offset);
  });
}
