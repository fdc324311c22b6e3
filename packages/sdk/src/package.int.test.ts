/**
 * The SDK as an agent project outside this repository gets it: `./tollgate sdk pack` (scripts/pack.ts)
 * builds the tarball, a scratch project in the system temp folder installs it with npm, and the
 * README's five-minute example runs there, as plain JavaScript on Node, against the real broker.
 * Nothing of the repository is on that project's module path, so a missing file in the package (a
 * schema, the default rate card, the producer thread's module) or an import of @tollgate/core or of
 * the repository's patched kafkajs fails here.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createAlertCodec, createUsageCodec, topicSpecs, type UsageEvent } from '@tollgate/core';
import { exampleCostAlert } from '@tollgate/core/contract/examples';
import { createTestContext, repoRoot, skipIntegration, type TestContext } from '@tollgate/test/support';
import { readTopic } from './test-consumer.ts';

const exec = promisify(execFile);

// The README's example, with the provider's answer written out (Anthropic's usage shape) and a second
// run that meets its cost ceiling. It prints what the agent would see.
const AGENT = `
import { createMeter, fromAnthropicUsage, CeilingExceededError } from '@tollgate/sdk';

const meter = createMeter({
  brokers: String(process.env.BROKERS).split(','),
  topic: process.env.TOPIC ?? 'tollgate.usage.v1',
  clientId: 'support-bot',
  defaults: { org_id: 'acme', feature: 'support-bot', environment: 'prod', tags: { team: 'care' } },
  ceilings: { tokensPerRequest: 200_000, costPerRun: '5.00', subagentsPerRun: 50, spawnDepth: 3 },
});

const run = await meter.startRun({ customer_id: 'cust-42', agentName: 'triage', tags: { ticket: 'T-1' } });
run.checkRequest({ provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 12_000, maxOutputTokens: 2_048 });
run.recordModelCall({
  provider: 'anthropic',
  model: 'claude-sonnet-4-5',
  usage: fromAnthropicUsage({ input_tokens: 300, cache_read_input_tokens: 4_096, cache_creation_input_tokens: 0, output_tokens: 90 }),
});
const researcher = await run.spawn({ name: 'researcher' });
researcher.recordToolCall({ toolName: 'web_search', provider: 'tavily', args: { q: 'refund policy' } });
const workers = await run.spawnMany(400, { name: 'worker' });
run.recordSandbox({ provider: 'e2b', sandboxId: 'sbx-1', vcpuSeconds: 42, gibSeconds: 84 });
await run.end('success');

const tight = await meter.startRun({ customer_id: 'cust-42', ceilings: { costPerRun: '0.01' }, tags: { ticket: 'T-2' } });
let refused = null;
try {
  tight.checkRequest({ provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 1_000, maxOutputTokens: 1_000 });
} catch (err) {
  refused = err instanceof CeilingExceededError ? { ceiling: err.ceiling, requested: err.requested } : String(err);
}
await tight.end('cancelled');

await meter.close();
console.log(JSON.stringify({ workers: workers.length, spentNanos: run.spentNanos, subagents: run.subagentCount, refused }));
`;

// A subscriber: prints the first alert on the topic and stops.
const SUBSCRIBER = `
import { subscribeAlerts } from '@tollgate/sdk';

let subscription;
const first = new Promise((resolve) => {
  subscribeAlerts({
    brokers: process.env.BROKERS.split(','),
    topic: process.env.TOPIC,
    fromBeginning: true,
    onAlert: resolve,
  }).then((s) => (subscription = s));
});
const alert = await first;
await subscription.close();
console.log(JSON.stringify(alert));
`;

describe('the SDK as an npm package', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  let scratch: string;
  let project: string;
  let tarball: string;
  before(async () => {
    ctx = await createTestContext({ partitions: 3 });
    await ctx.createTopics(
      topicSpecs(ctx.topics, 3).filter((spec) => [ctx.topics.usage, ctx.topics.alerts].includes(spec.name)),
    );
    scratch = mkdtempSync(join(tmpdir(), 'tollgate-sdk-package-'));
    const packed = await exec(
      process.execPath,
      [resolve(repoRoot, 'packages/sdk/scripts/pack.ts'), join(scratch, 'pack')],
      { cwd: repoRoot },
    );
    tarball = packed.stdout.trim().split('\n').at(-1)!.split(':')[0]!;
    project = join(scratch, 'agent');
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'agent', private: true, type: 'module' }),
    );
    writeFileSync(join(project, 'agent.mjs'), AGENT);
    writeFileSync(join(project, 'subscriber.mjs'), SUBSCRIBER);
    await exec(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball],
      { cwd: project },
    );
  });
  after(async () => {
    await ctx.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('installs with its four npm dependencies; kafkajs (patched) and core are inside the bundle', () => {
    assert.match(tarball, /tollgate-sdk-\d+\.\d+\.\d+\.tgz$/);
    const installed = JSON.parse(
      readFileSync(join(project, 'node_modules/@tollgate/sdk/package.json'), 'utf8'),
    ) as { dependencies: Record<string, string> };
    assert.deepEqual(Object.keys(installed.dependencies).sort(), ['avsc', 'pino', 'yaml', 'zod']);
    const bundle = readFileSync(join(project, 'node_modules/@tollgate/sdk/index.mjs'), 'utf8');
    assert.doesNotMatch(bundle, /from ["'](kafkajs|@tollgate\/core|fastify|@clickhouse\/client)["']/);
  });

  it('runs the README example as plain JavaScript: events on the topic, ceilings from the bundled rate card', async () => {
    const { stdout, stderr } = await exec(process.execPath, ['agent.mjs'], {
      cwd: project,
      env: { ...process.env, BROKERS: ctx.brokers.join(','), TOPIC: ctx.topics.usage, NODE_OPTIONS: '' },
      timeout: 60_000,
    }).catch((err) => {
      throw new Error(`agent.mjs failed: ${err.stderr || err.message}`);
    });
    // Without a logger the SDK prints nothing, and Node 24 warns about nothing (no negative timers).
    assert.equal(stderr, '');
    const seen = JSON.parse(stdout) as {
      workers: number;
      spentNanos: number;
      subagents: number;
      refused: { ceiling: string; requested: number } | string | null;
    };
    assert.equal(seen.workers, 49, 'subagentsPerRun 50, one taken by the researcher');
    assert.equal(seen.subagents, 50);
    // List prices (reference/prices.md), in nano-dollars: claude-sonnet-4-5 300 uncached input × 3,000 +
    // 4,096 cache reads × 300 + 90 output × 15,000; e2b 42 vCPU-s × 14,000 + 84 GiB-s × 4,500.
    assert.equal(seen.spentNanos, 300 * 3_000 + 4_096 * 300 + 90 * 15_000 + 42 * 14_000 + 84 * 4_500);
    // Worst case of the refused request: 1,000 input × 3,000 + 1,000 output × 15,000 = $0.018 > $0.01.
    assert.deepEqual(seen.refused, { ceiling: 'cost_per_run', requested: 18_000_000 });

    const codec = createUsageCodec();
    const events = (await readTopic(ctx.kafka, ctx.topics.usage))
      .map((m) => codec.decode(m.value))
      .flatMap((d) => (d.ok ? [d.value] : []));
    const first = events.filter((e) => e.tags.ticket === 'T-1');
    const count = (kind: UsageEvent['kind']) => first.filter((e) => e.kind === kind).length;
    assert.deepEqual(
      [
        count('run_start'),
        count('model_call'),
        count('subagent_spawn'),
        count('tool_call'),
        count('sandbox'),
      ],
      [1, 1, 50, 1, 1],
    );
    assert.equal(first.at(-1)!.run_end!.outcome, 'success');
    assert.ok(
      first.every((e) => e.org_id === 'acme' && e.customer_id === 'cust-42' && e.tags.team === 'care'),
    );
    const degraded = first.find((e) => e.kind === 'ceiling_decision')!.ceiling_decision!;
    assert.deepEqual([degraded.decision, degraded.requested, degraded.granted], ['degraded', 400, 49]);
    const second = events.filter((e) => e.tags.ticket === 'T-2');
    assert.deepEqual(
      second.map((e) => e.kind),
      ['run_start', 'ceiling_decision', 'run_end'],
    );
    assert.equal(second[1]!.ceiling_decision!.decision, 'refused');
  });

  it('subscribes to alerts: the packaged schemas decode what the detector publishes', async () => {
    const published = { ...exampleCostAlert(), alert_id: 'from-the-detector' };
    const producer = ctx.kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({
      topic: ctx.topics.alerts,
      messages: [{ key: published.alert_id, value: createAlertCodec().encode(published) }],
    });
    await producer.disconnect();
    const { stdout } = await exec(process.execPath, ['subscriber.mjs'], {
      cwd: project,
      env: { ...process.env, BROKERS: ctx.brokers.join(','), TOPIC: ctx.topics.alerts },
      timeout: 60_000,
    });
    assert.deepEqual(JSON.parse(stdout), published);
  });

  it('ships types: the example type-checks in a TypeScript project, and a wrong call does not', async () => {
    const tsc = resolve(repoRoot, 'node_modules/typescript/bin/tsc');
    const compilerOptions = {
      target: 'es2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      noEmit: true,
      types: ['node'],
      typeRoots: [resolve(repoRoot, 'node_modules/@types')],
    };
    writeFileSync(join(project, 'agent.ts'), AGENT);
    writeFileSync(join(project, 'wrong.ts'), `${AGENT}\nawait run.end('succeeded');\n`);
    const check = async (file: string) => {
      writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: [file] }));
      return exec(process.execPath, [tsc, '-p', '.'], { cwd: project }).then(
        () => '',
        (err: { stdout: string }) => err.stdout,
      );
    };
    assert.equal(await check('agent.ts'), '');
    assert.match(
      await check('wrong.ts'),
      /wrong\.ts\(\d+,\d+\): error TS2345: Argument of type '"succeeded"'/,
    );
  });
});
