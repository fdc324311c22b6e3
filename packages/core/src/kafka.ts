/**
 * The one module that touches kafkajs. Everything else asks this adapter for clients, so a change of
 * client library (or of its quirks) stays in one file.
 *
 * kafkajs 2.2.4 is patched on install (patches/kafkajs+2.2.4.patch, applied by patch-package): its
 * transactional producer looked the coordinator up (FindCoordinator) before each of the four
 * coordinator requests of a transaction, and a transaction begun right after a commit, which the
 * coordinator answers with CONCURRENT_TRANSACTIONS for a few milliseconds, waited out the client's
 * retry backoff (100 ms and more). The patch keeps each coordinator until a request to it fails and
 * retries that one request after 10 ms, as the Java producer does. `npm run bench -- transactions`:
 * 22.0 → 13.6 ms per transaction back to back, 10.5 → 6.7 requests per transaction. And every
 * connection's request queue ran a 1 ms timer loop for its whole life, pending requests or not
 * (kafkajs#1704, #1556; the cause of Node 24's TimeoutNegativeWarning): the patch schedules a check
 * only when a request waits or a throttle ends. An idle admin and producer: 3.5 → 0.3 % of a core.
 * The record codec is patched too (exact-size unzeroed buffers, varints written in place, Number
 * arithmetic for offsets and timestamps below 2^53, slicing-by-8 CRC32C, linear grouping by partition):
 * encode 3.7 → 1.1 µs and decode 0.5–0.9 → 0.2 µs per 367-byte record; kafka-codec.test.ts checks it
 * against the protocol spec. And a consumer kafkajs restarts after a crash (no broker answering its
 * metadata requests is one) rejoins its group as the member it was when it could not leave: as a new
 * member it waited for the old one to miss its session, so a stage was out for up to its session
 * timeout (30 s) after a broker restart; now it holds its partitions within seconds of the broker's
 * return (test/kafka-rejoin.int.test.ts).
 */
import kafkajs, { type Admin, type Kafka, type KafkaConfig, type LogEntry } from 'kafkajs';
import kafkajsErrors from 'kafkajs/src/protocol/error.js';
import type { AclRule } from './acls.ts';
import { TollgateError } from './errors.ts';
import type { KafkaConnection } from './kafka-connection.ts';
import type { Logger } from './logger.ts';
import type { TopicSpec } from './topics.ts';

export type { Admin, Consumer, EachBatchPayload, Kafka, Message, Producer } from 'kafkajs';
export * from './kafka-connection.ts';

// kafkajs is CommonJS and Node's ESM loader cannot see all of its named exports: take them from
// the default export, here, once.
const { Kafka: KafkaClient, logLevel: KafkaLogLevel } = kafkajs;
export const {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  CompressionTypes,
  ConfigResourceTypes,
  Partitioners,
  ResourcePatternTypes,
} = kafkajs;

export interface CreateKafkaOptions extends KafkaConnection {
  clientId: string;
  logger: Logger;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** kafkajs retry policy for its own requests; our stages add their own on top of it. */
  retry?: KafkaConfig['retry'];
}

const levelNames: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

/**
 * kafkajs warnings that do not apply to how Tollgate uses it, logged at debug rather than at every start:
 * - the v2 partitioner notice: Tollgate never ran kafkajs 1.x, and the v2 default (Java's murmur2) is the
 *   one it wants, so keys land on the partitions Java clients and Kafka Streams would pick;
 * - "Limiting retries … may invalidate EoS": a transactional producer's send that runs out of retries
 *   aborts its transaction, and a usage event re-sent by the SDK or ingest is deduplicated by the pricer
 *   (event_id). A dead letter re-sent after its retries ran out may be recorded twice: a record of a
 *   failure, never money.
 */
const ADVISORY_WARNINGS = [
  /^KafkaJS v2\.0\.0 switched default partitioner/,
  /^Limiting retries for the idempotent producer/,
];

