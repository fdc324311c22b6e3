import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { ClickHouseConnection } from './clickhouse.ts';
import { ConfigError } from './errors.ts';
import { type KafkaConnection, type KafkaSsl, SASL_MECHANISMS } from './kafka-connection.ts';
import { fieldName, fieldProblems } from './zod-issues.ts';

export { z } from 'zod';

/**
 * Parses a flat environment against a zod object schema whose keys are the variable names. Only a
 * service's main.ts calls this, once. A bad value fails with every offending variable named.
 */
export function loadConfig<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined>,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = fieldProblems(result.error, env).map(
    (problem) => `${fieldName(problem)}: ${problem.reason}`,
  );
  throw new ConfigError(`invalid configuration: ${problems.join('; ')}`, { problems });
}

/** Comma-separated list, e.g. KAFKA_BROKERS=127.0.0.1:9092,127.0.0.1:9093. */
export const csv = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part.length > 0),
  )
  .pipe(z.array(z.string()).min(1, 'needs at least one entry'));

/** Where the brokers are and how to authenticate to them (kafkaConnection turns them into client options). */
export const kafkaConfig = {
  KAFKA_BROKERS: csv.default(['127.0.0.1:9092']),
  /** TLS to the brokers (`true`/`false`); the CA, certificate and key files below need it on. */
  KAFKA_SSL: z.stringbool().default(false),
  /** PEM file of the CA(s) that signed the brokers' certificates, when not a public CA. */
  KAFKA_SSL_CA_FILE: z.string().min(1).optional(),
  /** PEM client certificate and its key, for brokers that authenticate clients by TLS (mTLS). */
  KAFKA_SSL_CERT_FILE: z.string().min(1).optional(),
  KAFKA_SSL_KEY_FILE: z.string().min(1).optional(),
  /** SASL authentication: plain, scram-sha-256 or scram-sha-512, with a username and password. */
  KAFKA_SASL_MECHANISM: z.enum(SASL_MECHANISMS).optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
};

/** Where ClickHouse is and how to authenticate to it (clickhouseConnection turns them into client options). */
export const clickhouseConfig = {
  /** HTTP(S) endpoint; https:// for TLS (system CAs unless CLICKHOUSE_CA_FILE is given). */
  CLICKHOUSE_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .default('http://127.0.0.1:8123'),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain identifier')
    .default('tollgate'),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  /** PEM file of the CA that signed the server's certificate, when not a public CA. */
  CLICKHOUSE_CA_FILE: z.string().min(1).optional(),
  /** PEM client certificate and its key, for servers that authenticate clients by TLS (mTLS). */
  CLICKHOUSE_CERT_FILE: z.string().min(1).optional(),
  CLICKHOUSE_KEY_FILE: z.string().min(1).optional(),
};

/** Variables every service shares; services extend this schema with their own. */
export const commonConfig = {
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ...kafkaConfig,
  ...clickhouseConfig,
  HTTP_HOST: z.string().default('127.0.0.1'),
  /** PEM certificate and its key: the service's HTTP endpoints (API, ingest, /metrics …) serve https. */
  HTTP_TLS_CERT_FILE: z.string().min(1).optional(),
  HTTP_TLS_KEY_FILE: z.string().min(1).optional(),
  /** PEM CA(s): with it, clients must present a certificate it signed (mutual TLS). */
  HTTP_TLS_CA_FILE: z.string().min(1).optional(),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
};

type KafkaVariables = z.infer<z.ZodObject<typeof kafkaConfig>>;

/** What node:https takes to serve TLS: the server's certificate and key, and the clients' CA for mTLS. */
export interface HttpTls {
  cert: string;
  key: string;
  /** Set for mutual TLS: a client without a certificate from it is refused in the handshake. */
  ca?: string;
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
}

/**
 * The https options of a service's HTTP server from HTTP_TLS_*, or undefined for plain http. The
 * certificate and key go together; a CA file needs them (it asks clients for certificates over TLS).
 */
