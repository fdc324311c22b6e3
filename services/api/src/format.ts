/** Output helpers shared by the routes: JSON or CSV, exact money, ISO times. */
import { nanosToDecimalText } from '@tollgate/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toCsv } from './csv.ts';

export type Format = 'json' | 'csv';

/** `format=csv` or `Accept: text/csv` (the query parameter wins). */
export function wantedFormat(request: FastifyRequest): Format {
  const format = (request.query as { format?: string }).format;
  if (format === 'csv' || format === 'json') return format;
  return /\btext\/csv\b/.test(request.headers.accept ?? '') ? 'csv' : 'json';
}

export function sendCsv(
  reply: FastifyReply,
  filename: string,
  columns: string[],
  rows: Record<string, unknown>[],
) {
  return reply
    .header('content-type', 'text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${filename}.csv"`)
    .send(toCsv(columns, rows));
}

/**
 * ClickHouse's `YYYY-MM-DD hh:mm:ss` (UTC) → ISO 8601; the zero DateTime (never set) → null. The zero
 * DateTime prints as `0000-00-00 00:00:00` before ClickHouse 20.7 (18.16 here) and as
 * `1970-01-01 00:00:00` from 20.7 on (ClickHouse #12442).
 */
export function isoTime(value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return null;
  if (value.startsWith('0000-00-00') || value.startsWith('1970-01-01 00:00:00')) return null;
  return `${value.replace(' ', 'T')}Z`;
}

/** An exact nano amount as the currency's decimal text: "1234567890" → "1.23456789". */
export function decimal(nanos: string | bigint): string {
  return nanosToDecimalText(BigInt(nanos));
}
