import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, createUsageCodec, type UsageEvent, ValidationError } from '@tollgate/core';
import type { Transport } from './delivery.ts';
import type { CeilingExceededError } from './errors.ts';
import { createMeter, type MeterOptions } from './meter.ts';
import { fromAnthropicUsage } from './normalize.ts';
import { keyHash } from './partitioner.ts';

/**
 * The API over an in-memory transport that decodes what the SDK would send: what these tests check
 * is what a developer sees (events, tree, errors). The same calls go to the real broker in
 * meter.int.test.ts.
 */
function capture() {
  const codec = createUsageCodec();
  const events: UsageEvent[] = [];
  const keys: string[] = [];
  const transport: Transport = {
    async send(batch) {
      for (const m of batch) {
        assert.equal(m.keyHash, keyHash(m.key), 'partition hash of the key');
        const decoded = codec.decode(m.value);
        assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
        events.push(decoded.value);
        keys.push(m.key.toString());
      }
    },
    isRetriable: () => false,
    async close() {},
  };
  return { transport, events, keys };
}

function meterWith(extra: Partial<MeterOptions> = {}) {
  const sink = capture();
  const meter = createMeter({
    brokers: ['unused:9092'],
    clientId: 'unit',
    defaults: { org_id: 'acme', feature: 'support-bot', environment: 'prod', tags: { team: 'care' } },
    transport: sink.transport,
    lingerMs: 0,
    ...extra,
  });
  return { meter, ...sink };
}

const usage = { input_tokens: 1200, output_tokens: 300 };

