/**
 * ClickHouse access for every service. Wraps @clickhouse/client, which works over HTTP against both
 * 18.16 and current servers, with two gaps closed here:
 * - it cannot parse 18.16's error format, so errors are classified from the server's exception code
 *   (the `Code: N` prefix every ClickHouse version puts first in an error body), in `clickhouseError`;
 * - 18.16 has no query parameters, so queries arrive as text built by sql.ts;
 * - 18.16 inserts whatever part of a request body arrived when the connection is cut mid-body (it does
 *   not tell a missing end of a chunked body from a normal one; fixed in ClickHouse 20.x): a silent
 *   partial insert that the sink's exactly-once checks cannot undo, since materialized views have
 *   already counted it. So every request body is gzip-compressed: a truncated gzip stream fails its
 *   length and CRC check (`inflate failed`), and the whole insert is refused.
 */
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { TollgateError } from './errors.ts';
import type { Logger } from './logger.ts';
import { type Sql, sql } from './sql.ts';

export type { ClickHouseClient } from '@clickhouse/client';

/** TLS to an https:// server: a private CA, and a client certificate with its key for mutual TLS (PEM). */
export type ClickHouseTls = { ca: string } | { ca: string; cert: string; key: string };

/** Where ClickHouse is and how to reach it: built by clickhouseConnection from CLICKHOUSE_* variables. */
export interface ClickHouseConnection {
  url: string;
  database: string;
  username?: string;
  password?: string;
  tls?: ClickHouseTls;
}

export interface CreateClickHouseOptions extends ClickHouseConnection {
  requestTimeoutMs?: number;
  /** gzip level of request bodies (1 = fastest); the compression itself is not optional, see above. */
  requestGzipLevel?: number;
  logger: Logger;
}

export interface ClickHouse {
  client: ClickHouseClient;
  database: string;
  /** Runs a statement that returns nothing (DDL, INSERT … SELECT). */
  exec(statement: Sql | string): Promise<void>;
  /** Runs a SELECT and returns its rows as objects (64-bit integers arrive as strings). */
  rows<T = Record<string, unknown>>(query: Sql | string): Promise<T[]>;
  /** Inserts objects as JSONEachRow. */
  insert(table: string, values: readonly Record<string, unknown>[]): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Server exception codes that mean "try again later": the server is overloaded, a part merge is
 * behind (TOO_MANY_PARTS), a timeout, or a network failure. Everything else (syntax, unknown
 * table, type mismatch) is a bug or bad data and retrying would repeat it.
 */
const RETRIABLE_SERVER_CODES = new Set([
  159, // TIMEOUT_EXCEEDED
  164, // READONLY (replica switching)
  202, // TOO_MANY_SIMULTANEOUS_QUERIES
  203, // NO_FREE_CONNECTION
  209, // SOCKET_TIMEOUT
  210, // NETWORK_ERROR
  241, // MEMORY_LIMIT_EXCEEDED
  242, // TABLE_IS_READ_ONLY
  252, // TOO_MANY_PARTS
  319, // UNKNOWN_STATUS_OF_INSERT
  425, // SYSTEM_ERROR
]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
]);

/** Node's codes for a server certificate it cannot verify against the CAs it was given. */
export const TLS_VERIFY_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
]);

export function clickhouseError(operation: string, err: unknown): TollgateError {
  if (err instanceof TollgateError) return err;
  const e = err as { code?: string | number; message?: string };
  const message = e?.message ?? String(err);
  const serverCode =
    typeof e?.code === 'string' && /^\d+$/.test(e.code) ? Number(e.code) : parseServerCode(message);
  if (serverCode !== undefined) {
    return new TollgateError(`clickhouse ${operation} failed: ${firstLine(message)}`, {
      code: `TG_CLICKHOUSE_${serverCode}`,
      retriable: RETRIABLE_SERVER_CODES.has(serverCode),
      cause: err,
      details: { serverCode },
    });
  }
  const networkCode = typeof e?.code === 'string' ? e.code : undefined;
  const isTimeout = message === 'Timeout error.' || (err as Error)?.name === 'TimeoutError';
  if (networkCode !== undefined && TLS_VERIFY_CODES.has(networkCode)) {
    // Node's own hint (--use-system-ca) does not fit a private CA: name the setting that does.
    return new TollgateError(
      `clickhouse ${operation} failed: the server's certificate is not trusted (${networkCode}); set CLICKHOUSE_CA_FILE to the PEM file of the CA that signed it`,
      { code: `TG_CLICKHOUSE_${networkCode}`, retriable: false, cause: err },
    );
  }
  return new TollgateError(`clickhouse ${operation} failed: ${firstLine(message)}`, {
    code: isTimeout ? 'TG_CLICKHOUSE_TIMEOUT' : `TG_CLICKHOUSE_${networkCode ?? 'UNAVAILABLE'}`,
    retriable:
      isTimeout || (networkCode !== undefined && NETWORK_CODES.has(networkCode)) || networkCode === undefined,
    cause: err,
  });
}

