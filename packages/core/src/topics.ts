/**
 * Tollgate's topics and their configuration. `tollgate infra up` creates them; services name them
 * through this catalog (and tests through a prefix) so a typo is a type error, not an empty consumer.
 *
 * Every topic uses LogAppendTime: retention must never be driven by event time, or backdated events
 * (an agent replaying a day of usage) would be deleted on arrival.
 */
export interface TopicSpec {
  name: string;
  partitions: number;
  /** Broker-side topic configs, as Kafka names them. */
  config: Record<string, string>;
  description: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

const appendTime = { 'message.timestamp.type': 'LogAppendTime' } as const;

export const TOPIC_NAMES = {
  usage: 'tollgate.usage.v1',
  priced: 'tollgate.priced.v1',
  alerts: 'tollgate.alerts.v1',
  deadLetters: 'tollgate.dlq.v1',
  rateCards: 'tollgate.ratecards.v1',
  policies: 'tollgate.policies.v1',
  featureRepartition: 'tollgate.detector.feature-repartition.v1',
  budgetRepartition: 'tollgate.detector.budget-repartition.v1',
  runsChangelog: 'tollgate.detector.runs-changelog.v1',
  featuresChangelog: 'tollgate.detector.features-changelog.v1',
  budgetsChangelog: 'tollgate.detector.budgets-changelog.v1',
} as const;

export type TopicKey = keyof typeof TOPIC_NAMES;
export type TopicNames = Record<TopicKey, string>;

/** Topic names under a prefix, for tests that need an isolated set of every topic. */
export function prefixedTopicNames(prefix: string): TopicNames {
  const names = {} as TopicNames;
  for (const [key, name] of Object.entries(TOPIC_NAMES) as [TopicKey, string][])
    names[key] = `${prefix}${name}`;
  return names;
}

export function topicSpecs(names: TopicNames = TOPIC_NAMES, partitions = 6): TopicSpec[] {
  const deleteAfter = (days: number) => ({
    ...appendTime,
    'cleanup.policy': 'delete',
    'retention.ms': String(days * DAY_MS),
  });
  const compacted = { ...appendTime, 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '0' };
  return [
    {
      name: names.usage,
      partitions,
      config: deleteAfter(7),
      description: 'usage events from SDKs and ingest, keyed by run_id',
    },
    { name: names.priced, partitions, config: deleteAfter(7), description: 'priced events, keyed by run_id' },
    {
      name: names.alerts,
      partitions: 1,
      config: deleteAfter(30),
      description: 'cost alerts from the detector',
    },
    {
      name: names.deadLetters,
      partitions: 1,
      config: deleteAfter(30),
      description: 'events a stage could not handle, with the reason',
    },
    {
      name: names.rateCards,
      partitions: 1,
      config: compacted,
      description: 'rate card versions, keyed by card id',
    },
    {
      name: names.policies,
      partitions: 1,
      config: compacted,
      description: 'budgets, ceilings and thresholds, keyed by policy id',
    },
    {
      name: names.featureRepartition,
      partitions,
      config: deleteAfter(2),
      description: 'detector-internal: priced cost keyed by (org_id, feature)',
    },
    {
      name: names.budgetRepartition,
      partitions,
      config: deleteAfter(2),
      description: 'detector-internal: priced cost keyed by budget policy id',
    },
    // Detector state snapshots, one partition per input partition, written in the same transaction
    // as the offsets they reflect; compaction keeps the latest value per key.
    ...(['runsChangelog', 'featuresChangelog', 'budgetsChangelog'] as const).map((key) => ({
      name: names[key],
      partitions,
      config: { ...compacted, 'segment.ms': String(DAY_MS / 24), 'min.cleanable.dirty.ratio': '0.2' },
      description: `detector-internal: ${key.replace('Changelog', '')} state changelog`,
    })),
  ];
}
