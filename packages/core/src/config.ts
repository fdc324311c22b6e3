import { readFileSync } from 'node:fs';
import { z } from 'zod';
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

/** Variables every service shares; services extend this schema with their own. */
export const commonConfig = {
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ...kafkaConfig,
  CLICKHOUSE_URL: z.url().default('http://127.0.0.1:8123'),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain identifier')
    .default('tollgate'),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  HTTP_HOST: z.string().default('127.0.0.1'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
};

type KafkaVariables = z.infer<z.ZodObject<typeof kafkaConfig>>;

/**
 * The brokers and how to reach them, from a service's validated KAFKA_* variables: TLS files read once,
 * here. Settings that only make sense together are checked together, each problem naming its variable.
 */
export function kafkaConnection(config: KafkaVariables): KafkaConnection {
  const problems: string[] = [];
  const files = {
    KAFKA_SSL_CA_FILE: config.KAFKA_SSL_CA_FILE,
    KAFKA_SSL_CERT_FILE: config.KAFKA_SSL_CERT_FILE,
    KAFKA_SSL_KEY_FILE: config.KAFKA_SSL_KEY_FILE,
  };
  const read = (name: keyof typeof files): string | undefined => {
    const path = files[name];
    if (path === undefined) return undefined;
    if (!config.KAFKA_SSL) {
      problems.push(`${name}: is set but KAFKA_SSL is not; set KAFKA_SSL=true`);
      return undefined;
    }
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      problems.push(`${name}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      return undefined;
    }
  };
  const ca = read('KAFKA_SSL_CA_FILE');
  const cert = read('KAFKA_SSL_CERT_FILE');
  const key = read('KAFKA_SSL_KEY_FILE');
  if ((files.KAFKA_SSL_CERT_FILE === undefined) !== (files.KAFKA_SSL_KEY_FILE === undefined)) {
    const missing = files.KAFKA_SSL_CERT_FILE === undefined ? 'KAFKA_SSL_CERT_FILE' : 'KAFKA_SSL_KEY_FILE';
    problems.push(
      `${missing}: is required with ${missing === 'KAFKA_SSL_CERT_FILE' ? 'KAFKA_SSL_KEY_FILE' : 'KAFKA_SSL_CERT_FILE'}`,
    );
  }
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
  if (config.KAFKA_SSL) {
    const options = {
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
    };
    ssl = Object.keys(options).length > 0 ? options : true;
  }
  return {
    brokers: config.KAFKA_BROKERS,
    ssl,
    sasl:
      mechanism === undefined || username === undefined || password === undefined
        ? undefined
        : { mechanism, username, password },
  };
}
