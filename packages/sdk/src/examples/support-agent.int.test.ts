/**
 * The README's example agent, run against the real broker with provider clients that answer like the
 * real APIs (their usage payloads are the providers' shapes). The events on the topic must tell the
 * whole story: every kind, the tree, and a run stopped by its subagent ceiling.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUsageCodec, topicSpecs, type UsageEvent } from '@tollgate/core';
import { createTestContext, skipIntegration, type TestContext } from '@tollgate/test/support';
import type { CeilingExceededError } from '../errors.ts';
import { createMeter, type MeterOptions } from '../meter.ts';
import { readTopic } from '../test-consumer.ts';
import { answerTicket, type Clients } from './support-agent.ts';

const clients: Clients = {
  anthropic: {
    messages: {
      create: async () => ({
        content: [{ type: 'text', text: 'refund rules; card network delays; duplicate charges' }],
        usage: {
          input_tokens: 310,
          cache_read_input_tokens: 4_096,
          cache_creation_input_tokens: 0,
          cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
          output_tokens: 96,
          service_tier: 'standard',
        },
      }),
    },
  },
  openai: {
    chat: {
      completions: {
        create: async () => ({
          choices: [{ message: { content: 'Refunds settle in 5-10 business days.' } }],
          usage: {
            prompt_tokens: 1_420,
            completion_tokens: 210,
            total_tokens: 1_630,
            prompt_tokens_details: { cached_tokens: 1_024 },
            completion_tokens_details: { reasoning_tokens: 128 },
          },
          service_tier: 'default',
        }),
      },
    },
  },
  gemini: {
    models: {
      generateContent: async () => ({
        text: 'Your refund was issued on the 3rd and should arrive by the 13th.',
        usageMetadata: {
          promptTokenCount: 33_210,
          cachedContentTokenCount: 32_768,
          candidatesTokenCount: 140,
          thoughtsTokenCount: 380,
          totalTokenCount: 33_730,
        },
      }),
    },
  },
  searchIndex: async () => ({ passages: ['Refunds take 5-10 days.'], readUnits: 6, embeddingTokens: 14 }),
  webSearch: async () => ['visa refund timelines', 'duplicate charge reversal'],
  runInSandbox: async () => ({
    sandboxId: 'sbx-7f3a',
    vcpuSeconds: 42,
    gibSeconds: 84,
    downloadedBytes: 3_145_728,
    output: 'reproduced',
  }),
};

describe('the README example agent', { skip: skipIntegration }, () => {
  let ctx: TestContext;
  const codec = createUsageCodec();
  before(async () => {
    ctx = await createTestContext({ partitions: 3 });
    await ctx.createTopics(topicSpecs(ctx.topics, 3).filter((spec) => spec.name === ctx.topics.usage));
  });
  after(() => ctx.cleanup());

  const options = (extra: Partial<MeterOptions> = {}): MeterOptions => ({
    brokers: ctx.brokers,
    clientId: 'support-bot',
    topic: ctx.topics.usage,
    defaults: { org_id: 'acme', feature: 'support-bot', environment: 'prod' },
    ...extra,
  });

  async function eventsOf(ticket: string): Promise<UsageEvent[]> {
    return (await readTopic(ctx.kafka, ctx.topics.usage))
      .map((m) => codec.decode(m.value))
      .flatMap((d) => (d.ok ? [d.value] : []))
      .filter((e) => e.tags.ticket === ticket);
  }

  it('records every kind of usage of a ticket, attributed down the tree', async () => {
    const meter = createMeter(
      options({ ceilings: { tokensPerRequest: 50_000, costPerRun: '2.00', subagentsPerRun: 10 } }),
    );
    const answer = await answerTicket(meter, clients, {
      id: 'T-1001',
      customerId: 'cust-9',
      question: 'Where is my refund?',
    });
    await meter.close();
    assert.match(answer, /refund/);

    const events = await eventsOf('T-1001');
    assert.deepEqual(
      new Set(events.map((e) => e.kind)),
      new Set([
        'run_start',
        'retrieval',
        'model_call',
        'subagent_spawn',
        'tool_call',
        'sandbox',
        'egress',
        'cache_storage',
        'run_end',
      ]),
    );
    assert.equal(new Set(events.map((e) => e.run_id)).size, 1);
    assert.ok(events.every((e) => e.customer_id === 'cust-9' && e.feature === 'support-bot'));
    const sandbox = events.find((e) => e.kind === 'sandbox')!;
    assert.equal(sandbox.agent_name, 'coder');
    assert.equal(sandbox.agent_depth, 2);
    const gemini = events.find((e) => e.model === 'gemini-2.5-flash')!.model_call!;
    assert.deepEqual(
      [gemini.input_tokens, gemini.cache_read_tokens, gemini.output_tokens, gemini.reasoning_tokens],
      [33_210, 32_768, 520, 380],
    );
    assert.equal(
      events.filter((e) => e.kind === 'model_call' && e.provider === 'openai' && e.agent_depth === 1).length,
      3,
    );
    assert.equal(events.at(-1)!.run_end!.outcome, 'success');
  });

  it('stops at the subagent ceiling: degraded fan-out, refused coder, run cancelled', async () => {
    const meter = createMeter(options({ ceilings: { subagentsPerRun: 2 } }));
    await assert.rejects(
      answerTicket(meter, clients, { id: 'T-1002', customerId: 'cust-9', question: 'Charged twice?' }),
      (err: CeilingExceededError) => err.ceiling === 'subagents_per_run' && err.observed === 2,
    );
    await meter.close();

    const events = await eventsOf('T-1002');
    assert.deepEqual(
      events
        .filter((e) => e.kind === 'ceiling_decision')
        .map((e) => [e.ceiling_decision!.decision, e.ceiling_decision!.granted]),
      [
        ['degraded', 2],
        ['refused', 0],
      ],
    );
    assert.equal(events.filter((e) => e.kind === 'subagent_spawn').length, 2);
    assert.equal(events.at(-1)!.run_end!.outcome, 'cancelled');
  });
});
