/**
 * Subscribing to Tollgate's alerts (tollgate.alerts.v1): each message is a CostAlert in Avro
 * single-object encoding, decoded here by its writer schema's fingerprint into the newest CostAlert.
 *
 * With a `groupId`, offsets are committed once `onAlert` has resolved: a restarted subscriber resumes
 * after the last alert it handled, and an alert whose handler threw is delivered again (kafkajs backs off
 * and retries it), so delivery is at least once. `alert_id` is deterministic (scope, rule, window): the
 * same alert delivered twice, or fired again after a detector restart, has the same id. Without a
 * `groupId` the subscription is a throwaway that commits nothing: a tail, as `tollgate alerts` is.
 */
import { randomUUID } from 'node:crypto';
import { createAlertCodec } from '@tollgate/core/avro/codec';
import type { CostAlert } from '@tollgate/core/contract/types';
import { ConfigError } from '@tollgate/core/errors';
import { createKafka } from '@tollgate/core/kafka';
import type { KafkaSasl, KafkaSsl } from '@tollgate/core/kafka-connection';
import { type Logger, silentLogger } from '@tollgate/core/logger';
import { TOPIC_NAMES } from '@tollgate/core/topics';

export interface AlertSubscriptionOptions {
  brokers: string[];
  ssl?: KafkaSsl;
  sasl?: KafkaSasl;
  /** Your consumer group; leave it out for a tail that commits nothing and starts at the end (or beginning). */
  groupId?: string;
  clientId?: string;
  /** Defaults to tollgate.alerts.v1. */
  topic?: string;
  /** Where a group with no committed offsets starts: the oldest alert kept, or (default) the next one. */
  fromBeginning?: boolean;
  onAlert: (alert: CostAlert) => void | Promise<void>;
  /**
   * A message that is not a CostAlert this version can read (a writer schema it does not know, bad bytes):
   * it is skipped after this is called. Default: a warning on `logger`.
   */
  onUndecodable?: (reason: string, where: { partition: number; offset: string }) => void;
  logger?: Logger;
}

export interface AlertSubscription {
  /** Stops consuming (after the handler in progress, whose offset is then committed) and disconnects. */
  close(): Promise<void>;
}

/** Connects, joins the group and starts delivering; resolves once the consumer runs. */
export async function subscribeAlerts(options: AlertSubscriptionOptions): Promise<AlertSubscription> {
  if (options === null || typeof options !== 'object')
    throw new ConfigError('subscribeAlerts: options are required');
  if (!Array.isArray(options.brokers) || options.brokers.length === 0)
    throw new ConfigError('subscribeAlerts: brokers must list at least one host:port', { field: 'brokers' });
  if (typeof options.onAlert !== 'function')
    throw new ConfigError('subscribeAlerts: onAlert must be a function', { field: 'onAlert' });
  if (options.groupId !== undefined && (typeof options.groupId !== 'string' || options.groupId.length === 0))
    throw new ConfigError('subscribeAlerts: groupId must be a non-empty string', { field: 'groupId' });
  const logger = (options.logger ?? silentLogger()).child({ component: 'alerts' });
  const onUndecodable =
    options.onUndecodable ??
    ((reason, where) =>
      logger.warn({ reason, ...where }, 'skipped a message that is not a readable CostAlert'));
  const codec = createAlertCodec();
  const kafka = createKafka({
    brokers: options.brokers,
    ssl: options.ssl,
    sasl: options.sasl,
    clientId: options.clientId ?? 'tollgate-alerts',
    logger,
  });
  const durable = options.groupId !== undefined;
  // A throwaway group commits nothing, so the broker drops it at its next offsets cleanup instead of
  // keeping it for the offsets retention (7 days by default).
  const consumer = kafka.consumer({ groupId: options.groupId ?? `tollgate-alerts-tail-${randomUUID()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({
      topic: options.topic ?? TOPIC_NAMES.alerts,
      fromBeginning: options.fromBeginning ?? false,
    });
    await consumer.run({
      autoCommit: durable,
      eachMessage: async ({ partition, message }) => {
        const decoded = message.value === null ? undefined : codec.decode(message.value);
        if (decoded?.ok) return options.onAlert(decoded.value);
        onUndecodable(decoded === undefined ? 'empty message' : decoded.reason, {
          partition,
          offset: message.offset,
        });
      },
    });
  } catch (err) {
    await consumer.disconnect();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= consumer.disconnect();
      return closing;
    },
  };
}
