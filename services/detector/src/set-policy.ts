/**
 * Sets or deletes policies on the compacted policy topic (later `tollgate policy set`).
 *
 *   node services/detector/src/set-policy.ts policy.json [more.json …]   # a policy or an array of them; - reads stdin
 *   node services/detector/src/set-policy.ts --delete <policy_id> [...]
 *
 * Every document is validated before anything is published: one bad policy publishes nothing and
 * the command names the file, the policy, the field and the rule. Published values are the validated
 * policy with its defaults filled in, keyed by policy_id.
 */
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import {
  commonConfig,
  createKafka,
  createLogger,
  errorMessage,
  type Kafka,
  kafkaConnection,
  kafkaError,
  loadConfig,
  type Policy,
  parsePolicy,
  prefixedTopicNames,
  z,
} from '@tollgate/core';

export type PolicyChange = { set: Policy } | { delete: string };

/** Publishes the changes in one idempotent request, in order. */
export async function publishPolicyChanges(
  kafka: Kafka,
  topic: string,
  changes: PolicyChange[],
): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  try {
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: changes.map((change) =>
        'set' in change
          ? { key: change.set.policy_id, value: JSON.stringify(change.set) }
          : { key: change.delete, value: null },
      ),
    });
  } catch (err) {
    throw kafkaError('publish policies', err);
  } finally {
    await producer.disconnect().catch(() => {});
  }
}

export type ParsedDocuments = { ok: true; policies: Policy[] } | { ok: false; errors: string[] };

/** Validates the JSON text of one source (a policy or an array of policies). */
export function parsePolicyDocuments(source: string, text: string): ParsedDocuments {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, errors: [`${source}: not JSON: ${errorMessage(err)}`] };
  }
  const documents = Array.isArray(json) ? json : [json];
  const policies: Policy[] = [];
  const errors: string[] = [];
  documents.forEach((document, i) => {
    const result = parsePolicy(document);
    const id = (document as { policy_id?: unknown })?.policy_id;
    const name = `${source}${Array.isArray(json) ? `[${i}]` : ''}${typeof id === 'string' ? ` (${id})` : ''}`;
    if (result.ok) policies.push(result.policy);
    else errors.push(`${name}: ${result.reason}`);
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, policies };
}

async function main(argv: string[]): Promise<number> {
  const config = loadConfig(
    z.object({
      ...commonConfig,
      TOPIC_PREFIX: z.string().default(''),
      LOG_LEVEL: commonConfig.LOG_LEVEL.default('warn'),
    }),
    process.env,
  );
  const changes: PolicyChange[] = [];
  if (argv[0] === '--delete') {
    if (argv.length < 2) return usage();
    for (const id of argv.slice(1)) changes.push({ delete: id });
  } else {
    if (argv.length === 0) return usage();
    const errors: string[] = [];
    for (const file of argv) {
      const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
      const parsed = parsePolicyDocuments(file === '-' ? 'stdin' : file, text);
      if (parsed.ok) changes.push(...parsed.policies.map((set) => ({ set })));
      else errors.push(...parsed.errors);
    }
    if (errors.length > 0) {
      for (const error of errors) process.stderr.write(`invalid policy: ${error}\n`);
      process.stderr.write('nothing was published\n');
      return 1;
    }
  }
  const logger = createLogger({ name: 'set-policy', level: config.LOG_LEVEL });
  const kafka = createKafka({ ...kafkaConnection(config), clientId: 'tollgate-set-policy', logger });
  const topic = prefixedTopicNames(config.TOPIC_PREFIX).policies;
  await publishPolicyChanges(kafka, topic, changes);
  for (const change of changes)
    process.stdout.write(
      'set' in change
        ? `set ${change.set.kind} policy ${change.set.policy_id}\n`
        : `deleted policy ${change.delete}\n`,
    );
  return 0;
}

function usage(): number {
  process.stderr.write(
    'usage: set-policy <policy.json|-> [...]\n       set-policy --delete <policy_id> [...]\n',
  );
  return 2;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`set-policy: ${errorMessage(err)}\n`);
      process.exit(1);
    },
  );
}
