/**
 * `tollgate dlq replay --stage STAGE`: hands dead letters back to their stage once a fix (a pricer or
 * sink that knows a newer schema, a rate card, a bug fix) lets it handle them. Letters come from
 * ClickHouse's dead_letters (what the sink stored from the DLQ topic), one per source message; each one
 * handled is recorded in dead_letter_replays, so running the command again handles nothing twice.
 * - pricer: published again, byte for byte, to the usage topic and partition they came from, recorded
 *   after the broker acknowledged them. A run cut off between the acknowledgement and the record can
 *   publish a chunk again; the pricer drops those repeats (same event_id) inside its dedup window.
 * - sink: written to ClickHouse directly as the sink would have written them (same rows, the original
 *   source position), never to Kafka: the detector read the same priced topic and has counted them. A
 *   letter whose rows are already stored (a run cut off after its insert) is only recorded.
 */

import {
  type ClickHouse,
  createAlertCodec,
  createClickHouse,
  createPricedCodec,
  formatDateTime,
  type Producer,
  silentLogger,
  TOPIC_NAMES,
  TollgateError,
} from '@tollgate/core';
import {
  alertRow,
  checkAlert,
  checkPricedEvent,
  keyFromText,
  lineItemRows,
  type Row,
  runEventRow,
} from '@tollgate/sink/rows';
import { cliKafka, reachKafka } from '../kafka.ts';
import { printTable, usageError } from '../output.ts';
import type { ProgramDeps } from '../program.ts';
import {
  type DeadLetterFilter,
  type PendingDeadLetter,
  pendingDeadLettersQuery,
  pendingDeadLettersSummaryQuery,
  REPLAY_SOURCE_TOPICS,
  replayRow,
  storedPositionsQuery,
} from './dlq-queries.ts';
import { reportRange } from './report-command.ts';

/**
 * Only the pricer's letters go back to Kafka: the usage topic has one consumer, the pricer, and a message
 * it dead-lettered was counted nowhere. A message the sink or the detector refused sits on the priced
 * topic, which the other of the two read and counted; publishing it again would count it twice there.
 * So the sink's letters go straight into ClickHouse, and the detector's are not replayed.
 */
export const REPLAYABLE_STAGES = ['pricer', 'sink'] as const;

const WHY_NOT: Record<string, string> = {
  ingest: "ingest's dead letters were an HTTP caller's bad input: the caller resends them",
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
  const stage = flags.stage as (typeof REPLAYABLE_STAGES)[number];
  const filter: DeadLetterFilter = {
    stage,
    sourceTopics: REPLAY_SOURCE_TOPICS[stage],
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
      ['reason_code', stage === 'sink' ? 'from topic' : 'back to topic', 'messages'],
      waiting.map((row) => [row.reason_code, row.source_topic, row.messages]),
      out,
    );
    if (flags.dryRun) {
      out.write(`(--dry-run: nothing ${stage === 'sink' ? 'written' : 'published'})\n`);
      return;
    }
    if (stage === 'sink') {
      const { stored, refused } = await storeAll(clickhouse, filter, flags.chunk, (done) =>
        out.write(`  stored ${done}/${total}\n`),
      );
      out.write(`stored ${stored} dead letters in ClickHouse; recorded in dead_letter_replays\n`);
      if (refused.size > 0) {
        const lines = [...refused].map(([reason, n]) => `${n} × ${reason}`);
        throw new TollgateError(
          `${total - stored} dead letters are still refused and stay waiting:\n  ${lines.join('\n  ')}`,
          { code: 'TG_DLQ_STILL_REFUSED' },
        );
      }
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

/** What the sink would have stored for a letter, or why it still cannot. */
type SinkRows = { ok: true; tables: [table: string, rows: Row[]][] } | { ok: false; reason: string };

function sinkRows(
  letter: PendingDeadLetter,
  codecs: { priced: ReturnType<typeof createPricedCodec>; alerts: ReturnType<typeof createAlertCodec> },
  insertedAt: string,
): SinkRows {
  const payload = Buffer.from(letter.payload_base64, 'base64');
  const source = {
    topic: letter.source_topic,
    partition: letter.source_partition,
    offset: letter.source_offset,
  };
  if (letter.source_topic.endsWith(TOPIC_NAMES.alerts)) {
    const decoded = codecs.alerts.decode(payload);
    if (!decoded.ok) return { ok: false, reason: `${decoded.code}: ${decoded.reason}` };
    const check = checkAlert(decoded.value);
    if (!check.ok) return { ok: false, reason: `invalid_alert: ${check.field}: ${check.rule}` };
    return { ok: true, tables: [['alerts', [alertRow(decoded.value, source, insertedAt)]]] };
  }
  const decoded = codecs.priced.decode(payload);
  if (!decoded.ok) return { ok: false, reason: `${decoded.code}: ${decoded.reason}` };
  const check = checkPricedEvent(decoded.value);
  if (!check.ok) return { ok: false, reason: `invalid_priced_event: ${check.field}: ${check.rule}` };
  const run = runEventRow(decoded.value, source, insertedAt);
  return {
    ok: true,
    tables: [
      ['line_items', lineItemRows(decoded.value, source, insertedAt)],
      ['run_events', run === undefined ? [] : [run]],
    ],
  };
}

/**
 * Writes the sink's letters to ClickHouse chunk after chunk, each chunk's rows then its records; letters
 * that still do not decode or check stay waiting (skipped past, counted by reason).
 */
async function storeAll(
  clickhouse: ClickHouse,
  filter: DeadLetterFilter,
  chunk: number,
  progress: (done: number) => void,
): Promise<{ stored: number; refused: Map<string, number> }> {
  const codecs = { priced: createPricedCodec(), alerts: createAlertCodec() };
  const refused = new Map<string, number>();
  let stored = 0;
  let skip = 0;
  for (;;) {
    const letters = await clickhouse.rows<PendingDeadLetter>(pendingDeadLettersQuery(filter, chunk, skip));
    if (letters.length === 0) return { stored, refused };
    const at = new Date();
    const present = new Set(
      (await clickhouse.rows<PendingDeadLetter>(storedPositionsQuery(letters))).map(position),
    );
    const rows = new Map<string, Row[]>();
    const done: PendingDeadLetter[] = [];
    for (const letter of letters) {
      const outcome = sinkRows(letter, codecs, formatDateTime(at));
      if (!outcome.ok) {
        refused.set(outcome.reason, (refused.get(outcome.reason) ?? 0) + 1);
        skip += 1;
        continue;
      }
      if (!present.has(position(letter)))
        for (const [table, tableRows] of outcome.tables)
          rows.set(table, [...(rows.get(table) ?? []), ...tableRows]);
      done.push(letter);
    }
    for (const [table, tableRows] of rows)
      if (tableRows.length > 0) await clickhouse.insert(table, tableRows);
    if (done.length > 0)
      await clickhouse.insert(
        'dead_letter_replays',
        done.map((letter) => replayRow(letter, -1, '-1', at)),
      );
    stored += done.length;
    progress(stored);
  }
}

const position = (letter: Pick<PendingDeadLetter, 'source_topic' | 'source_partition' | 'source_offset'>) =>
  `${letter.source_topic}\u0000${letter.source_partition}\u0000${letter.source_offset}`;

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