/**
 * Broker errors kafkajs retries by itself (its error table's `retriable`: coordinator loading or moved,
 * leader elections, a transaction still completing). It logs each failed attempt at error level, and a
 * consumer that restarts on one as well; a service logs them as warnings, since the operation goes on.
 * The same for a broker it cannot connect to ("Connection error: connect ECONNREFUSED …", "Failed to
 * connect to seed broker, trying another broker …"), which it retries too. If the retries run out, the
 * caller's own error is the error line.
 */
const TRANSIENT_BROKER_ERRORS = new Set(
  kafkajsErrors.errorCodes.filter((code) => code.retriable).map((code) => code.message),
);

const CONNECTION_RETRIES =
  /^(Connection error: |Connection timeout|Failed to connect to seed broker, trying another broker)/;

function logLevelOf(level: number, text: string, fields: Record<string, unknown>) {
  if (level === KafkaLogLevel.WARN && ADVISORY_WARNINGS.some((pattern) => pattern.test(text))) return 'debug';
  if (level === KafkaLogLevel.ERROR) {
    const transient =
      (text.startsWith('Response ') && TRANSIENT_BROKER_ERRORS.has(String(fields.error))) ||
      (text.startsWith('Crash: KafkaJSProtocolError: ') &&
        TRANSIENT_BROKER_ERRORS.has(text.slice('Crash: KafkaJSProtocolError: '.length))) ||
      text.startsWith('Restarting the consumer in ') ||
      CONNECTION_RETRIES.test(text);
    if (transient) return 'warn';
  }
  return levelNames[level] ?? 'info';
}

export function createKafka({
  brokers,
  ssl,
  sasl,
  clientId,
  logger,
  connectionTimeoutMs = 3_000,
  requestTimeoutMs = 30_000,
  retry,
}: CreateKafkaOptions): Kafka {
  if (brokers.length === 0)
    throw new TollgateError('kafka: brokers must not be empty', { code: 'TG_CONFIG' });
  const log = logger.child({ component: 'kafkajs' });
  return new KafkaClient({
    brokers,
    ...(ssl === undefined || ssl === false ? {} : { ssl }),
    // A copy: kafkajs stores its authenticator on the sasl object it is given (closing over that object's
    // credentials), so a caller's object, once used and then spread with another password, would
    // authenticate with the first one.
    ...(sasl === undefined ? {} : { sasl: { ...sasl } }),
    clientId,
    connectionTimeout: connectionTimeoutMs,
    requestTimeout: requestTimeoutMs,
    retry: retry ?? { initialRetryTime: 100, retries: 8 },
    logLevel: KafkaLogLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, timestamp: _timestamp, logger: _logger, ...fields } = entry;
        const text = String(message);
        log[logLevelOf(level, text, fields)](fields, text);
      },
  });
}

/**
 * Creates the topics of `specs` that do not exist yet; existing topics are left alone (their configs are
 * not altered: topicMismatches reports what differs). `replicationFactor` -1 (the default) takes the
 * cluster's default.replication.factor, which is what a production cluster is set up with. With
 * `dryRun`, creates nothing: `created` is what would be.
 */
export async function ensureTopics(
  admin: Admin,
  specs: TopicSpec[],
  { replicationFactor = -1, dryRun = false }: { replicationFactor?: number; dryRun?: boolean } = {},
): Promise<{ created: string[]; existing: string[] }> {
  const present = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !present.has(spec.name));
  if (missing.length > 0 && !dryRun) {
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((spec) => ({
          topic: spec.name,
          numPartitions: spec.partitions,
          replicationFactor,
          configEntries: Object.entries(spec.config).map(([name, value]) => ({ name, value })),
        })),
      });
    } catch (err) {
      // kafkajs puts each topic's broker error in `errors`; the message alone says only "Topic creation errors".
      const errors = (err as { errors?: { topic?: string; type?: string; message?: string }[] }).errors;
      if (!Array.isArray(errors)) throw kafkaError('create topics', err);
      // Usually one cause for every topic (too many replicas, no permission): each said once.
      const byCause = new Map<string, string[]>();
      for (const e of errors) {
        const cause = e.type === undefined ? String(e.message) : `${e.type} (${e.message})`;
        byCause.set(cause, [...(byCause.get(cause) ?? []), String(e.topic)]);
      }
      const reasons = [...byCause]
        .map(
          ([cause, topics]) =>
            `${cause} for ${topics.length} topic${topics.length === 1 ? '' : 's'}: ${topics.sort().join(', ')}`,
        )
        .join('; ');
      throw new TollgateError(`kafka create topics failed: ${reasons}`, {
        code: 'TG_KAFKA_CREATE_TOPICS',
        cause: err,
      });
    }
  }
  return {
    created: missing.map((spec) => spec.name),
    existing: specs.filter((spec) => present.has(spec.name)).map((spec) => spec.name),
  };
}

