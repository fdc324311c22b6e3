/**
 * Re-prices a time range under a corrected rate card and publishes the differences as adjustment
 * events on the priced topic (restatement; see restate.ts). What was billed stays as it was.
 *
 *   node services/pricer/src/reprice.ts --card ratecards/corrected.yaml --from 2026-11-01 --to 2026-11-28 [--dry-run]
 *
 * It reads the priced topic (read_committed) rather than the usage topic: each priced event carries
 * the usage event exactly as it was priced (valid, duplicates already dropped) beside what it was
 * billed, and earlier adjustments are there too, so the difference is computed against what was
 * actually billed. The range selects by event_time (from inclusive, to exclusive). Rerunning with the
 * same card publishes nothing more: earlier adjustments already account for the difference.
 */
import { parseArgs } from 'node:util';
import {
  type Codec,
  type CompiledRateCard,
  createKafka,
  createLogger,
  createPricedCodec,
  errorMessage,
  type Kafka,
  kafkaConnection,
  keyPartitioner,
  loadConfig,
  loadRateCardFile,
  nanosToDecimalText,
  prefixedTopicNames,
  RateCardError,
  TollgateError,
} from '@tollgate/core';
import type { PricedEvent } from '@tollgate/core/contract/types';
import { commandConfigSchema } from './config.ts';
import { readToEnd } from './read-to-end.ts';
import { restate } from './restate.ts';
import { retryRetriable } from './retry.ts';

export interface RepriceOptions {
  kafka: Kafka;
  pricedTopic: string;
  groupIdPrefix: string;
  card: CompiledRateCard;
  fromMs: number;
  toMs: number;
  dryRun?: boolean;
  codec?: Codec<PricedEvent>;
  now?: () => number;
  /** Called with the messages read so far, every 10,000 (reading the priced topic is the long part). */
  onRead?: (read: number) => void;
  /**
   * Re-price what the topic still holds even when retention has deleted events of the range (see
   * retentionGaps); without it such a range is refused with TG_RESTATE_INCOMPLETE before anything is read.
   */
  partial?: boolean;
}

/** A partition whose deleted start may have held events of the range. */
export interface RetentionGap {
  partition: number;
  /** Records before this offset are gone (retention, or deleteRecords). */
  logStartOffset: string;
}

export interface RepriceReport {
  read: number;
  undecodable: number;
  inRange: number;
  unchanged: number;
  adjusted: number;
  /** Sum of the adjustments, nanos (negative: the corrected card is cheaper). */
  deltaNanos: bigint;
  /** Lines billed with a price that the corrected card cannot price (left as billed). */
  nowUnpriced: number;
  skipped: { eventId: string; reason: string }[];
  published: number;
  /** Partitions that may have lost events of the range before it was read (only with `partial`). */
  gaps: RetentionGap[];
}

/**
 * Which partitions of the priced topic may no longer hold every event with event_time ≥ fromMs.
 * Records are appended in LogAppendTime order, and an event is appended after it happened, so a
 * partition is complete for the range when nothing was ever deleted from it (log start offset 0) or
 * when it still keeps a record appended before fromMs (everything deleted is older still). Otherwise
 * retention may have taken events of the range.
 */
