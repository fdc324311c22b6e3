/**
 * `tollgate alerts`: follows the alert topic and prints each CostAlert as it arrives, through the SDK's
 * subscribeAlerts (what a subscriber of your own uses) as a tail: no group offsets, nothing committed.
 */
import {
  ALERT_RULES,
  ALERT_SEVERITIES,
  type AlertSeverity,
  type CostAlert,
  type KafkaConnection,
  readableMoney,
} from '@tollgate/core';
import { subscribeAlerts } from '@tollgate/sdk';
import { reachKafka } from '../kafka.ts';
import { formatTime, usageError } from '../output.ts';

export interface FollowAlertsOptions {
  connection: KafkaConnection;
  topic: string;
  fromBeginning: boolean;
  onAlert: (alert: CostAlert) => void;
  /** Called with the reason when a message on the topic is not a CostAlert this build can read. */
  onUndecodable?: (reason: string, offset: string) => void;
  signal: AbortSignal;
}

/** Consumes until `signal` aborts. Resolves when the consumer has disconnected. */
export async function followAlerts({
  connection,
  topic,
  fromBeginning,
  onAlert,
  onUndecodable,
  signal,
}: FollowAlertsOptions): Promise<void> {
  await reachKafka(connection, [topic]);
  const subscription = await subscribeAlerts({
    ...connection,
    clientId: 'tollgate-cli',
    topic,
    fromBeginning,
    onAlert,
    onUndecodable: (reason, { offset }) => onUndecodable?.(reason, offset),
  });
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await subscription.close();
}

export interface AlertFilterFlags {
  org?: string;
  severity?: string;
  rule?: string;
}

const list = (text: string) =>
  text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

/**
 * Which alerts `tollgate alerts` prints: of these orgs, at this severity or above, of these rules.
 * Unknown severities and rules are refused (a typo would otherwise print nothing, ever).
 */
export function alertFilter(flags: AlertFilterFlags): (alert: CostAlert) => boolean {
  const orgs = flags.org === undefined ? undefined : new Set(list(flags.org));
  if (orgs?.size === 0) throw usageError('--org needs at least one org id');
  const severity = flags.severity?.toLowerCase();
  if (severity !== undefined && !ALERT_SEVERITIES.includes(severity as AlertSeverity))
    throw usageError(`--severity must be one of ${ALERT_SEVERITIES.join(', ')}, got "${flags.severity}"`);
  const minimum = severity === undefined ? 0 : ALERT_SEVERITIES.indexOf(severity as AlertSeverity);
  const rules = flags.rule === undefined ? undefined : list(flags.rule);
  const unknown = rules?.filter((rule) => !(ALERT_RULES as readonly string[]).includes(rule)) ?? [];
  if (rules?.length === 0 || unknown.length > 0)
    throw usageError(`--rule takes rules among ${ALERT_RULES.join(', ')}; got "${flags.rule}"`);
  const ruleSet = rules === undefined ? undefined : new Set(rules);
  return (alert) =>
    (orgs === undefined || orgs.has(alert.org_id)) &&
    ALERT_SEVERITIES.indexOf(alert.severity) >= minimum &&
    (ruleSet === undefined || ruleSet.has(alert.rule));
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
