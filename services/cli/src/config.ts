import { resolve } from 'node:path';
import {
  ConfigError,
  clickhouseConnection,
  commonConfig,
  kafkaConnection,
  loadConfig,
  prefixedTopicNames,
  z,
} from '@tollgate/core';

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);

/** Every variable the CLI reads, with its default. main.ts parses the environment once, here. */
export const cliConfigSchema = z.object({
  ...commonConfig,
  TOLLGATE_HOME: z.string().optional(),
  TOLLGATE_KAFKA_PORT: port(9092),
  TOLLGATE_KAFKA_CONTROLLER_PORT: port(9093),
  /** The local broker's SASL_SSL listener (TLS + SASL/PLAIN; client settings in .tollgate/kafka/secure/client.env). */
  TOLLGATE_KAFKA_SECURE_PORT: port(9094),
  TOLLGATE_CLICKHOUSE_HTTP_PORT: port(8123),
  TOLLGATE_CLICKHOUSE_TCP_PORT: port(9000),
  /** Local ClickHouse's https port (client settings in .tollgate/clickhouse/secure/client.env). */
  TOLLGATE_CLICKHOUSE_HTTPS_PORT: port(8443),
  /** Ops ports of the local stack's services (`/readyz`, `/metrics`; the API and ingest serve on theirs). */
  TOLLGATE_PRICER_PORT: port(9101),
  TOLLGATE_SINK_PORT: port(9102),
  TOLLGATE_DETECTOR_PORT: port(9103),
  TOLLGATE_INGEST_PORT: port(9104),
  TOLLGATE_API_PORT: port(8080),
  /** The services' consumer groups (their own variables, passed on to them): `status` shows their lag. */
  PRICER_GROUP_ID: z.string().min(1).default('tollgate-pricer'),
  SINK_GROUP_ID: z.string().min(1).default('tollgate-sink'),
  DETECTOR_GROUP_ID: z.string().min(1).default('tollgate-detector'),
  /** Prefix of every topic name, as the services take it (a second stack on a shared cluster). */
  TOPIC_PREFIX: z.string().default(''),
  /** `0` forbids `infra up` from installing ClickHouse with apt-get. */
  TOLLGATE_ALLOW_APT: z.enum(['0', '1']).default('1'),
});

export type CliConfig = z.infer<typeof cliConfigSchema>;

/**
 * The validated configuration. Unless KAFKA_BROKERS and CLICKHOUSE_URL are given, the CLI's commands talk
 * to the local stack on the ports it was told to use. Two components on one port is an error naming both.
 */
export function readCliConfig(env: NodeJS.ProcessEnv, root: string) {
  const config = loadConfig(cliConfigSchema, env);
  const ports = Object.entries(config).filter(
    (entry): entry is [string, number] => /^TOLLGATE_.*_PORT$/.test(entry[0]) && typeof entry[1] === 'number',
  );
  for (const [i, [name, value]] of ports.entries()) {
    const other = ports.slice(i + 1).find((entry) => entry[1] === value);
    if (other) {
      throw new ConfigError(
        `invalid configuration: ${name} and ${other[0]} are both ${value}; give each its own port`,
      );
    }
  }
  const brokers =
    env.KAFKA_BROKERS === undefined ? [`127.0.0.1:${config.TOLLGATE_KAFKA_PORT}`] : config.KAFKA_BROKERS;
  const clickhouseUrl =
    env.CLICKHOUSE_URL === undefined
      ? `http://127.0.0.1:${config.TOLLGATE_CLICKHOUSE_HTTP_PORT}`
      : config.CLICKHOUSE_URL;
  return {
    ...config,
    KAFKA_BROKERS: brokers,
    /** The brokers with TLS and SASL settings (KAFKA_SSL*, KAFKA_SASL_*): what every command connects with. */
    kafka: kafkaConnection({ ...config, KAFKA_BROKERS: brokers }),
    CLICKHOUSE_URL: clickhouseUrl,
    /** ClickHouse with its credentials and TLS files (CLICKHOUSE_*): what every command queries with. */
    clickhouse: clickhouseConnection({ ...config, CLICKHOUSE_URL: clickhouseUrl }),
    /** Tollgate's topics under TOPIC_PREFIX: what every command publishes to and reads. */
    topics: prefixedTopicNames(config.TOPIC_PREFIX),
    /** Whether each is the local stack (its variable not set), for the hints of a failure to reach it. */
    local: { kafka: env.KAFKA_BROKERS === undefined, clickhouse: env.CLICKHOUSE_URL === undefined },
    home: resolve(config.TOLLGATE_HOME ?? `${root}/.tollgate`),
  };
}