export async function retentionGaps(kafka: Kafka, topic: string, fromMs: number): Promise<RetentionGap[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const bounds = await retryRetriable(() => admin.fetchTopicOffsets(topic));
    const atFrom = await retryRetriable(() => admin.fetchTopicOffsetsByTimestamp(topic, fromMs));
    const firstAtFrom = new Map(atFrom.map((o) => [o.partition, BigInt(o.offset)]));
    return bounds
      .filter((b) => BigInt(b.low) > 0n && (firstAtFrom.get(b.partition) ?? BigInt(b.high)) <= BigInt(b.low))
      .map((b) => ({ partition: b.partition, logStartOffset: b.low }))
      .sort((a, b) => a.partition - b.partition);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

const key = (orgId: string, eventId: string) => `${orgId}\u0000${eventId}`;

export async function reprice(options: RepriceOptions): Promise<RepriceReport> {
  const { kafka, pricedTopic, card, fromMs, toMs, dryRun = false, now = Date.now } = options;
  const codec = options.codec ?? createPricedCodec();
  const originals = new Map<string, PricedEvent>();
  const adjustments = new Map<string, PricedEvent[]>();
  const report: RepriceReport = {
    read: 0,
    undecodable: 0,
    inRange: 0,
    unchanged: 0,
    adjusted: 0,
    deltaNanos: 0n,
    nowUnpriced: 0,
    skipped: [],
    published: 0,
    gaps: await retentionGaps(kafka, pricedTopic, fromMs),
  };
  if (report.gaps.length > 0 && !options.partial) {
    const partitions = report.gaps.map((gap) => `${gap.partition} (from offset ${gap.logStartOffset})`);
    throw new TollgateError(
      `${pricedTopic} no longer holds every event from ${new Date(fromMs).toISOString()}: retention deleted the start of partition${partitions.length === 1 ? '' : 's'} ${partitions.join(', ')}, and what it kept there is newer than the range's start; restate a range that starts later, or re-price only what the topic still holds with --partial (raise the topic's retention.ms, 7 days by default, to restate further back next time)`,
      { code: 'TG_RESTATE_INCOMPLETE', details: { topic: pricedTopic, gaps: report.gaps } },
    );
  }
  let read = 0;
  report.read = await readToEnd({
    kafka,
    topic: pricedTopic,
    groupIdPrefix: `${options.groupIdPrefix}-reprice`,
    onMessage: (message) => {
      if (++read % 10_000 === 0) options.onRead?.(read);
      const decoded = codec.decode(message.value ?? Buffer.alloc(0));
      if (!decoded.ok) {
        report.undecodable++;
        return;
      }
      const event = decoded.value;
      if (event.adjustment_of !== null) {
        const list = adjustments.get(key(event.usage.org_id, event.adjustment_of)) ?? [];
        list.push(event);
        adjustments.set(key(event.usage.org_id, event.adjustment_of), list);
      } else if (event.usage.event_time >= fromMs && event.usage.event_time < toMs) {
        originals.set(key(event.usage.org_id, event.usage.event_id), event);
      }
    },
  });
  report.inRange = originals.size;
  const outgoing: { key: string; value: Buffer }[] = [];
  const pricedAt = now();
  for (const [id, original] of originals) {
    const result = restate(original, adjustments.get(id) ?? [], card, pricedAt);
    if (result.kind === 'unchanged') {
      report.unchanged++;
      report.nowUnpriced += result.nowUnpriced;
    } else if (result.kind === 'skipped')
      report.skipped.push({ eventId: original.usage.event_id, reason: result.reason });
    else {
      report.adjusted++;
      report.deltaNanos += result.deltaNanos;
      report.nowUnpriced += result.nowUnpriced;
      outgoing.push({ key: original.usage.run_id, value: codec.encode(result.adjustment) });
    }
  }
  if (dryRun || outgoing.length === 0) return report;
  const producer = kafka.producer({ idempotent: true, createPartitioner: keyPartitioner });
  await producer.connect();
  try {
    for (let i = 0; i < outgoing.length; i += 1_000) {
      const chunk = outgoing.slice(i, i + 1_000);
      await producer.send({ topic: pricedTopic, acks: -1, messages: chunk });
      report.published += chunk.length;
    }
  } finally {
    await producer.disconnect();
  }
  return report;
}

/** What a restatement did, for people: counts, the difference, the first 20 events it skipped. */
export function repriceSummary(report: RepriceReport, card: CompiledRateCard, dryRun: boolean): string[] {
  const lines = [
    `${dryRun ? 'dry run: ' : ''}re-priced ${report.inRange} events of ${report.read} read under ${card.id} (sha256 ${card.contentHash})`,
    `  adjusted ${report.adjusted}, unchanged ${report.unchanged}, skipped ${report.skipped.length}, published ${report.published}`,
    `  difference ${nanosToDecimalText(report.deltaNanos)} ${card.currency}`,
  ];
  if (report.nowUnpriced > 0)
    lines.push(`  ${report.nowUnpriced} lines the corrected card cannot price were left as billed`);
  for (const s of report.skipped.slice(0, 20)) lines.push(`  skipped ${s.eventId}: ${s.reason}`);
  if (report.gaps.length > 0)
    lines.push(
      `  partial: partition${report.gaps.length === 1 ? '' : 's'} ${report.gaps.map((gap) => gap.partition).join(', ')} lost events of the range to retention before this ran; those were not re-priced`,
    );
  return lines;
}

function parseInstant(text: string, flag: string): number {
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(ms)) throw new Error(`${flag}: not a date or ISO 8601 instant: ${text}`);
  return ms;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      card: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      partial: { type: 'boolean', default: false },
    },
  });
  if (!values.card || !values.from || !values.to) {
    process.stderr.write('usage: reprice --card FILE --from DATE --to DATE [--dry-run] [--partial]\n');
    return 2;
  }
  const config = loadConfig(commandConfigSchema, process.env);
  const logger = createLogger({ name: 'reprice', level: config.LOG_LEVEL });
  try {
    const card = await loadRateCardFile(values.card);
    const kafka = createKafka({ ...kafkaConnection(config), clientId: 'tollgate-reprice', logger });
    const report = await reprice({
      kafka,
      pricedTopic: prefixedTopicNames(config.TOPIC_PREFIX).priced,
      groupIdPrefix: config.PRICER_GROUP_ID,
      card,
      fromMs: parseInstant(values.from, '--from'),
      toMs: parseInstant(values.to, '--to'),
      dryRun: values['dry-run'],
      partial: values.partial,
    });
    process.stdout.write(`${repriceSummary(report, card, values['dry-run']).join('\n')}\n`);
    return 0;
  } catch (err) {
    if (err instanceof RateCardError) process.stderr.write(`rate card rejected: ${err.message}\n`);
    else process.stderr.write(`reprice failed: ${errorMessage(err)}\n`);
    return 1;
  }
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
