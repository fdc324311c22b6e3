/**
 * The Kafka ACLs each Tollgate client needs on a cluster with an authorizer, and no more: which topics
 * it reads and writes, the consumer groups it joins and the transactional ids it uses. A service's
 * groups and transactional ids all start with its GROUP_ID (or TRANSACTIONAL_ID_PREFIX): it names some
 * of them per partition or per start (`tollgate-pricer-ratecards-<uuid>`), so those rules are prefixed.
 * `tollgate acls` prints or creates them; test/security.int.test.ts runs each service as its own user
 * with exactly these and nothing else.
 */
import type { TopicKey, TopicNames } from './topics.ts';

export const ACL_CLIENTS = [
  'pricer',
  'sink',
  'detector',
  'ingest',
  'agent',
  'operator',
  'restate',
  'dlq-replay',
  'alerts',
] as const;
export type AclClient = (typeof ACL_CLIENTS)[number];

export type AclResource = 'topic' | 'group' | 'transactional-id';
export type AclOperation = 'READ' | 'WRITE' | 'DESCRIBE';

export interface AclRule {
  resource: AclResource;
  name: string;
  pattern: 'literal' | 'prefixed';
  operations: AclOperation[];
}

/** What each client is for, as `tollgate acls --help` lists it. */
export const ACL_CLIENT_DESCRIPTIONS: Record<AclClient, string> = {
  pricer: 'services/pricer: usage and rate cards in, priced events and dead letters out, transactions',
  sink: 'services/sink: priced events, alerts and dead letters in; dead letters out',
  detector:
    'services/detector: priced events and policies in, alerts out; its own internal topics, transactions',
  ingest: 'services/ingest: usage and dead letters out',
  agent:
    "an agent with the SDK: usage out; policies in, for the meter's policies option (its groups start with tollgate-sdk-policies)",
  operator:
    '`tollgate ratecard publish|list|show` and `tollgate policy set|delete|list|show`: rate cards and policies out and in (its groups start with tollgate-cli)',
  restate:
    '`tollgate ratecard restate`: priced events in, adjustments out (its groups start with PRICER_GROUP_ID-reprice)',
  'dlq-replay':
    "`tollgate dlq replay`: the pricer's dead letters back to the usage topic (the sink's go to ClickHouse, which needs no Kafka ACL)",
  alerts: 'an alert subscriber (SDK subscribeAlerts, `tollgate alerts`): alerts in',
};

/** The throwaway groups an SDK meter with `policies` reads the policy topic with. */
export const SDK_POLICIES_GROUP_ID = 'tollgate-sdk-policies';
/** The CLI's throwaway groups: `policy list|show` and `ratecard list|show` read their topics with them. */
export const CLI_GROUP_ID = 'tollgate-cli';
export const CLI_POLICIES_GROUP_ID = `${CLI_GROUP_ID}-policies`;
export const CLI_RATECARDS_GROUP_ID = `${CLI_GROUP_ID}-ratecards`;

/** Default consumer group (and transactional id prefix) of each client that has one. */
export const DEFAULT_GROUP_IDS: Partial<Record<AclClient, string>> = {
  pricer: 'tollgate-pricer',
  sink: 'tollgate-sink',
  detector: 'tollgate-detector',
  restate: 'tollgate-pricer-reprice',
  alerts: 'tollgate-alerts',
  agent: SDK_POLICIES_GROUP_ID,
  operator: CLI_GROUP_ID,
};

const READ: AclOperation[] = ['READ', 'DESCRIBE'];
const WRITE: AclOperation[] = ['WRITE', 'DESCRIBE'];
const READ_WRITE: AclOperation[] = ['READ', 'WRITE', 'DESCRIBE'];

const DETECTOR_INTERNAL: TopicKey[] = [
  'featureRepartition',
  'budgetRepartition',
  'runsChangelog',
  'featuresChangelog',
  'budgetsChangelog',
];

/** Topic access per client: what it reads, writes, or both. */
const TOPIC_ACCESS: Record<AclClient, [TopicKey, AclOperation[]][]> = {
  pricer: [
    ['usage', READ],
    ['rateCards', READ],
    ['priced', WRITE],
    ['deadLetters', WRITE],
  ],
  sink: [
    ['priced', READ],
    ['alerts', READ],
    ['deadLetters', READ_WRITE],
  ],
  detector: [
    ['priced', READ],
    ['policies', READ],
    ...DETECTOR_INTERNAL.map((key): [TopicKey, AclOperation[]] => [key, READ_WRITE]),
    ['alerts', WRITE],
    ['deadLetters', WRITE],
  ],
  ingest: [
    ['usage', WRITE],
    ['deadLetters', WRITE],
  ],
  agent: [
    ['usage', WRITE],
    ['policies', READ],
  ],
  operator: [
    ['rateCards', READ_WRITE],
    ['policies', READ_WRITE],
  ],
  restate: [['priced', READ_WRITE]],
  // an idempotent producer: since Kafka 3.0 WRITE on a topic is all it needs (KIP-679)
  'dlq-replay': [['usage', WRITE]],
  alerts: [['alerts', READ]],
};

/** Clients that run transactions (read-process-write with exactly-once offsets). */
const TRANSACTIONAL: ReadonlySet<AclClient> = new Set(['pricer', 'detector']);

export interface AclOptions {
  topics: TopicNames;
  /** The client's GROUP_ID (default DEFAULT_GROUP_IDS); every group it joins starts with it. */
  groupId?: string;
  /** The client's TRANSACTIONAL_ID_PREFIX, when not its group id. */
  transactionalIdPrefix?: string;
}

export function aclRules(client: AclClient, options: AclOptions): AclRule[] {
  const rules: AclRule[] = TOPIC_ACCESS[client].map(([key, operations]) => ({
    resource: 'topic',
    name: options.topics[key],
    pattern: 'literal',
    operations,
  }));
  const groupId = options.groupId ?? DEFAULT_GROUP_IDS[client];
  if (groupId !== undefined)
    rules.push({ resource: 'group', name: groupId, pattern: 'prefixed', operations: READ });
  if (TRANSACTIONAL.has(client) && groupId !== undefined) {
    rules.push({
      resource: 'transactional-id',
      name: options.transactionalIdPrefix ?? groupId,
      pattern: 'prefixed',
      operations: WRITE,
    });
  }
  return rules;
}

/** The same rules as kafka-acls.sh commands (Apache Kafka's tool; MSK and self-run clusters use it). */
export function kafkaAclsCommands(principal: string, rules: AclRule[], bootstrap: string): string[] {
  return rules.map((rule) =>
    [
      'kafka-acls.sh',
      `--bootstrap-server ${bootstrap}`,
      '--add',
      `--allow-principal ${principal}`,
      ...rule.operations.map((op) => `--operation ${op[0]}${op.slice(1).toLowerCase()}`),
      ...(rule.pattern === 'prefixed' ? ['--resource-pattern-type prefixed'] : []),
      `--${rule.resource} ${rule.name}`,
    ].join(' '),
  );
}
