/**
 * `tollgate ratecard publish FILE` and `tollgate policy set|delete`: publish to the compacted topics
 * that running pricers and detectors follow. Both validate first and publish nothing on any error.
 */
import { readFile } from 'node:fs/promises';
import {
  type KafkaConnection,
  parseRateCard,
  RateCardError,
  TollgateError,
  type TopicNames,
} from '@tollgate/core';
import { type PolicyChange, parsePolicyDocuments, publishPolicyChanges } from '@tollgate/detector/set-policy';
import { publishRateCard } from '@tollgate/pricer/publish-ratecard';
import { cliKafka, reachKafka } from '../kafka.ts';

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
