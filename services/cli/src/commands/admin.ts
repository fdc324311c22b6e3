/**
 * `tollgate ratecard publish FILE` and `tollgate policy set|delete`: publish to the compacted topics
 * that running pricers and detectors follow. Both validate first and publish nothing on any error.
 * `tollgate ratecard check FILE…` validates only (no Kafka: for a rate card's pull request), and
 * `tollgate ratecard restate` re-prices a past range under a corrected card (adjustment events).
 */
import { readFile } from 'node:fs/promises';
import {
  type CompiledRateCard,
  formatIssue,
  type KafkaConnection,
  parseRateCard,
  RateCardError,
  TollgateError,
  type TopicNames,
} from '@tollgate/core';
import { type PolicyChange, parsePolicyDocuments, publishPolicyChanges } from '@tollgate/detector/set-policy';
import { publishRateCard } from '@tollgate/pricer/publish-ratecard';
import { reprice, repriceSummary } from '@tollgate/pricer/reprice';
import { cliKafka, reachKafka } from '../kafka.ts';
import { usageError } from '../output.ts';
import type { ProgramDeps } from '../program.ts';
import { parseTime } from './report-command.ts';

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TollgateError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code}`, {
      code: 'TG_CLI_USAGE',
    });
  }
}

export async function publishRateCardFile(
  connection: KafkaConnection,
  topics: TopicNames,
  file: string,
  out: NodeJS.WritableStream,
): Promise<void> {
  try {
    const text = await readText(file);
    const parsed = parseRateCard(text, file);
    if (!parsed.ok) throw new RateCardError(parsed.issues);
    await reachKafka(connection, [topics.rateCards]);
    const card = await publishRateCard({
      kafka: cliKafka(connection),
      topic: topics.rateCards,
      text,
      file,
    });
    out.write(
      `published rate card ${card.id} (versions ${card.versions.map((v) => v.version).join(', ')}; sha256 ${card.contentHash})\n` +
        'running pricers switch to it without a restart\n',
    );
  } catch (err) {
    if (err instanceof RateCardError) {
      throw new TollgateError(`${file} was not published:\n  ${err.message.split('\n').join('\n  ')}`, {
        code: 'TG_RATECARD_INVALID',
      });
    }
    throw err;
  }
}

/** One line per version and the overrides: what a reviewer checks a card change against. */
export function cardSummary(card: CompiledRateCard): string[] {
  const lines = [`rate card ${card.id} (${card.currency}), sha256 ${card.contentHash}`];
  for (const version of card.spec.versions) {
    const counts = (
      [
        ['model prices', version.models.length],
        ['tools', version.tools.length],
        ['sandboxes', version.sandboxes.length],
        ['retrieval', version.retrieval.length],
        ['embeddings', version.embeddings.length],
        ['egress', version.egress.length],
        ['service tiers', version.service_tiers.length],
      ] as const
    )
      .filter(([, n]) => n > 0)
      .map(([what, n]) => `${n} ${what}`);
    lines.push(
      `  version ${version.version} from ${new Date(version.effective_from).toISOString().replace('T00:00:00.000Z', '')}: ${counts.join(', ') || 'no prices'}`,
    );
  }
  const orgs = new Set(card.spec.overrides.map((override) => override.org_id));
  if (orgs.size > 0) lines.push(`  ${card.spec.overrides.length} overrides for ${orgs.size} orgs`);
  return lines;
}

/** Validates each file; prints a summary of each good one, and fails listing every problem of the rest. */
export async function checkRateCards(files: string[], out: NodeJS.WritableStream): Promise<void> {
  const problems: string[] = [];
  for (const file of files) {
    const parsed = parseRateCard(await readText(file), file);
    if (parsed.ok) out.write(`${file}: ${cardSummary(parsed.card).join('\n')}\n`);
    else problems.push(...parsed.issues.map(formatIssue));
  }
  if (problems.length > 0) {
    throw new TollgateError(
      `${problems.length} problem${problems.length === 1 ? '' : 's'}:\n  ${problems.join('\n  ')}`,
      { code: 'TG_RATECARD_INVALID' },
    );
  }
}

export interface RestateFlags {
  card: string;
  from: string;
  to: string;
  dryRun: boolean;
  partial: boolean;
}

/**
 * Re-prices the priced events of [from, to) under a corrected card and publishes the differences as
 * adjustment events (services/pricer/README.md, "Re-pricing"); a second run publishes nothing more.
 */
export async function restateRange(
  { config }: ProgramDeps,
  flags: RestateFlags,
  out: NodeJS.WritableStream,
): Promise<void> {
  const from = parseTime('--from', flags.from);
  const to = parseTime('--to', flags.to);
  if (from >= to) throw usageError('the range is empty: --from must be before --to');
  const parsed = parseRateCard(await readText(flags.card), flags.card);
  if (!parsed.ok) {
    throw new TollgateError(
      `${flags.card} is not a valid rate card:\n  ${parsed.issues.map(formatIssue).join('\n  ')}`,
      {
        code: 'TG_RATECARD_INVALID',
      },
    );
  }
  await reachKafka(config.kafka, [config.topics.priced]);
  out.write(
    `tollgate: re-pricing events of ${from.toISOString()} → ${to.toISOString()} under ${parsed.card.id}; reading ${config.topics.priced}\n`,
  );
  let lastLine = Date.now();
  const report = await reprice({
    kafka: cliKafka(config.kafka, 'tollgate-restate'),
    pricedTopic: config.topics.priced,
    groupIdPrefix: config.PRICER_GROUP_ID,
    card: parsed.card,
    fromMs: from.getTime(),
    toMs: to.getTime(),
    dryRun: flags.dryRun,
    partial: flags.partial,
    onRead: (read) => {
      if (Date.now() - lastLine < 2_000) return;
      lastLine = Date.now();
      out.write(`  read ${read.toLocaleString('en-US')} priced events\n`);
    },
  });
  out.write(`${repriceSummary(report, parsed.card, flags.dryRun).join('\n')}\n`);
}

export async function setPolicies(
  connection: KafkaConnection,
  topics: TopicNames,
  files: string[],
  out: NodeJS.WritableStream,
): Promise<void> {
  const changes: PolicyChange[] = [];
  const errors: string[] = [];
  for (const file of files) {
    const parsed = parsePolicyDocuments(file, await readText(file));
    if (parsed.ok) changes.push(...parsed.policies.map((set) => ({ set })));
    else errors.push(...parsed.errors);
  }
  if (errors.length > 0) {
    throw new TollgateError(`nothing was published:\n  ${errors.join('\n  ')}`, {
      code: 'TG_POLICY_INVALID',
    });
  }
  await reachKafka(connection, [topics.policies]);
  await publishPolicyChanges(cliKafka(connection), topics.policies, changes);
  for (const change of changes)
    if ('set' in change) out.write(`set ${change.set.kind} policy ${change.set.policy_id}\n`);
}

export async function deletePolicies(
  connection: KafkaConnection,
  topics: TopicNames,
  ids: string[],
  out: NodeJS.WritableStream,
): Promise<void> {
  await reachKafka(connection, [topics.policies]);
  await publishPolicyChanges(
    cliKafka(connection),
    topics.policies,
    ids.map((id) => ({ delete: id })),
  );
  for (const id of ids) out.write(`deleted policy ${id}\n`);
}
