/**
 * `tollgate ratecard list` and `tollgate ratecard show ID`: the rate cards on the compacted rate-card
 * topic, read back as a pricer reads them (services/pricer/src/ratecards.ts): the latest valid version
 * of each card id; a newer version that is not valid, or whose id does not match its key, is refused
 * and the one before stays in use; a tombstone is ignored by running pricers. Pricers follow the card
 * of their RATE_CARD_ID (default `default`) and price with the version in force at each event's time.
 */
import {
  CLI_RATECARDS_GROUP_ID,
  type CompiledRateCard,
  formatIssue,
  type KafkaConnection,
  parseRateCard,
  TollgateError,
  versionAt,
} from '@tollgate/core';
import { readWholeTopic, type TopicMessage } from '../kafka.ts';
import { printTable } from '../output.ts';
import { cardSummary } from './admin.ts';

export interface PublishedCard {
  card: CompiledRateCard;
  /** The YAML as published (comments included). */
  text: string;
  partition: number;
  offset: string;
}

export interface RefusedCard {
  key: string | null;
  partition: number;
  offset: string;
  reason: string;
}

export interface RateCardTopic {
  cards: PublishedCard[];
  /** Ids whose latest message running pricers refuse or ignore. */
  refused: RefusedCard[];
}

/** Applies the topic's messages in order, the pricer's way. */
export function rateCardTopic(): { topic: RateCardTopic; apply: (message: TopicMessage) => void } {
  const cards = new Map<string, PublishedCard>();
  const refused = new Map<string, RefusedCard>();
  return {
    topic: {
      get cards() {
        return [...cards.values()].sort((a, b) => a.card.id.localeCompare(b.card.id));
      },
      get refused() {
        return [...refused.values()];
      },
    },
    apply({ partition, offset, key, value }) {
      const id = key?.toString('utf8') ?? null;
      const refuse = (reason: string) => refused.set(id ?? '', { key: id, partition, offset, reason });
      if (value === null) return refuse('a tombstone: running pricers ignore it and keep the card');
      const text = value.toString('utf8');
      const parsed = parseRateCard(text, `${partition}@${offset}`);
      if (!parsed.ok) return refuse(parsed.issues.map(formatIssue).join('; '));
      if (parsed.card.id !== id) return refuse(`its id "${parsed.card.id}" does not match its key`);
      cards.set(id, { card: parsed.card, text, partition, offset });
      refused.delete(id);
    },
  };
}

export async function readRateCards(connection: KafkaConnection, topic: string): Promise<RateCardTopic> {
  const { topic: state, apply } = rateCardTopic();
  await readWholeTopic(connection, topic, CLI_RATECARDS_GROUP_ID, apply);
  return state;
}

const day = (ms: number) => new Date(ms).toISOString().replace('T00:00:00.000Z', '').replace('.000Z', 'Z');

export function printRateCardList(
  state: RateCardTopic,
  topic: string,
  json: boolean,
  out: NodeJS.WritableStream,
  nowMs = Date.now(),
): void {
  if (json) {
    const cards = state.cards.map(({ card, partition, offset }) => ({
      id: card.id,
      currency: card.currency,
      sha256: card.contentHash,
      versions: card.versions.map((v) => ({
        version: v.version,
        effective_from: new Date(v.effectiveFromMs).toISOString(),
      })),
      version_in_force: versionAt(card, nowMs)?.version ?? null,
      overrides: card.spec.overrides.length,
      partition,
      offset,
    }));
    out.write(`${JSON.stringify({ topic, cards, refused: state.refused }, null, 2)}\n`);
    return;
  }
  if (state.cards.length === 0)
    out.write(
      `no rate cards on ${topic}: pricers price with their RATE_CARD_FILE (ratecards/default.yaml unless set); publish one with \`tollgate ratecard publish FILE\`\n`,
    );
  else
    printTable(
      ['card', 'currency', 'versions', 'in force now', 'overrides', 'sha256'],
      state.cards.map(({ card }) => [
        card.id,
        card.currency,
        card.versions.map((v) => `${v.version} from ${day(v.effectiveFromMs)}`).join('\n'),
        versionAt(card, nowMs)?.version ?? '(none yet)',
        card.spec.overrides.length,
        card.contentHash.slice(0, 12),
      ]),
      out,
    );
  if (state.refused.length > 0) {
    out.write(
      `${state.refused.length} card id${state.refused.length === 1 ? '' : 's'} with a latest message pricers refuse or ignore (the card before it, if any, stays in use):\n`,
    );
    for (const r of state.refused)
      out.write(`  ${r.key ?? '(no key)'} at partition ${r.partition} offset ${r.offset}: ${r.reason}\n`);
  }
}

/** The card as published: a summary, then its YAML (`--yaml` for the YAML alone, to diff or republish). */
export function printRateCard(
  state: RateCardTopic,
  id: string,
  yamlOnly: boolean,
  out: NodeJS.WritableStream,
): void {
  const found = state.cards.find(({ card }) => card.id === id);
  if (!found) {
    const ids = state.cards.map(({ card }) => card.id);
    throw new TollgateError(
      `no rate card ${id} on the topic; ${ids.length > 0 ? `it holds ${ids.join(', ')}` : 'it holds none'}`,
      { code: 'TG_CLI_USAGE' },
    );
  }
  if (yamlOnly) {
    out.write(found.text.endsWith('\n') ? found.text : `${found.text}\n`);
    return;
  }
  out.write(`${cardSummary(found.card).join('\n')}\n`);
  out.write(`published at partition ${found.partition} offset ${found.offset}\n\n${found.text}`);
  if (!found.text.endsWith('\n')) out.write('\n');
}
