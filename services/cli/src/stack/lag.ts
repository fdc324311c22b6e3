/**
 * Consumer lag of the local stack's services, from the broker's point of view: per consumer group,
 * the end of each input partition minus the group's committed offset (from the start of the partition
 * where it has committed nothing). It keeps growing while a service is down, which is when it matters.
 */
import type { Admin, TopicNames } from '@tollgate/core';
import type { ServiceName } from './services.ts';

/** The services that consume (ingest and the API only produce or query). */
export type ConsumerService = Extract<ServiceName, 'pricer' | 'sink' | 'detector'>;

/** The consumer groups of each service and the topics they read, given the services' group ids. */
export function serviceGroups(
  groupIds: {
    pricer: string;
    sink: string;
    detector: string;
  },
  topics: TopicNames,
): Record<ConsumerService, { groupId: string; topics: string[] }[]> {
  return {
    pricer: [{ groupId: groupIds.pricer, topics: [topics.usage] }],
    sink: [{ groupId: groupIds.sink, topics: [topics.priced, topics.alerts, topics.deadLetters] }],
    detector: [
      { groupId: `${groupIds.detector}.runs`, topics: [topics.priced] },
      { groupId: `${groupIds.detector}.features`, topics: [topics.featureRepartition] },
      { groupId: `${groupIds.detector}.budgets`, topics: [topics.budgetRepartition] },
    ],
  };
}

/** Messages the groups have yet to commit, summed over their topics' partitions. */
export async function groupLag(
  admin: Admin,
  groups: { groupId: string; topics: string[] }[],
): Promise<number> {
  let lag = 0;
  for (const { groupId, topics } of groups) {
    for (const { topic, partitions } of await admin.fetchOffsets({ groupId, topics })) {
      const ends = await admin.fetchTopicOffsets(topic);
      for (const end of ends) {
        const committed = Number(partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
        lag += Math.max(0, Number(end.high) - (committed >= 0 ? committed : Number(end.low)));
      }
    }
  }
  return lag;
}
