import { join } from 'node:path';

/** Where the local stack lives and listens. Built by the CLI's main.ts from its validated config. */
export interface InfraSettings {
  /** The repository root (templates, schemas). */
  root: string;
  /** State folder: downloads, data, logs, pid files (git-ignored `.tollgate` by default). */
  home: string;
  kafkaPort: number;
  kafkaControllerPort: number;
  /** The broker's SASL_SSL listener (TLS + SASL/PLAIN, see kafka-secure.ts). */
  kafkaSecurePort: number;
  clickhouseHttpPort: number;
  clickhouseTcpPort: number;
  /** ClickHouse's https port (TLS with the stack's own CA, see clickhouse-secure.ts). */
  clickhouseHttpsPort: number;
  clickhouseDatabase: string;
  /** TOPIC_PREFIX of the stack's topics ('' by default): `up` creates them under it. */
  topicPrefix?: string;
  /** Installs missing system packages (ClickHouse) with apt-get when true. */
  allowApt: boolean;
  /** Prints progress lines; the test harness passes a quiet one. */
  progress: (line: string) => void;
}

export function infraPaths(settings: InfraSettings) {
  const { home, root } = settings;
  return {
    kafkaHome: join(home, 'kafka'),
    kafkaLibs: join(home, 'kafka', 'libs'),
    kafkaLibsStamp: join(home, 'kafka', 'libs', '.pom.sha256'),
    kafkaData: join(home, 'kafka', 'data'),
    kafkaConfig: join(home, 'kafka', 'server.properties'),
    kafkaSecure: join(home, 'kafka', 'secure'),
    kafkaLogDir: join(home, 'logs', 'kafka'),
    kafkaPid: join(home, 'run', 'kafka.pid'),
    kafkaPom: join(root, 'infra', 'kafka', 'pom.xml'),
    kafkaTemplate: join(root, 'infra', 'kafka', 'server.properties'),
    kafkaLog4j: join(root, 'infra', 'kafka', 'log4j2.properties'),
    clickhouseHome: join(home, 'clickhouse'),
    clickhouseData: join(home, 'clickhouse', 'data'),
    clickhouseConfig: join(home, 'clickhouse', 'config.xml'),
    clickhouseUsers: join(home, 'clickhouse', 'users.xml'),
    clickhouseSecure: join(home, 'clickhouse', 'secure'),
    clickhouseLogDir: join(home, 'logs', 'clickhouse'),
    clickhousePid: join(home, 'run', 'clickhouse.pid'),
    clickhouseTemplate: join(root, 'infra', 'clickhouse', 'config.xml'),
    clickhouseUsersTemplate: join(root, 'infra', 'clickhouse', 'users.xml'),
    migrations: join(root, 'schemas', 'clickhouse'),
    runDir: join(home, 'run'),
    logsDir: join(home, 'logs'),
  };
}

export function kafkaBrokers(settings: InfraSettings): string[] {
  return [`127.0.0.1:${settings.kafkaPort}`];
}

export function clickhouseUrl(settings: InfraSettings): string {
  return `http://127.0.0.1:${settings.clickhouseHttpPort}`;
}
