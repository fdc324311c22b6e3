/**
 * Reports consumer lag from the broker's point of view (end offset − committed offset), so it keeps
 * growing while the sink is paused on ClickHouse: the consumer's own fetches say nothing then.
 */
import type { Admin, Logger } from '@tollgate/core';
import type { SinkMetrics } from './metrics.ts';

export interface LagReporter {
  /** Total lag over every partition at the last poll; undefined before the first one. */
  total(): number | undefined;
  poll(): Promise<void>;
  stop(): void;
}

export function createLagReporter({
  admin,
  groupId,
  topics,
  metrics,
  logger,
  intervalMs = 5_000,
}: {
  admin: Admin;
  groupId: string;
  topics: string[];
  metrics: SinkMetrics;
  logger: Logger;
  intervalMs?: number;
}): LagReporter {
  let total: number | undefined;
  let polling = false;

  async function poll(): Promise<void> {
    if (polling) return;
    polling = true;
    try {
      let sum = 0;
      const committed = await admin.fetchOffsets({ groupId, topics });
      for (const topic of topics) {
        const ends = await admin.fetchTopicOffsets(topic);
        const group = committed.find((entry) => entry.topic === topic);
        for (const end of ends) {
          const at = group?.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1';
          const from = BigInt(at) < 0n ? BigInt(end.low) : BigInt(at);
          const lag = Number(BigInt(end.high) - from);
          metrics.lag.set({ topic, partition: String(end.partition) }, lag);
          sum += lag;
        }
      }
      total = sum;
    } catch (err) {
      logger.warn({ err }, 'lag poll failed');
    } finally {
      polling = false;
    }
  }

  const timer = setInterval(() => void poll(), intervalMs);
  timer.unref();
  return {
    total: () => total,
    poll,
    stop: () => clearInterval(timer),
  };
}