export function httpTls(config: {
  HTTP_TLS_CERT_FILE?: string | undefined;
  HTTP_TLS_KEY_FILE?: string | undefined;
  HTTP_TLS_CA_FILE?: string | undefined;
}): HttpTls | undefined {
  const problems: string[] = [];
  const tlsOff =
    config.HTTP_TLS_CERT_FILE === undefined && config.HTTP_TLS_KEY_FILE === undefined
      ? 'HTTP_TLS_CERT_FILE and HTTP_TLS_KEY_FILE are not (https needs them)'
      : undefined;
  const { ca, cert, key } = readTlsFiles(
    { ca: 'HTTP_TLS_CA_FILE', cert: 'HTTP_TLS_CERT_FILE', key: 'HTTP_TLS_KEY_FILE' },
    config,
    undefined,
    problems,
  );
  if (tlsOff !== undefined && config.HTTP_TLS_CA_FILE !== undefined)
    problems.push(`HTTP_TLS_CA_FILE: is set but ${tlsOff}`);
  if (problems.length > 0)
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`, { problems });
  if (cert === undefined || key === undefined) return undefined;
  return ca === undefined ? { cert, key } : { cert, key, ca, requestCert: true, rejectUnauthorized: true };
}

/**
 * The brokers and how to reach them, from a service's validated KAFKA_* variables: TLS files read once,
 * here. Settings that only make sense together are checked together, each problem naming its variable.
 */
/**
 * Reads the PEM files of a TLS setting: a CA, and a client certificate with its key (both or neither).
 * `tlsOff` names why the files cannot be used, when TLS is not on; every problem goes to `problems`.
 */
function readTlsFiles(
  names: { ca: string; cert: string; key: string },
  env: { readonly [name: string]: unknown },
  tlsOff: string | undefined,
  problems: string[],
): { ca?: string; cert?: string; key?: string } {
  const read = (name: string): string | undefined => {
    const path = env[name];
    if (typeof path !== 'string') return undefined;
    if (tlsOff !== undefined) {
      problems.push(`${name}: is set but ${tlsOff}`);
      return undefined;
    }
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      problems.push(`${name}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      return undefined;
    }
  };
  const files = { ca: read(names.ca), cert: read(names.cert), key: read(names.key) };
  if ((env[names.cert] === undefined) !== (env[names.key] === undefined)) {
    const [missing, given] =
      env[names.cert] === undefined ? [names.cert, names.key] : [names.key, names.cert];
    problems.push(`${missing}: is required with ${given}`);
  }
  return Object.fromEntries(Object.entries(files).filter(([, value]) => value !== undefined));
}

export function kafkaConnection(config: KafkaVariables): KafkaConnection {
  const problems: string[] = [];
  const files = readTlsFiles(
    { ca: 'KAFKA_SSL_CA_FILE', cert: 'KAFKA_SSL_CERT_FILE', key: 'KAFKA_SSL_KEY_FILE' },
    config,
    config.KAFKA_SSL ? undefined : 'KAFKA_SSL is not; set KAFKA_SSL=true',
    problems,
  );
  const {
    KAFKA_SASL_MECHANISM: mechanism,
    KAFKA_SASL_USERNAME: username,
    KAFKA_SASL_PASSWORD: password,
  } = config;
  if (mechanism !== undefined) {
    if (username === undefined) problems.push('KAFKA_SASL_USERNAME: is required with KAFKA_SASL_MECHANISM');
    if (password === undefined) problems.push('KAFKA_SASL_PASSWORD: is required with KAFKA_SASL_MECHANISM');
  } else {
    for (const [name, value] of [
      ['KAFKA_SASL_USERNAME', username],
      ['KAFKA_SASL_PASSWORD', password],
    ] as const) {
      if (value !== undefined)
        problems.push(`${name}: is set but KAFKA_SASL_MECHANISM is not (${SASL_MECHANISMS.join(', ')})`);
    }
  }
  if (problems.length > 0)
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`, { problems });
  let ssl: KafkaSsl | undefined;
  if (config.KAFKA_SSL) ssl = Object.keys(files).length > 0 ? files : true;
  return {
    brokers: config.KAFKA_BROKERS,
    ssl,
    sasl:
      mechanism === undefined || username === undefined || password === undefined
        ? undefined
        : { mechanism, username, password },
  };
}

type ClickHouseVariables = z.infer<z.ZodObject<typeof clickhouseConfig>>;

/**
 * Where ClickHouse is and how to authenticate, from a service's validated CLICKHOUSE_* variables: TLS
 * files read once, here, and only with an https:// URL. @clickhouse/client checks a client certificate's
 * server against a CA file, so mutual TLS needs CLICKHOUSE_CA_FILE as well (a public CA's bundle will do).
 */
export function clickhouseConnection(config: ClickHouseVariables): ClickHouseConnection {
  const problems: string[] = [];
  const https = new URL(config.CLICKHOUSE_URL).protocol === 'https:';
  const { ca, cert, key } = readTlsFiles(
    { ca: 'CLICKHOUSE_CA_FILE', cert: 'CLICKHOUSE_CERT_FILE', key: 'CLICKHOUSE_KEY_FILE' },
    config,
    https ? undefined : `CLICKHOUSE_URL is not https:// (${config.CLICKHOUSE_URL})`,
    problems,
  );
  if (cert !== undefined && key !== undefined && ca === undefined)
    problems.push('CLICKHOUSE_CA_FILE: is required with CLICKHOUSE_CERT_FILE (mutual TLS)');
  if (problems.length > 0)
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`, { problems });
  return {
    url: config.CLICKHOUSE_URL,
    database: config.CLICKHOUSE_DATABASE,
    username: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    ...(ca === undefined
      ? {}
      : { tls: cert === undefined || key === undefined ? { ca } : { ca, cert, key } }),
  };
}