/** The topic configs Tollgate relies on for correctness (retention by arrival, compaction of state). */
const CHECKED_TOPIC_CONFIGS = ['cleanup.policy', 'message.timestamp.type'];

/**
 * How existing topics differ from their specs where it matters: partition counts (the detector's
 * changelogs are partitioned like its input) and the configs above. One line per difference.
 */
export async function topicMismatches(admin: Admin, specs: TopicSpec[]): Promise<string[]> {
  if (specs.length === 0) return [];
  const names = specs.map((spec) => spec.name);
  const { topics } = await admin.fetchTopicMetadata({ topics: names });
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: names.map((name) => ({
      type: ConfigResourceTypes.TOPIC,
      name,
      configNames: CHECKED_TOPIC_CONFIGS,
    })),
  });
  const problems: string[] = [];
  for (const spec of specs) {
    const partitions = topics.find((topic) => topic.name === spec.name)?.partitions.length;
    if (partitions !== spec.partitions)
      problems.push(`${spec.name}: has ${partitions} partitions, Tollgate expects ${spec.partitions}`);
    const entries = described.resources.find(
      (resource) => resource.resourceName === spec.name,
    )?.configEntries;
    for (const name of CHECKED_TOPIC_CONFIGS) {
      const want = spec.config[name];
      const have = entries?.find((entry) => entry.configName === name)?.configValue;
      if (want !== undefined && have !== want)
        problems.push(`${spec.name}: ${name} is ${have}, Tollgate expects ${want}`);
    }
  }
  return problems;
}

/**
 * Wraps a kafkajs failure in a TollgateError, classified by kafkajs' own `retriable` flag and error
 * `type` (the broker's error code name), never by message text.
 */
export function kafkaError(operation: string, err: unknown): TollgateError {
  const e = err as { retriable?: boolean; type?: string; name?: string; message?: string };
  const type = e?.type ?? e?.name ?? 'UNKNOWN';
  return new TollgateError(`kafka ${operation} failed: ${e?.message ?? String(err)}`, {
    code: `TG_KAFKA_${type}`,
    retriable: e?.retriable ?? e?.name === 'KafkaJSConnectionError',
    cause: err,
  });
}

/** Creates allow ACLs for `principal` (`User:name`) from any host; existing ones are left as they are. */
export async function createAcls(admin: Admin, principal: string, rules: AclRule[]): Promise<number> {
  const resourceType = {
    topic: AclResourceTypes.TOPIC,
    group: AclResourceTypes.GROUP,
    'transactional-id': AclResourceTypes.TRANSACTIONAL_ID,
  } as const;
  const acl = rules.flatMap((rule) =>
    rule.operations.map((operation) => ({
      resourceType: resourceType[rule.resource],
      resourceName: rule.name,
      resourcePatternType:
        rule.pattern === 'prefixed' ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
      principal,
      host: '*',
      operation: AclOperationTypes[operation],
      permissionType: AclPermissionTypes.ALLOW,
    })),
  );
  try {
    await admin.createAcls({ acl });
  } catch (err) {
    throw kafkaError('create ACLs', err);
  }
  return acl.length;
}
