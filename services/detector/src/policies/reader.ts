/**
 * Keeps a PolicyIndex in step with the compacted policy topic. Every instance reads the whole topic
 * (it is small), from the beginning, in a group of its own that never commits. `start` resolves once
 * everything published before it has been applied, so the stages never judge with defaults that a
 * policy was about to override. A record that fails validation is rejected with its reason (logged,
 * counted) and the previous version of that policy stays in force; a null value deletes the policy.
 */
import { type Kafka, type Logger, POLICY_KINDS, type PolicyIndex, parsePolicyMessage } from '@tollgate/core';
import type { DetectorMetrics } from '../metrics.ts';
import { readTopic, type TopicReader } from '../runtime/read-topic.ts';

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
    const id = key?.toString('utf8') ?? null;
    if (value === null) {
      if (id !== null && index.remove(id)) log.info({ policyId: id }, 'policy deleted');
    } else {
      const parsed = parsePolicyMessage(id, value);
      if (parsed.ok) {
        index.upsert(parsed.policy);
        log.info({ policyId: parsed.policy.policy_id, kind: parsed.policy.kind }, 'policy applied');
      } else {
        metrics.policiesRejected.inc();
        log.warn({ policyId: id, offset, field: parsed.field, reason: parsed.reason }, 'policy rejected');
      }
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
