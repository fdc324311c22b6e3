/**
 * Alert identity and wording shared by every rule. An alert id is a digest of (scope key, rule,
 * discriminator), where the discriminator is the window, period or threshold the alert is about: the
 * same condition always yields the same id, so a replay or a restart can never mint a second alert for
 * it, and subscribers deduplicate on `alert_id` alone.
 */
import { createHash } from 'node:crypto';
import { type AlertContributor, type AlertSeverity, type CostAlert, readableMoney } from '@tollgate/core';

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

/** Money in an explanation, for people: `readableMoney` (four significant digits, at least two decimals). */
export const money = readableMoney;

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
