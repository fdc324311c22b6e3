/**
 * Ceilings set centrally: a meter created with `policies` reads the ceilings policies that `tollgate
 * policy set` publishes on the compacted policy topic (the whole topic at start: it is small) and keeps
 * following it. Each new run then gets, field by field, the stricter of the code's ceilings and the
 * policies' for its org, feature and customer (policy precedence as the detector resolves it: most
 * specific scope first). A platform team can tighten what an agent may do; agent code can only be
 * stricter still. A run keeps the ceilings it started with.
 *
 * Fail closed: until the topic has been read to the end offsets of when reading began, startRun waits
 * (up to `timeoutMs`), and if it cannot be read it rejects with PoliciesUnavailableError; the next
 * startRun tries again. Once read, a broker outage keeps the last policies in force while kafkajs
 * reconnects.
 */
import { SDK_POLICIES_GROUP_ID } from '@tollgate/core/acls';
import { TollgateError } from '@tollgate/core/errors';
import type { Kafka } from '@tollgate/core/kafka';
import type { Logger } from '@tollgate/core/logger';
import {
  applyPolicyMessage,
  type Ceilings,
  createPolicyIndex,
  type Subject,
} from '@tollgate/core/policy/resolve';
import { readTopic, type TopicReader } from '@tollgate/core/read-topic';
import { PoliciesUnavailableError } from './errors.ts';

export const DEFAULT_POLICIES_GROUP_ID_PREFIX = SDK_POLICIES_GROUP_ID;

export interface PolicyFollowerOptions {
  kafka: Kafka;
  topic: string;
  groupIdPrefix: string;
  timeoutMs: number;
  logger: Logger;
  /** A policy on the topic that is not valid (it is skipped; the previous version stays in force). */
  onRejected: (err: TollgateError) => void;
}

export interface PolicyFollower {
  /** Resolves once the topic has been read to its end offsets of the first call; a failure is retried on the next call. */
  loaded(): Promise<void>;
  ceilings(subject: Subject): Ceilings;
  close(): Promise<void>;
}

export function createPolicyFollower(options: PolicyFollowerOptions): PolicyFollower {
  const { topic } = options;
  const log = options.logger.child({ component: 'policies', topic });
  const index = createPolicyIndex();
  let loading: Promise<void> | undefined;
  let reader: TopicReader | undefined;
  let closed = false;

  function apply(key: Buffer | null, value: Buffer | null, offset: string): void {
    const outcome = applyPolicyMessage(index, key, value);
    if (outcome.kind === 'set' && outcome.policy.kind === 'ceilings')
      log.info({ policyId: outcome.policy.policy_id }, 'ceilings policy applied');
    else if (outcome.kind === 'deleted') log.info({ policyId: outcome.policyId }, 'policy deleted');
    else if (outcome.kind === 'rejected')
      options.onRejected(
        new TollgateError(
          `policy ${outcome.policyId ?? '(no key)'} at offset ${offset} of ${topic} is not valid and was skipped: ${outcome.reason}`,
          {
            code: 'TG_SDK_POLICY_REJECTED',
            details: { policyId: outcome.policyId, field: outcome.field, offset },
          },
        ),
      );
  }

  /** One full read, bounded by timeoutMs as a whole (kafkajs' own retries on a missing topic take longer). */
  async function load(): Promise<void> {
    let abandoned = false;
    const attempt = (async () => {
      const started = await readTopic({
        kafka: options.kafka,
        topic,
        groupIdPrefix: options.groupIdPrefix,
        follow: true,
        caughtUpTimeoutMs: options.timeoutMs,
        logger: log,
        onMessage: (_partition, key, value, offset) => apply(key, value, offset),
      });
      if (abandoned) {
        await started.stop().catch(() => {});
        return;
      }
      reader = started;
      await started.caughtUp;
    })();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`not read to its end within ${options.timeoutMs} ms`)),
        options.timeoutMs,
      );
    });
    try {
      await Promise.race([attempt, timeout]);
    } catch (err) {
      abandoned = true;
      attempt.catch(() => {});
      await reader?.stop().catch(() => {});
      reader = undefined;
      throw new PoliciesUnavailableError(topic, err);
    } finally {
      clearTimeout(timer);
    }
    if (closed) await reader?.stop();
    log.info({ ceilings: index.list().filter((p) => p.kind === 'ceilings').length }, 'policies loaded');
  }

  return {
    loaded() {
      loading ??= load().catch((err) => {
        loading = undefined;
        throw err;
      });
      return loading;
    },
    ceilings: (subject) => index.ceilings(subject),
    async close() {
      closed = true;
      await loading?.catch(() => {});
      await reader?.stop().catch(() => {});
    },
  };
}
