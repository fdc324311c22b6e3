/**
 * The CLI's Kafka clients. A person waits on every command, so a broker that does not answer fails the
 * command within a few seconds (five retries from 100 ms) instead of kafkajs' thirty, and before any
 * work, topics are checked to exist: a missing one is named with what creates it.
 */
import { createKafka, type Kafka, type KafkaConnection, silentLogger, TollgateError } from '@tollgate/core';
import { readTopic } from '@tollgate/core/read-topic';

const CLI_RETRY = { initialRetryTime: 100, retries: 5 };

export function cliKafka(connection: KafkaConnection, clientId = 'tollgate-cli'): Kafka {
  return createKafka({ ...connection, clientId, logger: silentLogger(), retry: CLI_RETRY });
}

/**
 * Connects to the brokers and checks that `topics` exist (visible to this principal, on a cluster with
 * an authorizer). Throws the client's error when the brokers cannot be reached (explainFailure turns it
 * into one line), or a TollgateError naming the missing topics.
 */
export async function reachKafka(connection: KafkaConnection, topics: readonly string[]): Promise<void> {
  const admin = cliKafka(connection).admin();
  try {
    await admin.connect();
    if (topics.length === 0) return;
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      // With an authorizer a topic this principal may not describe is not listed either; asked for
      // directly, the broker answers TOPIC_AUTHORIZATION_FAILED for it, which is the error to show.
      await admin.fetchTopicMetadata({ topics: missing }).catch((err: { type?: string }) => {
        if (err?.type === 'TOPIC_AUTHORIZATION_FAILED') throw err;
      });
      throw new TollgateError(
        `Kafka at ${connection.brokers.join(',')} has no topic ${missing.join(', ')}; ` +
          'create the topics with `tollgate provision`, or check TOPIC_PREFIX',
        { code: 'TG_KAFKA_TOPIC_MISSING' },
      );
    }
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** One message of a topic, for readWholeTopic. */
export interface TopicMessage {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

/**
 * Reads a (small, compacted) topic from the beginning to its end offsets of now, in order per
 * partition, through a throwaway group starting with `groupIdPrefix` that commits nothing.
 */
export async function readWholeTopic(
  connection: KafkaConnection,
  topic: string,
  groupIdPrefix: string,
  onMessage: (message: TopicMessage) => void,
): Promise<void> {
  await reachKafka(connection, [topic]);
  const reader = await readTopic({
    kafka: cliKafka(connection),
    topic,
    groupIdPrefix,
    follow: false,
    caughtUpTimeoutMs: 60_000,
    logger: silentLogger(),
    onMessage: (partition, key, value, offset) => onMessage({ partition, offset, key, value }),
  });
  await reader.caughtUp;
}
