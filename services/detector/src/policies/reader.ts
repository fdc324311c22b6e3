/**
 * Keeps a PolicyIndex in step with the compacted policy topic. Every instance reads the whole topic
 * (it is small), from the beginning, in a group of its own that never commits. `start` resolves once
 * everything published before it has been applied, so the stages never judge with defaults that a
 * policy was about to override. A record that fails validation is rejected with its reason (logged,
 * counted) and the previous version of that policy stays in force; a null value deletes the policy.
 */
import { applyPolicyMessage, type Kafka, type Logger, POLICY_KINDS, type PolicyIndex } from '@tollgate/core';
import { readTopic, type TopicReader } from '@tollgate/core/read-topic';
import type { DetectorMetrics } from '../metrics.ts';

export interface PolicyReaderOptions {
  kafka: Kafka;
  topic: string;
  groupIdPrefix: string;
  index: PolicyIndex;
  metrics: DetectorMetrics;
  logger: Logger;
  caughtUpTimeoutMs: number;
}

export interface PolicyReader {
  start(): Promise<void>;
  stop(): Promise<void>;
  ready(): boolean;
}

export function createPolicyReader(options: PolicyReaderOptions): PolicyReader {
  const { index, metrics } = options;
  const log = options.logger.child({ component: 'policies' });
  let reader: TopicReader | undefined;
  let caughtUp = false;

  function refreshGauge(): void {
    for (const kind of POLICY_KINDS)
      metrics.policies.set({ kind }, index.list().filter((p) => p.kind === kind).length);
  }

  function apply(key: Buffer | null, value: Buffer | null, offset: string): void {
    const outcome = applyPolicyMessage(index, key, value);
    if (outcome.kind === 'deleted') log.info({ policyId: outcome.policyId }, 'policy deleted');
    else if (outcome.kind === 'set')
      log.info({ policyId: outcome.policy.policy_id, kind: outcome.policy.kind }, 'policy applied');
    else if (outcome.kind === 'rejected') {
      metrics.policiesRejected.inc();
      log.warn(
        { policyId: outcome.policyId, offset, field: outcome.field, reason: outcome.reason },
        'policy rejected',
      );
    }
    refreshGauge();
  }

  return {
    async start() {
      reader = await readTopic({
        kafka: options.kafka,
        topic: options.topic,
        groupIdPrefix: options.groupIdPrefix,
        follow: true,
        caughtUpTimeoutMs: options.caughtUpTimeoutMs,
        logger: log,
        onMessage: (_partition, key, value, offset) => apply(key, value, offset),
      });
      await reader.caughtUp;
      caughtUp = true;
      refreshGauge();
      log.info({ policies: index.list().length }, 'policies loaded');
    },
    async stop() {
      await reader?.stop();
    },
    ready: () => caughtUp,
  };
}
