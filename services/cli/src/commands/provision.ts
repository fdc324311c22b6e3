/**
 * `tollgate provision`: creates Tollgate's topics and applies its ClickHouse migrations on the cluster
 * the KAFKA_* and CLICKHOUSE_* variables name (a production Kafka with TLS and SASL, ClickHouse over
 * https), and checks that topics which already exist are set up the way the services rely on.
 * Idempotent: run it before every deploy.
 */
import { TollgateError } from '@tollgate/core';
import { provision } from '@tollgate/infra';
import { reachKafka } from '../kafka.ts';
import type { ProgramDeps } from '../program.ts';

export interface ProvisionFlags {
  /** Print what would be created and applied, change nothing. */
  dryRun?: boolean;
  partitions: number;
  /** Replicas per new topic; undefined takes the cluster's default.replication.factor. */
  replicationFactor: number | undefined;
}

export async function runProvision(
  { root, config }: ProgramDeps,
  flags: ProvisionFlags,
  out: NodeJS.WritableStream,
): Promise<void> {
  const { kafka, clickhouse } = config;
  const security = [kafka.ssl ? 'TLS' : 'plaintext', kafka.sasl ? `SASL ${kafka.sasl.mechanism}` : undefined]
    .filter(Boolean)
    .join(', ');
  out.write(
    `tollgate: provisioning Kafka ${kafka.brokers.join(',')} (${security}) and ClickHouse ${clickhouse.url} (database ${clickhouse.database})\n`,
  );
  await reachKafka(kafka, []);
  const result = await provision({
    kafka,
    clickhouse,
    root,
    topics: config.topics,
    partitions: flags.partitions,
    dryRun: flags.dryRun ?? false,
    ...(flags.replicationFactor === undefined ? {} : { replicationFactor: flags.replicationFactor }),
    progress: (line) => out.write(`  ${line}\n`),
  });
  for (const name of result.changed)
    out.write(
      `  clickhouse: WARNING migration ${name} changed after it was applied; add a new migration instead\n`,
    );
  out.write(
    flags.dryRun
      ? `topics: ${result.created.length} to create, ${result.existing.length} already there; ` +
          `migrations: ${result.applied.length} to apply, ${result.alreadyApplied.length} already applied ` +
          '(--dry-run: nothing changed)\n'
      : `topics: ${result.created.length} created, ${result.existing.length} already there; ` +
          `migrations: ${result.applied.length} applied, ${result.alreadyApplied.length} already applied\n`,
  );
  if (result.mismatches.length > 0) {
    throw new TollgateError(
      `existing topics differ from what Tollgate's services rely on:\n  ${result.mismatches.join('\n  ')}\n` +
        'change them with kafka-configs.sh (configs) or recreate them (partitions), or pass the --partitions they were made with',
      { code: 'TG_PROVISION_TOPICS' },
    );
  }
}