/** The exception code is the first structured token of every ClickHouse error body ("Code: 60, …"). */
function parseServerCode(message: string): number | undefined {
  const match = /^Code: (\d+)[.,]/.exec(message.trimStart());
  return match ? Number(match[1]) : undefined;
}

function firstLine(message: string): string {
  return message.trim().split('\n', 1)[0] ?? '';
}

function text(statement: Sql | string): string {
  return typeof statement === 'string' ? statement : statement.text;
}

function clientTls(tls: ClickHouseTls) {
  const ca_cert = Buffer.from(tls.ca);
  return 'cert' in tls ? { ca_cert, cert: Buffer.from(tls.cert), key: Buffer.from(tls.key) } : { ca_cert };
}

export function createClickHouse({
  url,
  database,
  username = 'default',
  password = '',
  tls,
  requestTimeoutMs = 30_000,
  requestGzipLevel = 1,
  logger: _logger,
}: CreateClickHouseOptions): ClickHouse {
  const client = createClient({
    url,
    database,
    username,
    password,
    ...(tls === undefined ? {} : { tls: clientTls(tls) }),
    request_timeout: requestTimeoutMs,
    // A cut connection must never insert a prefix of the rows (see the header).
    compression: { request: { codec: 'gzip', level: requestGzipLevel }, response: false },
    // 18.16 returns Decimal as a JSON number; Tollgate stores money as Int64 nano-units instead, which
    // every version returns as a quoted string and so never loses precision.
    clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
    // errors reach callers as TollgateErrors and are logged there, once
    log: { level: ClickHouseLogLevel.OFF },
  });
  return {
    client,
    database,
    async exec(statement) {
      try {
        await client.command({ query: text(statement) });
      } catch (err) {
        throw clickhouseError('exec', err);
      }
    },
    async rows<T>(query: Sql | string) {
      try {
        const result = await client.query({ query: text(query), format: 'JSONEachRow' });
        return (await result.json()) as T[];
      } catch (err) {
        throw clickhouseError('query', err);
      }
    },
    async insert(table, values) {
      if (values.length === 0) return;
      try {
        await client.insert({ table, values: values as Record<string, unknown>[], format: 'JSONEachRow' });
      } catch (err) {
        throw clickhouseError('insert', err);
      }
    },
    async ping() {
      const result = await client.ping();
      return result.success;
    },
    close: () => client.close(),
  };
}

/**
 * Creates `database` if missing. Goes through the `default` database, since a client bound to a
 * database that does not exist yet fails every request.
 */
export async function ensureDatabase(
  options: Omit<CreateClickHouseOptions, 'database'> & { database: string },
): Promise<void> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(options.database)) {
    throw new TollgateError(
      `clickhouse: database name ${JSON.stringify(options.database)} is not a plain identifier`,
      {
        code: 'TG_CONFIG',
      },
    );
  }
  const admin = createClickHouse({ ...options, database: 'default' });
  try {
    await admin.exec(`CREATE DATABASE IF NOT EXISTS \`${options.database}\``);
  } finally {
    await admin.close();
  }
}

/** Whether `database` exists (asked through `default`, since a client bound to a missing one fails). */
export async function databaseExists(
  options: Omit<CreateClickHouseOptions, 'database'> & { database: string },
): Promise<boolean> {
  const admin = createClickHouse({ ...options, database: 'default' });
  try {
    const [row] = await admin.rows<{ n: string }>(
      sql`SELECT count() AS n FROM system.databases WHERE name = ${options.database}`,
    );
    return Number(row?.n) > 0;
  } finally {
    await admin.close();
  }
}

export async function dropDatabase(
  options: Omit<CreateClickHouseOptions, 'database'> & { database: string },
): Promise<void> {
  const admin = createClickHouse({ ...options, database: 'default' });
  try {
    await admin.exec(`DROP DATABASE IF EXISTS \`${options.database}\``);
  } finally {
    await admin.close();
  }
}
