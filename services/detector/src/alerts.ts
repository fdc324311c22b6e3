/**
 * Alert identity and wording shared by every rule. An alert id is a digest of (scope key, rule,
 * discriminator), where the discriminator is the window, period or threshold the alert is about: the
 * same condition always yields the same id, so a replay or a restart can never mint a second alert for
 * it, and subscribers deduplicate on `alert_id` alone.
 */
import { createHash } from 'node:crypto';
import type { AlertContributor, AlertSeverity, CostAlert } from '@tollgate/core';

export function alertId(scopeKey: string, rule: string, discriminator: string | number): string {
  return createHash('sha256')
    .update(`${scopeKey}\u0000${rule}\u0000${discriminator}`)
    .digest('hex')
    .slice(0, 32);
}

/** warning at the threshold, critical at twice it. */
export function severityForRatio(observed: number, threshold: number): AlertSeverity {
  return threshold > 0 && observed >= 2 * threshold ? 'critical' : 'warning';
}

/**
 * Money for an alert's explanation, read by people: rounded half-up to four significant digits but never
 * fewer than two decimals, with thousands separators: "$1.019", "$0.3097", "$36.74", "$1,234.57",
 * "$0.000042"; "12.50 EUR" for other currencies. The exact amounts are in the alert's fields.
 */
export function money(nanos: number | bigint, currency: string): string {
  const value = typeof nanos === 'number' ? BigInt(Math.round(nanos)) : nanos;
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  const wholeDigits = magnitude >= NANOS_PER_UNIT ? (magnitude / NANOS_PER_UNIT).toString().length : 0;
  // Digits after the point up to the fourth significant one (below one unit: after the leading zeros).
  const significant = wholeDigits > 0 ? 4 - wholeDigits : 13 - magnitude.toString().length;
  const decimals = Math.min(9, Math.max(2, significant));
  const step = 10n ** BigInt(9 - decimals);
  const rounded = (magnitude + step / 2n) / step;
  const scale = 10n ** BigInt(decimals);
  const whole = (rounded / scale).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const fraction = (rounded % scale)
    .toString()
    .padStart(decimals, '0')
    .replace(/(?<=\d{2})0+$/, '');
  const text = `${negative ? '-' : ''}${currency === 'USD' ? '$' : ''}${whole}.${fraction}`;
  return currency === 'USD' ? text : `${text} ${currency}`;
}

const NANOS_PER_UNIT = 1_000_000_000n;

/** 252_000 → "4m12s". */
export function duration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** "2026-11-28 14:05 UTC". */
export function utcMinute(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function percent(ratio: number): string {
  return `${Math.round(ratio * 100)}%`;
}

/** Contributors ordered by observed value, the largest first, at most `limit`. */
export function topByObserved(
  dimension: string,
  values: Record<string, number>,
  limit: number,
): AlertContributor[] {
  return Object.entries(values)
    .filter(([, observed]) => observed > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([value, observed]) => ({ dimension, value, observed, expected: 0 }));
}

export type AlertInput = Omit<CostAlert, 'alert_id'> & { scopeKey: string; discriminator: string | number };

export function buildAlert({ scopeKey, discriminator, ...alert }: AlertInput): CostAlert {
  return { alert_id: alertId(scopeKey, alert.rule, discriminator), ...alert };
}