describe('meter', () => {
  it('records a run with its business tags, keyed by run id, from run_start to run_end', async () => {
    const { meter, events, keys } = meterWith();
    const run = await meter.startRun({
      runId: 'run-42',
      agentName: 'planner',
      customer_id: 'cust-7',
      tags: { ticket: 'T-1' },
    });
    assert.equal(
      run.recordModelCall({ provider: 'anthropic', model: 'claude-sonnet-4-5', usage, durationMs: 812.4 }),
      undefined,
      'a record call with room returns synchronously',
    );
    run.recordToolCall({ toolName: 'search_kb', args: { q: 'refund', limit: 5 }, durationMs: 40 });
    await run.end('success');
    await meter.close();

    assert.deepEqual(
      events.map((e) => e.kind),
      ['run_start', 'model_call', 'tool_call', 'run_end'],
    );
    assert.ok(keys.every((k) => k === 'run-42'));
    for (const e of events) {
      assert.equal(e.run_id, 'run-42');
      assert.equal(e.agent_id, run.agentId);
      assert.equal(e.parent_agent_id, null);
      assert.equal(e.agent_depth, 0);
      assert.equal(e.agent_name, 'planner');
      assert.equal(e.org_id, 'acme');
      assert.equal(e.feature, 'support-bot');
      assert.equal(e.customer_id, 'cust-7');
      assert.equal(e.environment, 'prod');
      assert.deepEqual(e.tags, { team: 'care', ticket: 'T-1' });
      assert.equal(e.source, 'sdk');
    }
    assert.equal(new Set(events.map((e) => e.event_id)).size, 4);
    assert.equal(events[1]!.model_call!.duration_ms, 812);
    assert.equal(events[1]!.provider, 'anthropic');
    assert.equal(events[3]!.run_end!.outcome, 'success');
  });

  it('records every kind, with the Anthropic usage normalised to OpenTelemetry counts', async () => {
    const { meter, events } = meterWith();
    const run = await meter.startRun();
    run.recordModelCall({
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      serviceTier: 'standard',
      usage: fromAnthropicUsage({
        input_tokens: 12,
        cache_read_input_tokens: 10_240,
        cache_creation_input_tokens: 2048,
        cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 2048 },
        output_tokens: 503,
      }),
      providerCost: { amount: '0.0161', currency: 'USD' },
    });
    run.recordToolCall({
      toolName: 'web_search',
      provider: 'openai',
      signature: 'q=weather',
      status: 'error',
    });
    run.recordSandbox({
      provider: 'e2b',
      sandboxId: 'sbx-1',
      vcpuSeconds: 120.5,
      gibSeconds: 241,
      idleSeconds: 30,
    });
    run.recordRetrieval({
      provider: 'pinecone',
      queries: 3,
      readUnits: 18,
      embeddingTokens: 96,
      embeddingModel: 'text-embedding-3-small',
      indexName: 'kb',
    });
    run.recordCacheStorage({ provider: 'google', model: 'gemini-2.5-pro', tokenHours: 32_768 });
    run.recordEgress({ provider: 'aws', bytes: 5_000_000, destination: 'internet' });
    await run.end('failure', { durationMs: 1500 });
    await meter.flush();
    const byKind = new Map(events.map((e) => [e.kind, e]));
    assert.deepEqual(byKind.get('model_call')!.model_call, {
      operation: 'chat',
      input_tokens: 12_300,
      cache_read_tokens: 10_240,
      cache_write_5m_tokens: 0,
      cache_write_1h_tokens: 2048,
      output_tokens: 503,
      reasoning_tokens: 0,
      duration_ms: 0,
    });
    assert.deepEqual(byKind.get('model_call')!.provider_cost, { amount: '0.0161', currency: 'USD' });
    assert.equal(byKind.get('model_call')!.service_tier, 'default');
    assert.deepEqual(byKind.get('tool_call')!.tool_call, {
      tool_name: 'web_search',
      call_signature: 'q=weather',
      status: 'error',
      duration_ms: 0,
    });
    assert.deepEqual(byKind.get('sandbox')!.sandbox, {
      sandbox_id: 'sbx-1',
      vcpu_seconds: 120.5,
      gib_seconds: 241,
      idle_seconds: 30,
    });
    assert.equal(byKind.get('retrieval')!.retrieval!.read_units, 18);
    assert.equal(byKind.get('cache_storage')!.model, 'gemini-2.5-pro');
    assert.equal(byKind.get('egress')!.egress!.bytes, 5_000_000);
    assert.deepEqual(byKind.get('run_end')!.run_end, { outcome: 'failure', duration_ms: 1500 });
    await meter.close();
  });

  it('builds the spawn tree: ids, parents and depths come from the handles', async () => {
    const { meter, events } = meterWith();
    const run = await meter.startRun({ agentName: 'orchestrator' });
    const researcher = await run.spawn({ name: 'researcher' });
    const [a, b] = await researcher.spawnMany(2, { name: 'reader' });
    const summariser = await a!.spawn({ name: 'summariser' });
    summariser.recordModelCall({ provider: 'openai', model: 'gpt-5-mini', usage });
    await meter.close();

    assert.equal(researcher.parentAgentId, run.agentId);
    assert.equal(researcher.depth, 1);
    assert.deepEqual([a!.parentAgentId, b!.parentAgentId], [researcher.agentId, researcher.agentId]);
    assert.equal(summariser.depth, 3);
    assert.equal(summariser.parentAgentId, a!.agentId);
    assert.equal(run.subagentCount, 4);

    const spawns = events.filter((e) => e.kind === 'subagent_spawn');
    assert.deepEqual(
      spawns.map((e) => [
        e.agent_id,
        e.agent_depth,
        e.subagent_spawn!.child_agent_id,
        e.subagent_spawn!.child_depth,
      ]),
      [
        [run.agentId, 0, researcher.agentId, 1],
        [researcher.agentId, 1, a!.agentId, 2],
        [researcher.agentId, 1, b!.agentId, 2],
        [a!.agentId, 2, summariser.agentId, 3],
      ],
    );
    const call = events.find((e) => e.kind === 'model_call')!;
    assert.deepEqual(
      [call.agent_id, call.parent_agent_id, call.agent_depth, call.agent_name],
      [summariser.agentId, a!.agentId, 3, 'summariser'],
    );
  });

  it('throws a ValidationError naming the field and the rule, and sends nothing', async () => {
    const { meter, events } = meterWith();
    const run = await meter.startRun();
    const cases: [() => unknown, string, RegExp][] = [
      [
        () =>
          run.recordModelCall({
            provider: 'openai',
            model: 'gpt-5',
            usage: { input_tokens: 100, output_tokens: 5, cache_read_tokens: 101 },
          }),
        'model_call.cache_read_tokens',
        /must not exceed input_tokens/,
      ],
      [
        () =>
          run.recordModelCall({
            provider: 'openai',
            model: 'gpt-5',
            usage: { input_tokens: 100, output_tokens: 5, reasoning_tokens: 6 },
          }),
        'model_call.reasoning_tokens',
        /must not exceed output_tokens/,
      ],
      [
        () =>
          run.recordModelCall({
            provider: 'openai',
            model: 'gpt-5',
            usage: { input_tokens: -1, output_tokens: 5 },
          }),
        'model_call.input_tokens',
        /non-negative integer/,
      ],
      [
        () =>
          run.recordModelCall({
            provider: 'openai',
            model: 'gpt-5',
            usage: { input_tokens: 1.5, output_tokens: 5 },
          }),
        'model_call.input_tokens',
        /integer/,
      ],
      [() => run.recordModelCall({ provider: '', model: 'gpt-5', usage }), 'provider', /non-empty/],
      [
        () => run.recordModelCall({ provider: 'openai', model: 'gpt-5', usage, serviceTier: 'gold' }),
        'serviceTier',
        /one of/,
      ],
      [() => run.recordToolCall({ toolName: '' }), 'toolName', /non-empty/],
      [
        () => run.recordSandbox({ provider: 'e2b', sandboxId: 's', vcpuSeconds: -3, gibSeconds: 1 }),
        'sandbox.vcpu_seconds',
        /non-negative/,
      ],
      [() => run.recordEgress({ bytes: Number.NaN }), 'egress.bytes', /non-negative integer/],
      [
        () =>
          run.recordModelCall({
            provider: 'openai',
            model: 'gpt-5',
            usage,
            providerCost: { amount: '1e-3', currency: 'USD' },
          }),
        'provider_cost.amount',
        /decimal/,
      ],
      [() => run.recordModelCall(undefined as never), 'recordModelCall', /options object/],
    ];
    for (const [call, field, rule] of cases) {
      assert.throws(call, (err: ValidationError) => {
        assert.ok(err instanceof ValidationError, String(err));
        assert.equal(err.code, 'TG_VALIDATION');
        assert.equal(err.field, field);
        assert.match(err.rule, rule);
        return true;
      });
    }
    await assert.rejects(
      run.end('exploded' as never),
      (err: ValidationError) => err.field === 'run_end.outcome',
    );
    await assert.rejects(
      meter.startRun({ tags: { n: 1 as never } }),
      (err: ValidationError) => err.field === 'tags.n',
    );
    await meter.flush();
    assert.deepEqual(
      events.map((e) => e.kind),
      ['run_start'],
    );
    await meter.close();
  });

  it('refuses a request over tokens_per_request before the call, and records the decision', async () => {
    const { meter, events } = meterWith({ ceilings: { tokensPerRequest: 100_000 } });
    const run = await meter.startRun();
    assert.deepEqual(
      run.checkRequest({ provider: 'openai', model: 'gpt-5', inputTokens: 90_000, maxOutputTokens: 10_000 }),
      {
        estimatedCostNanos: null,
      },
    );
    assert.throws(
      () =>
        run.checkRequest({
          provider: 'openai',
          model: 'gpt-5',
          inputTokens: 90_000,
          maxOutputTokens: 10_001,
        }),
      (err: CeilingExceededError) =>
        err.code === 'TG_SDK_CEILING' &&
        err.ceiling === 'tokens_per_request' &&
        err.limit === 100_000 &&
        err.requested === 100_001 &&
        err.observed === 0,
    );
    await meter.close();
    const decision = events.find((e) => e.kind === 'ceiling_decision')!;
    assert.deepEqual(decision.ceiling_decision, {
      ceiling: 'tokens_per_request',
      decision: 'refused',
      limit: 100_000,
      requested: 100_001,
      granted: 0,
      observed: 0,
    });
    assert.equal(decision.model, 'gpt-5');
  });

  it('refuses a call that would cross cost_per_run, from the estimated cost of recorded usage', async () => {
    // $3 per 1M input tokens, $15 per 1M output: 3,000 and 15,000 nanos per token.
    const estimateCost = (e: UsageEvent) =>
      e.model_call ? e.model_call.input_tokens * 3_000 + e.model_call.output_tokens * 15_000 : null;
    const { meter, events } = meterWith({ estimateCost, ceilings: { costPerRun: '0.05' } });
    const run = await meter.startRun();
    assert.equal(
      run.checkRequest({
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        inputTokens: 5_000,
        maxOutputTokens: 1_000,
      }).estimatedCostNanos,
      30_000_000,
    );
    run.recordModelCall({
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      usage: { input_tokens: 5_000, output_tokens: 1_000 },
    });
    assert.equal(run.spentNanos, 30_000_000);
    assert.throws(
      () =>
        run.checkRequest({
          provider: 'anthropic',
          model: 'claude-sonnet-4-5',
          inputTokens: 5_000,
          maxOutputTokens: 1_000,
        }),
      (err: CeilingExceededError) =>
        err.ceiling === 'cost_per_run' &&
        err.limit === 50_000_000 &&
        err.requested === 30_000_000 &&
        err.observed === 30_000_000,
    );
    // A run can lift its own ceiling.
    const generous = await meter.startRun({ ceilings: { costPerRun: null } });
    generous.recordModelCall({
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      usage: { input_tokens: 50_000, output_tokens: 1_000 },
    });
    generous.checkRequest({
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      inputTokens: 50_000,
      maxOutputTokens: 1_000,
    });
    await meter.close();
    assert.equal(events.filter((e) => e.kind === 'ceiling_decision').length, 1);
  });

  it('prices the cost ceiling with the default rate card when no estimator is given', async () => {
    const { meter, events } = meterWith({ ceilings: { costPerRun: '0.10' } });
    const run = await meter.startRun();
    // claude-sonnet-4-5 lists at $3 / $15 per 1M tokens: 10k in + 2k out = $0.03 + $0.03.
    const request = {
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      inputTokens: 10_000,
      maxOutputTokens: 2_000,
    };
    assert.equal(run.checkRequest(request).estimatedCostNanos, 60_000_000);
    run.recordModelCall({
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      usage: { input_tokens: 10_000, output_tokens: 2_000 },
    });
    assert.equal(run.spentNanos, 60_000_000);
    assert.throws(
      () => run.checkRequest(request),
      (err: CeilingExceededError) => err.ceiling === 'cost_per_run' && err.limit === 100_000_000,
    );
    // A model the card does not price cannot be estimated: allowed while budget is left.
    assert.equal(run.checkRequest({ ...request, model: 'in-house-7b' }).estimatedCostNanos, null);
    await meter.close();
    assert.equal(events.filter((e) => e.kind === 'ceiling_decision').length, 1);
  });

  it('says which rate card it could not load for a cost ceiling', async () => {
    const { meter } = meterWith({ ceilings: { costPerRun: '1.00' }, rateCardPath: '/nowhere/card.yaml' });
    await assert.rejects(
      meter.startRun(),
      (err: Error & { code?: string }) =>
        err.code === 'TG_CONFIG' && /\/nowhere\/card.yaml/.test(err.message),
    );
    await meter.close();
  });

  it('degrades spawnMany to what subagents_per_run allows, refuses spawn past it and past spawn_depth', async () => {
    const { meter, events } = meterWith({ ceilings: { subagentsPerRun: 5, spawnDepth: 1 } });
    const run = await meter.startRun();
    const first = await run.spawn({ name: 'lead' });
    const workers = await run.spawnMany(400, { name: 'worker' });
    assert.equal(workers.length, 4);
    assert.equal(run.subagentCount, 5);
    assert.deepEqual(await run.spawnMany(3), [], 'nothing left: an empty batch, not an error');
    await assert.rejects(
      run.spawn(),
      (err: CeilingExceededError) =>
        err.ceiling === 'subagents_per_run' && err.observed === 5 && err.limit === 5,
    );
    await assert.rejects(
      first.spawn(),
      (err: CeilingExceededError) => err.ceiling === 'spawn_depth' && err.requested === 2 && err.limit === 1,
    );
    await meter.close();
    assert.deepEqual(
      events.filter((e) => e.kind === 'ceiling_decision').map((e) => e.ceiling_decision),
      [
        {
          ceiling: 'subagents_per_run',
          decision: 'degraded',
          limit: 5,
          requested: 400,
          granted: 4,
          observed: 1,
        },
        {
          ceiling: 'subagents_per_run',
          decision: 'refused',
          limit: 5,
          requested: 3,
          granted: 0,
          observed: 5,
        },
        {
          ceiling: 'subagents_per_run',
          decision: 'refused',
          limit: 5,
          requested: 1,
          granted: 0,
          observed: 5,
        },
        { ceiling: 'spawn_depth', decision: 'refused', limit: 1, requested: 2, granted: 0, observed: 1 },
      ],
    );
    assert.equal(events.filter((e) => e.kind === 'subagent_spawn').length, 5);
  });

  it('gives identical tool calls one signature whatever the key order', async () => {
    const { meter, events } = meterWith();
    const run = await meter.startRun();
    run.recordToolCall({ toolName: 'fetch', args: { url: 'https://x', retries: 2 } });
    run.recordToolCall({ toolName: 'fetch', args: { retries: 2, url: 'https://x' } });
    run.recordToolCall({ toolName: 'fetch', args: { retries: 3, url: 'https://x' } });
    await meter.close();
    const signatures = events.filter((e) => e.kind === 'tool_call').map((e) => e.tool_call!.call_signature);
    assert.equal(signatures[0], signatures[1]);
    assert.notEqual(signatures[0], signatures[2]);
  });

  it('checks its options when created', () => {
    const base = { brokers: ['b:9092'], clientId: 'c', defaults: { org_id: 'acme' } };
    assert.throws(() => createMeter({ ...base, brokers: [] }), ConfigError);
    assert.throws(() => createMeter({ ...base, defaults: { org_id: '' } }), /defaults.org_id/);
    assert.throws(() => createMeter({ ...base, ceilings: { costPerRun: 'five' } }), /ceilings.costPerRun/);
    assert.throws(
      () => createMeter({ ...base, batchMaxBytes: 10_000_000, maxBufferedBytes: 1_000_000 }),
      /batchMaxBytes/,
    );
    assert.throws(() => createMeter({ ...base, lingerMs: -1 }), /lingerMs/);
    const sasl = { mechanism: 'plain' as const, username: 'svc', password: 'p' };
    assert.throws(
      () => createMeter({ ...base, sasl: { ...sasl, mechanism: 'gssapi' as 'plain' } }),
      /sasl.mechanism must be one of plain, scram-sha-256, scram-sha-512/,
    );
    assert.throws(() => createMeter({ ...base, sasl: { ...sasl, password: '' } }), /sasl.password/);
    assert.throws(
      () => createMeter({ ...base, ssl: { ca: Buffer.from('x') as never } }),
      /ssl.ca must be PEM text/,
    );
    assert.throws(() => createMeter({ ...base, ssl: { cert: 'PEM' } }), /ssl.cert and ssl.key go together/);
  });

  it('refuses an event too large for one produce request before it is buffered', async () => {
    const { meter, events } = meterWith({ batchMaxBytes: 2048 });
    const run = await meter.startRun({ tags: { note: 'x'.repeat(1500) } });
    assert.throws(
      () => run.recordToolCall({ toolName: 'fetch', signature: 'y'.repeat(600) }),
      (err: ValidationError) => err.field === 'event' && /batchMaxBytes/.test(err.rule),
    );
    await meter.close();
    assert.deepEqual(
      events.map((e) => e.kind),
      ['run_start'],
    );
  });

  it('refuses calls after close', async () => {
    const { meter } = meterWith();
    const run = await meter.startRun();
    await meter.close();
    assert.throws(
      () => run.recordEgress({ bytes: 1 }),
      (err: Error & { code?: string }) => err.code === 'TG_SDK_CLOSED',
    );
    await assert.rejects(meter.startRun(), (err: Error & { code?: string }) => err.code === 'TG_SDK_CLOSED');
  });
});
