/**
 * One line for a failure to reach or use Kafka or ClickHouse: what failed, why, and what to do. The
 * clients' own errors say what happened ("connect ECONNREFUSED 127.0.0.1:9092") but not which setting
 * to look at; these lines name it.
 */
import {
  type ClickHouseConnection,
  type KafkaConnection,
  TLS_VERIFY_CODES,
  TollgateError,
} from '@tollgate/core';

/** Where the CLI connects (its config's kafka, clickhouse and local). */
export interface Endpoints {
  kafka: KafkaConnection;
  clickhouse: ClickHouseConnection;
  /** True when the variable (KAFKA_BROKERS, CLICKHOUSE_URL) is not set: the local stack is meant. */
  local: { kafka: boolean; clickhouse: boolean };
}

interface ErrorLike {
  name?: string;
  message?: string;
  code?: string | number;
  type?: string;
  cause?: unknown;
}

/** `err` and its causes, outermost first (kafkajs wraps a connection error in a retries-exceeded one). */
function chain(err: unknown): ErrorLike[] {
  const errors: ErrorLike[] = [];
  for (let e = err; e !== null && typeof e === 'object' && errors.length < 8; e = (e as ErrorLike).cause)
    errors.push(e as ErrorLike);
  return errors;
}

const KAFKA_UNREACHABLE = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
]);

/** ClickHouse server codes for a user it does not know or a wrong password (18.16 and current). */
const CLICKHOUSE_CREDENTIALS = new Set([192, 193, 516]);
/** Unknown database or table: the schema was not applied there. */
const CLICKHOUSE_NO_SCHEMA = new Set([60, 81]);

function kafkaLine(errors: ErrorLike[], where: Endpoints): string | undefined {
  const brokers = where.kafka.brokers.join(',');
  const sasl = errors.find((e) => e.name === 'KafkaJSSASLAuthenticationError');
  if (sasl)
    return `Kafka at ${brokers} refused the credentials (${sasl.message}); check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`;
  const denied = errors.find((e) => typeof e.type === 'string' && e.type.endsWith('_AUTHORIZATION_FAILED'));
  if (denied) {
    const principal = where.kafka.sasl ? `User:${where.kafka.sasl.username}` : 'User:NAME';
    return `Kafka at ${brokers} refused ${principal} (${denied.type}: ${denied.message}); it lacks ACLs: \`tollgate acls CLIENT --principal ${principal}\` prints the ones each client needs`;
  }
  const unreachable = errors.find((e) => e.name !== undefined && KAFKA_UNREACHABLE.has(e.name));
  if (!unreachable) return undefined;
  const detail = (unreachable.message ?? '').replace(/^Connection error: /, '');
  if (typeof unreachable.code === 'string' && TLS_VERIFY_CODES.has(unreachable.code))
    return `cannot connect to Kafka at ${brokers}: its certificate is not trusted (${unreachable.code}); set KAFKA_SSL_CA_FILE to the PEM file of the CA that signed it`;
  if (/TLS|SSL|EPROTO|wrong version number/i.test(detail))
    return `cannot connect to Kafka at ${brokers} over TLS (${detail}); a plaintext listener answers there: point KAFKA_BROKERS at the TLS listener, or set KAFKA_SSL=false`;
  const hint = where.local.kafka
    ? 'start the local stack with `./tollgate up` (`./tollgate status` shows what runs), or set KAFKA_BROKERS to your cluster'
    : 'check KAFKA_BROKERS, that the brokers run and are reachable from here, and KAFKA_SSL for a TLS listener';
  return `cannot reach Kafka at ${brokers} (${detail}); ${hint}`;
}

/**
 * The server's own sentence from a ClickHouse error, without the wrapping: "Code: 81, e.displayText() =
 * DB::Exception: Database x doesn't exist, e.what() = DB::Exception" (18.16) or "Code: 81. DB::Exception:
 * Database x does not exist. (UNKNOWN_DATABASE) (version 26.9…)" (current) become "Database x doesn't
 * exist (code 81)".
 */
export function serverMessage(message: string): string {
  const match =
    /Code: (\d+)[.,](?: e\.displayText\(\) =)? DB::Exception: (.*?)(?:, e\.what\(\) = DB::Exception|\.? \([A-Z_]+\)(?: \(version .*\))?)?$/.exec(
      message,
    );
  return match ? `${match[2]} (code ${match[1]})` : message;
}

function clickhouseLine(errors: ErrorLike[], where: Endpoints): string | undefined {
  const wrapped = errors.find(
    (e): e is TollgateError => e instanceof TollgateError && e.code.startsWith('TG_CLICKHOUSE_'),
  );
  if (!wrapped) return undefined;
  const serverCode = wrapped.details?.serverCode;
  const { url, database, username = 'default' } = where.clickhouse;
  if (typeof serverCode === 'number' && CLICKHOUSE_CREDENTIALS.has(serverCode))
    return `ClickHouse at ${url} refused user ${username} (${serverMessage(wrapped.message)}); check CLICKHOUSE_USER and CLICKHOUSE_PASSWORD`;
  if (typeof serverCode === 'number' && CLICKHOUSE_NO_SCHEMA.has(serverCode))
    return `ClickHouse at ${url}: ${serverMessage(wrapped.message)}; Tollgate's schema is not in database ${database} there: run \`tollgate provision\`, or check CLICKHOUSE_DATABASE`;
  if (serverCode !== undefined || !wrapped.retriable) return undefined;
  const detail = wrapped.message.replace(/^clickhouse \w[\w ]* failed: /, '');
  const hint = where.local.clickhouse
    ? 'start the local stack with `./tollgate up` (`./tollgate status` shows what runs), or set CLICKHOUSE_URL to your server'
    : 'check CLICKHOUSE_URL and that the server runs and is reachable from here';
  return `cannot reach ClickHouse at ${url} (${detail}); ${hint}`;
}

/**
 * The line to print for `err` when it is a failure to reach, log in to or use Kafka or ClickHouse;
 * undefined for anything else (the caller prints a TollgateError's own message).
 */
export function explainFailure(err: unknown, where: Endpoints): string | undefined {
  const errors = chain(err);
  return kafkaLine(errors, where) ?? clickhouseLine(errors, where);
}
