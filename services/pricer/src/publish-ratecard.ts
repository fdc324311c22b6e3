/**
 * Publishes a rate card to the compacted rate-card topic, keyed by its id. The card is validated
 * first: a bad card is never published (running pricers would reject it anyway, but an operator
 * should hear about it here). Running pricers following that id switch to it without a restart.
 *
 *   node services/pricer/src/publish-ratecard.ts ratecards/default.yaml
 *   (later: tollgate ratecard publish FILE)
 */
import { readFile } from 'node:fs/promises';
import {
  type CompiledRateCard,
  createKafka,
  createLogger,
  errorMessage,
  type Kafka,
  kafkaConnection,
  keyPartitioner,
  loadConfig,
  parseRateCard,
  prefixedTopicNames,
  RateCardError,
} from '@tollgate/core';
import { commandConfigSchema } from './config.ts';

export interface PublishRateCardOptions {
  kafka: Kafka;
  topic: string;
  /** The card's YAML text, published as written (comments included). */
  text: string;
  /** Where the text came from, for error messages. */
  file: string;
}

/** Validates and publishes; throws RateCardError (every problem listed) for a bad card. */
export async function publishRateCard({
  kafka,
  topic,
  text,
  file,
}: PublishRateCardOptions): Promise<CompiledRateCard> {
  const parsed = parseRateCard(text, file);
  if (!parsed.ok) throw new RateCardError(parsed.issues);
  const producer = kafka.producer({ idempotent: true, createPartitioner: keyPartitioner });
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: [
        {
          key: parsed.card.id,
          value: text,
          headers: { 'content-type': 'application/yaml', 'content-hash': parsed.card.contentHash },
        },
      ],
    });
  } finally {
    await producer.disconnect();
  }
  return parsed.card;
}

async function main(argv: string[]): Promise<number> {
  const file = argv[0];
  if (!file || argv.length !== 1) {
    process.stderr.write('usage: publish-ratecard FILE\n');
    return 2;
  }
  const config = loadConfig(commandConfigSchema, process.env);
  const logger = createLogger({ name: 'publish-ratecard', level: config.LOG_LEVEL });
  const topic = prefixedTopicNames(config.TOPIC_PREFIX).rateCards;
  const kafka = createKafka({ ...kafkaConnection(config), clientId: 'tollgate-publish-ratecard', logger });
  try {
    const card = await publishRateCard({ kafka, topic, text: await readFile(file, 'utf8'), file });
    process.stdout.write(
      `published rate card ${card.id} (versions ${card.versions.map((v) => v.version).join(', ')}; sha256 ${card.contentHash}) to ${topic}\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof RateCardError) {
      process.stderr.write(
        `rate card rejected, nothing published:\n${err.issues.map((i) => `  ${i.file}${i.line === undefined ? '' : `:${i.line}`}: ${i.path || '(card)'}: ${i.reason}`).join('\n')}\n`,
      );
      return 1;
    }
    process.stderr.write(`publish failed: ${errorMessage(err)}\n`);
    return 1;
  }
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
