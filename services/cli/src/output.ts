import { TollgateError } from '@tollgate/core';
import Table from 'cli-table3';

export function printTable(
  head: string[],
  rows: (string | number)[][],
  out: NodeJS.WritableStream = process.stdout,
): void {
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const row of rows) table.push(row.map(String));
  out.write(`${table.toString()}\n`);
}

/**
 * Money for people: nano-units rounded half-up to the cent, with thousands separators. Display only:
 * JSON and CSV output carry the exact nano-units.
 */
export function formatMoney(nanos: bigint | number | string, currency = 'USD'): string {
  const value = BigInt(nanos);
  const negative = value < 0n;
  const cents = ((negative ? -value : value) + 5_000_000n) / 10_000_000n;
  const whole = (cents / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const fraction = (cents % 100n).toString().padStart(2, '0');
  const symbol = currency === 'USD' ? '$' : `${currency} `;
  return `${negative ? '-' : ''}${symbol}${whole}.${fraction}`;
}

export function formatTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('T', ' ').slice(0, 19);
}

/** A wrong flag or argument: one line that says what to give instead (exit code 1, no stack). */
export function usageError(message: string): TollgateError {
  return new TollgateError(message, { code: 'TG_CLI_USAGE' });
}
