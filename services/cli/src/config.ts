import { resolve } from 'node:path';
import { commonConfig, loadConfig, z } from '@tollgate/core';

/** Every variable the CLI reads, with its default. main.ts parses the environment once, here. */
export const cliConfigSchema = z.object({
  ...commonConfig,
  TOLLGATE_HOME: z.string().optional(),
  TOLLGATE_KAFKA_PORT: z.coerce.number().int().min(1).max(65535).default(9092),
  TOLLGATE_KAFKA_CONTROLLER_PORT: z.coerce.number().int().min(1).max(65535).default(9093),
  TOLLGATE_CLICKHOUSE_HTTP_PORT: z.coerce.number().int().min(1).max(65535).default(8123),
  TOLLGATE_CLICKHOUSE_TCP_PORT: z.coerce.number().int().min(1).max(65535).default(9000),
  /** `0` forbids `infra up` from installing ClickHouse with apt-get. */
  TOLLGATE_ALLOW_APT: z.enum(['0', '1']).default('1'),
});

export type CliConfig = z.infer<typeof cliConfigSchema>;

export function readCliConfig(env: NodeJS.ProcessEnv, root: string) {
  const config = loadConfig(cliConfigSchema, env);
  return { ...config, home: resolve(config.TOLLGATE_HOME ?? `${root}/.tollgate`) };
}
