/**
 * The SDK against the real broker: every kind published through the public API, read back as bytes
 * and decoded by the current reader and by a v1 reader (a consumer that has not upgraded); the spawn
 * tree and the ceiling decisions as downstream stages will see them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAvroCodec, createUsageCodec, topicSpecs, type UsageEvent } from '@tollgate/core';
import { createTestContext, skipIntegration, type TestContext } from '@tollgate/test/support';
import { CeilingExceededError } from './errors.ts';
import { createMeter, type Meter, type MeterOptions } from './meter.ts';
import { fromAnthropicUsage, fromGeminiUsage, fromOpenAIUsage } from './normalize.ts';
import { readTopic } from './test-consumer.ts';

describe('SDK through the real broker', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  const current = createUsageCodec();
  const v1 = createAvroCodec<Record<string, unknown>>('usage-event', { version: 1 });

  before(async () => {
    ctx = await createTestContext({ partitions: 3 });
    await ctx.createTopics(topicSpecs(ctx.topics, 3).filter((spec) => spec.name === ctx.topics.usage));
  });
  after(() => ctx.cleanup());

  function meter(extra: Partial<MeterOptions> = {}): Meter {
    return createMeter({
      brokers: ctx.brokers,
      clientId: 'sdk-int',
      topic: ctx.topics.usage,
      defaults: { org_id: 'acme', feature: 'support-bot', environment: 'test', tags: { team: 'care' } },
      logger: ctx.logger,
      ...extra,
    });
  }

  async function eventsOnTopic(
    runId: string,
  ): Promise<{ key: string; event: UsageEvent; v1: Record<string, unknown> }[]> {
    const out = [];
    for (const message of await readTopic(ctx.kafka, ctx.topics.usage)) {
      if (message.key !== runId) continue;
      const now = current.decode(message.value);
      const old = v1.decode(message.value);
      assert.ok(now.ok, now.ok ? '' : now.reason);
      assert.ok(old.ok, old.ok ? '' : old.reason);
      assert.equal(now.writer, 'tollgate.UsageEvent@2');
      out.push({ key: message.key, event: now.value, v1: old.value });
    }
    return out;
  }

  it('publishes every kind keyed by run id, readable by the current and the v1 reader', async () => {
    const estimateCost = (e: UsageEvent) => (e.model_call ? e.model_call.input_tokens * 3_000 : null);
    const m = meter({ ceilings: { tokensPerRequest: 200_000, costPerRun: '10.00' }, estimateCost });
    const run = await m.startRun({
      runId: `run-kinds-${ctx.database}`,
      agentName: 'orchestrator',
      trigger: 'test',
    });
    run.recordModelCall({
      provider: 'openai',
      model: 'gpt-5',
      usage: fromOpenAIUsage({
        prompt_tokens: 2006,
        completion_tokens: 300,
        prompt_tokens_details: { cached_tokens: 1920 },
        completion_tokens_details: { reasoning_tokens: 192 },
      }),
      durationMs: 1840,
    });
    run.recordModelCall({
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      usage: fromAnthropicUsage({
        input_tokens: 12,
        cache_read_input_tokens: 10_240,
        cache_creation_input_tokens: 2048,
        cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 2048 },
        output_tokens: 503,
      }),
    });
    run.recordModelCall({
      provider: 'google',
      model: 'gemini-2.5-pro',
      serviceTier: 'batch',
      usage: fromGeminiUsage({
        promptTokenCount: 9120,
        cachedContentTokenCount: 8192,
        candidatesTokenCount: 412,
        thoughtsTokenCount: 1180,
      }),
    });
    run.recordToolCall({ toolName: 'web_search', provider: 'openai', args: { q: 'refund policy' } });
    run.recordSandbox({ provider: 'e2b', sandboxId: 'sbx-1', vcpuSeconds: 60, gibSeconds: 120 });
    run.recordRetrieval({ provider: 'pinecone', queries: 2, readUnits: 12 });
    run.recordCacheStorage({ provider: 'google', model: 'gemini-2.5-pro', tokenHours: 8192 });
    run.recordEgress({ provider: 'aws', bytes: 1_048_576, destination: 'internet' });
    const child = await run.spawn({ name: 'researcher' });
    child.recordToolCall({ toolName: 'fetch', status: 'error' });
    assert.throws(
      () =>
        run.checkRequest({
          provider: 'openai',
          model: 'gpt-5',
          inputTokens: 190_000,
          maxOutputTokens: 20_000,
        }),
      CeilingExceededError,
    );
    await run.end('success');
    await m.close();

    const events = await eventsOnTopic(run.runId);
    assert.deepEqual(
      events.map((e) => e.event.kind),
      [
        'run_start',
        'model_call',
        'model_call',
        'model_call',
        'tool_call',
        'sandbox',
        'retrieval',
        'cache_storage',
        'egress',
        'subagent_spawn',
        'tool_call',
        'ceiling_decision',
        'run_end',
      ],
      'one run, one partition: the order recorded',
    );
    const calls = events.filter((e) => e.event.kind === 'model_call').map((e) => e.event.model_call!);
    assert.deepEqual(
      calls.map((c) => [
        c.input_tokens,
        c.cache_read_tokens,
        c.cache_write_1h_tokens,
        c.output_tokens,
        c.reasoning_tokens,
      ]),
      [
        [2006, 1920, 0, 300, 192],
        [12_300, 10_240, 2048, 503, 0],
        [9120, 8192, 0, 1592, 1180],
      ],
    );
    assert.equal(events[3]!.event.service_tier, 'batch');
    for (const { event, v1: old } of events) {
      // The v1 reader sees the same event without the fields v2 added, and an unknown kind for the one kind it lacks.
      const { agent_depth: _depth, ceiling_decision: _decision, ...expected } = event;
      assert.deepEqual(old, event.kind === 'ceiling_decision' ? { ...expected, kind: 'unknown' } : expected);
    }
    assert.equal(new Set(events.map((e) => e.event.event_id)).size, events.length);
  });

  it('delivers the same way with the producer on the calling thread', async () => {
    const m = meter({ producerThread: 'main' });
    const run = await m.startRun({ runId: `run-main-thread-${ctx.database}` });
    for (let i = 0; i < 500; i++)
      await run.recordModelCall({
        provider: 'openai',
        model: 'gpt-5-nano',
        usage: { input_tokens: i, output_tokens: 1 },
      });
    await run.end('success');
    await m.close();
    const events = await eventsOnTopic(run.runId);
    assert.equal(events.length, 502);
    assert.deepEqual(
      events.filter((e) => e.event.kind === 'model_call').map((e) => e.event.model_call!.input_tokens),
      Array.from({ length: 500 }, (_, i) => i),
      'in the order recorded',
    );
  });

  it('spawn trees three levels deep arrive with the right parents and depths', async () => {
    const m = meter();
    const run = await m.startRun({ runId: `run-tree-${ctx.database}` });
    const planners = await run.spawnMany(2, { name: 'planner' });
    const leaves = [];
    for (const planner of planners) {
      const [worker] = await planner.spawnMany(1, { name: 'worker' });
      const leaf = await worker!.spawn({ name: 'reader' });
      leaf.recordModelCall({
        provider: 'openai',
        model: 'gpt-5-mini',
        usage: { input_tokens: 100, output_tokens: 10 },
      });
      leaves.push({ planner, worker: worker!, leaf });
    }
    await run.end('success');
    await m.close();

    const events = (await eventsOnTopic(run.runId)).map((e) => e.event);
    const parentOf = new Map<string, string | null>([[run.agentId, null]]);
    const depthOf = new Map<string, number>([[run.agentId, 0]]);
    for (const e of events.filter((x) => x.kind === 'subagent_spawn')) {
      parentOf.set(e.subagent_spawn!.child_agent_id, e.agent_id!);
      depthOf.set(e.subagent_spawn!.child_agent_id, e.subagent_spawn!.child_depth);
    }
    assert.equal(parentOf.size, 1 + 2 + 2 + 2);
    for (const { planner, worker, leaf } of leaves) {
      assert.equal(parentOf.get(planner.agentId), run.agentId);
      assert.equal(parentOf.get(worker.agentId), planner.agentId);
      assert.equal(parentOf.get(leaf.agentId), worker.agentId);
      assert.equal(depthOf.get(leaf.agentId), 3);
    }
    // Every event names its agent's parent and depth as the spawn events built them.
    for (const e of events) {
      assert.equal(e.parent_agent_id, parentOf.get(e.agent_id!), e.kind);
      assert.equal(e.agent_depth, depthOf.get(e.agent_id!), e.kind);
    }
    assert.equal(events.filter((e) => e.kind === 'model_call' && e.agent_depth === 3).length, 2);
  });

  it('a fan-out of 400 degrades to the subagent ceiling, and the decisions are on the topic', async () => {
    const m = meter({ ceilings: { subagentsPerRun: 50, spawnDepth: 1 } });
    const run = await m.startRun({ runId: `run-fanout-${ctx.database}` });
    const workers = await run.spawnMany(400, { name: 'worker' });
    assert.equal(workers.length, 50);
    await assert.rejects(
      workers[0]!.spawn({ name: 'helper' }),
      (err: CeilingExceededError) => err.ceiling === 'spawn_depth',
    );
    await assert.rejects(run.spawn(), (err: CeilingExceededError) => err.ceiling === 'subagents_per_run');
    await run.end('success');
    await m.close();

    const events = (await eventsOnTopic(run.runId)).map((e) => e.event);
    assert.equal(events.filter((e) => e.kind === 'subagent_spawn').length, 50);
    assert.deepEqual(
      events.filter((e) => e.kind === 'ceiling_decision').map((e) => [e.agent_depth, e.ceiling_decision]),
      [
        [
          0,
          {
            ceiling: 'subagents_per_run',
            decision: 'degraded',
            limit: 50,
            requested: 400,
            granted: 50,
            observed: 0,
          },
        ],
        [1, { ceiling: 'spawn_depth', decision: 'refused', limit: 1, requested: 2, granted: 0, observed: 1 }],
        [
          0,
          {
            ceiling: 'subagents_per_run',
            decision: 'refused',
            limit: 50,
            requested: 1,
            granted: 0,
            observed: 50,
          },
        ],
      ],
    );
  });
});
