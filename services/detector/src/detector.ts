/**
 * The detector: three exactly-once stages and the policy feed, wired together.
 *
 *   priced (by run_id) ──▶ runs stage ──▶ alerts
 *                               ├──▶ feature repartition (by org+feature) ──▶ features stage ──▶ alerts
 *                               └──▶ budget repartition (by policy id) ──▶ budgets stage ──▶ alerts
 *   policies (compacted) ──▶ policy index, read by every stage
 *
 * Each stage is a consumer group of its own, so any number of instances share every stage's
 * partitions. Start order: policies (caught up), then the downstream stages, then the intake; stop
 * order is the reverse, intake first.
 */
import {
  createAlertCodec,
  createDeadLetterCodec,
  createPolicyIndex,
  type Kafka,
  kafkaError,
  type Logger,
  type PolicyIndex,
  TollgateError,
  type TopicNames,
} from '@tollgate/core';
import { createBudgetTask } from './budgets/stage.ts';
import type { BaselineOptions } from './features/baseline.ts';
import { createFeatureTask } from './features/stage.ts';
import type { DetectorMetrics } from './metrics.ts';
import { createPolicyReader } from './policies/reader.ts';
import { createPricedViewDecoder } from './priced-view.ts';
import { createRunTask } from './runs/stage.ts';
import { createStage, type Stage } from './runtime/stage.ts';

export interface DetectorSettings {
  groupId: string;
  transactionalIdPrefix: string;
  windowMs: number;
  allowedLatenessMs: number;
  idleUpstreamMs: number;
  runEndGraceMs: number;
  runInactivityMs: number;
  featureRetentionMs: number;
  baseline: BaselineOptions;
  forecastMinElapsedFraction: number;
  partitionsConsumedConcurrently: number;
  maxBytesPerPartition: number;
  /** Fetch linger of every stage: a fetch returns at `fetchMinBytes` or after `fetchMaxWaitMs`. */
  fetchMinBytes: number;
  fetchMaxWaitMs: number;
  sessionTimeoutMs: number;
  restoreTimeoutMs: number;
}

export interface DetectorOptions {
  kafka: Kafka;
  logger: Logger;
  metrics: DetectorMetrics;
  topics: TopicNames;
  settings: DetectorSettings;
  /** The policy index the stages read (a fresh one by default). */
  policies?: PolicyIndex;
}

export interface Detector {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Named readiness checks for /readyz. */
  readiness(): Record<string, boolean>;
  policies: PolicyIndex;
  stages: { runs: Stage; features: Stage; budgets: Stage };
}

export function createDetector({
  kafka,
  logger,
  metrics,
  topics,
  settings,
  policies = createPolicyIndex(),
}: DetectorOptions): Detector {
  const log = logger.child({ component: 'detector' });
  const alertCodec = createAlertCodec();
  const deadLetterCodec = createDeadLetterCodec();
  const pricedView = createPricedViewDecoder();
  const policyReader = createPolicyReader({
    kafka,
    topic: topics.policies,
    groupIdPrefix: `${settings.groupId}.policies`,
    index: policies,
    metrics,
    logger,
    caughtUpTimeoutMs: settings.restoreTimeoutMs,
  });
  let featurePartitions = 0;
  let pricedPartitions = 0;
  const common = {
    kafka,
    logger,
    metrics,
    transactionalIdPrefix: settings.transactionalIdPrefix,
    partitionsConsumedConcurrently: settings.partitionsConsumedConcurrently,
    maxBytesPerPartition: settings.maxBytesPerPartition,
    fetchMinBytes: settings.fetchMinBytes,
    fetchMaxWaitMs: settings.fetchMaxWaitMs,
    restoreTimeoutMs: settings.restoreTimeoutMs,
    sessionTimeoutMs: settings.sessionTimeoutMs,
  };
  const stages = {
    runs: createStage({
      ...common,
      name: 'runs',
      inputTopic: topics.priced,
      changelogTopic: topics.runsChangelog,
      groupId: `${settings.groupId}.runs`,
      createProcessor: (partition) =>
        createRunTask({
          partition,
          topics,
          featurePartitions,
          policies,
          pricedView,
          alertCodec,
          deadLetterCodec,
          settings: {
            windowMs: settings.windowMs,
            allowedLatenessMs: settings.allowedLatenessMs,
            endGraceMs: settings.runEndGraceMs,
            inactivityMs: settings.runInactivityMs,
          },
          metrics,
          logger,
        }),
    }),
    features: createStage({
      ...common,
      name: 'features',
      inputTopic: topics.featureRepartition,
      changelogTopic: topics.featuresChangelog,
      groupId: `${settings.groupId}.features`,
      createProcessor: (partition) =>
        createFeatureTask({
          partition,
          upstreamPartitions: pricedPartitions,
          topics,
          policies,
          alertCodec,
          deadLetterCodec,
          settings: {
            windowMs: settings.windowMs,
            allowedLatenessMs: settings.allowedLatenessMs,
            idleUpstreamMs: settings.idleUpstreamMs,
            retentionMs: settings.featureRetentionMs,
            baseline: settings.baseline,
          },
          metrics,
          logger,
        }),
    }),
    budgets: createStage({
      ...common,
      name: 'budgets',
      inputTopic: topics.budgetRepartition,
      changelogTopic: topics.budgetsChangelog,
      groupId: `${settings.groupId}.budgets`,
      createProcessor: (partition) =>
        createBudgetTask({
          partition,
          topics,
          policies,
          alertCodec,
          deadLetterCodec,
          forecastMinElapsedFraction: settings.forecastMinElapsedFraction,
          metrics,
          logger,
        }),
    }),
  };

  /** A changelog needs a partition for every input partition, or two tasks would share one. */
  async function checkTopics(): Promise<void> {
    const admin = kafka.admin();
    try {
      await admin.connect();
      const { topics: found } = await admin.fetchTopicMetadata({
        topics: [
          topics.priced,
          topics.featureRepartition,
          topics.budgetRepartition,
          topics.runsChangelog,
          topics.featuresChangelog,
          topics.budgetsChangelog,
        ],
      });
      const count = (name: string) => found.find((t) => t.name === name)?.partitions.length ?? 0;
      for (const [input, changelog] of [
        [topics.priced, topics.runsChangelog],
        [topics.featureRepartition, topics.featuresChangelog],
        [topics.budgetRepartition, topics.budgetsChangelog],
      ] as const)
        if (count(changelog) < count(input))
          throw new TollgateError(
            `${changelog} has ${count(changelog)} partitions, fewer than the ${count(input)} of ${input}`,
            {
              code: 'TG_DETECTOR_TOPICS',
              details: { input, changelog },
            },
          );
      featurePartitions = count(topics.featureRepartition);
      pricedPartitions = count(topics.priced);
    } catch (err) {
      throw err instanceof TollgateError ? err : kafkaError('describe detector topics', err);
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  return {
    policies,
    stages,
    async start() {
      await checkTopics();
      await policyReader.start();
      await stages.budgets.start();
      await stages.features.start();
      await stages.runs.start();
      log.info({ featurePartitions, windowMs: settings.windowMs }, 'detector started');
    },
    async stop() {
      await stages.runs.stop();
      await stages.features.stop();
      await stages.budgets.stop();
      await policyReader.stop();
    },
    readiness: () => ({
      policies: policyReader.ready(),
      runs: stages.runs.ready(),
      features: stages.features.ready(),
      budgets: stages.budgets.ready(),
    }),
  };
}
