/**
 * `tollgate alerts`: follows the alert topic and prints each CostAlert as it arrives. A subscriber
 * example as much as a tool: a consumer group of its own, Avro single-object decoding, nothing else.
 */
import { randomUUID } from 'node:crypto';
import { type CostAlert, createAlertCodec, type Kafka, readableMoney } from '@tollgate/core';
import { formatTime } from '../output.ts';

export interface FollowAlertsOptions {
  kafka: Kafka;
  topic: string;
  fromBeginning: boolean;
  onAlert: (alert: CostAlert) => void;
  /** Called with the reason when a message on the topic is not a CostAlert this build can read. */
  onUndecodable?: (reason: string, offset: string) => void;
  signal: AbortSignal;
}

/** Consumes until `signal` aborts. Resolves when the consumer has disconnected. */
export async function followAlerts({
  kafka,
  topic,
  fromBeginning,
  onAlert,
  onUndecodable,
  signal,
}: FollowAlertsOptions): Promise<void> {
  const codec = createAlertCodec();
  // A group of its own: each `tollgate alerts` sees every alert. It commits nothing, so the broker
  // drops the empty group at its next offsets cleanup (every 10 minutes by default) instead of keeping
  // one group per run for the week that committed offsets are retained.
  const consumer = kafka.consumer({ groupId: `tollgate-cli-alerts-${randomUUID()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        if (!message.value) return;
        const decoded = codec.decode(message.value);
        if (decoded.ok) onAlert(decoded.value);
        else onUndecodable?.(decoded.reason, message.offset);
      },
    });
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    await consumer.disconnect();
  }
}

/** An alert's observed or expected value in its unit: money to four significant digits, a count bare. */
function value(alert: CostAlert, amount: number): string {
  if (alert.unit === 'usd_nanos') return readableMoney(amount, 'USD');
  return alert.unit === 'count' ? String(amount) : `${amount} ${alert.unit}`;
}

/** One line a person on call can act on. */
export function formatAlert(alert: CostAlert): string {
  const where = [
    `org=${alert.org_id}`,
    alert.feature ? `feature=${alert.feature}` : '',
    alert.customer_id ? `customer=${alert.customer_id}` : '',
    alert.run_id ? `run=${alert.run_id}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return (
    `${formatTime(alert.detected_at)} ${alert.severity.toUpperCase().padEnd(8)} ${alert.rule} ${where}: ` +
    `observed ${value(alert, alert.observed)} vs expected ${value(alert, alert.expected)} — ${alert.explanation}`
  );
}
