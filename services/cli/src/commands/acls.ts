/**
 * `tollgate acls CLIENT --principal User:NAME`: the Kafka ACLs one Tollgate client needs (core acls.ts),
 * printed as a table and as kafka-acls.sh commands, or created on the cluster with `--apply` (the
 * KAFKA_* credentials must be allowed to alter ACLs).
 */
import {
  ACL_CLIENTS,
  type AclClient,
  aclRules,
  createAcls,
  type KafkaConnection,
  kafkaAclsCommands,
  prefixedTopicNames,
} from '@tollgate/core';
import { cliKafka } from '../kafka.ts';
import { printTable, usageError } from '../output.ts';

export interface AclFlags {
  principal: string;
  groupId?: string;
  transactionalIdPrefix?: string;
  topicPrefix: string;
  apply: boolean;
}

export async function runAcls(
  connection: KafkaConnection,
  client: string,
  flags: AclFlags,
  out: NodeJS.WritableStream,
): Promise<void> {
  if (!(ACL_CLIENTS as readonly string[]).includes(client)) {
    throw usageError(`unknown client ${JSON.stringify(client)}: one of ${ACL_CLIENTS.join(', ')}`);
  }
  if (!/^[A-Za-z]+:.+$/.test(flags.principal)) {
    throw usageError(
      `--principal must look like User:NAME (the SASL username or the certificate's name), got ${JSON.stringify(flags.principal)}`,
    );
  }
  const rules = aclRules(client as AclClient, {
    topics: prefixedTopicNames(flags.topicPrefix),
    ...(flags.groupId === undefined ? {} : { groupId: flags.groupId }),
    ...(flags.transactionalIdPrefix === undefined
      ? {}
      : { transactionalIdPrefix: flags.transactionalIdPrefix }),
  });
  out.write(`Kafka ACLs for ${client} as ${flags.principal} (allow, any host)\n`);
  printTable(
    ['resource', 'name', 'pattern', 'operations'],
    rules.map((rule) => [rule.resource, rule.name, rule.pattern, rule.operations.join(', ')]),
    out,
  );
  if (!flags.apply) {
    out.write(`\n${kafkaAclsCommands(flags.principal, rules, connection.brokers.join(',')).join('\n')}\n`);
    out.write('\n(--apply creates them with the KAFKA_* credentials)\n');
    return;
  }
  const admin = cliKafka(connection, 'tollgate-acls').admin();
  try {
    await admin.connect();
    const created = await createAcls(admin, flags.principal, rules);
    out.write(
      `created ${created} ACLs on ${connection.brokers.join(',')} (existing ones are kept as they are)\n`,
    );
  } finally {
    await admin.disconnect();
  }
}
