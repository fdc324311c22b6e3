import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exampleModelCall, exampleUsageEvents } from './examples.ts';
import type { UsageEvent, UsageKind } from './types.ts';
import { validateUsageEvent } from './validate.ts';

function example(kind: UsageKind): UsageEvent {
  return exampleUsageEvents().find((event) => event.kind === kind)!;
}

/** [what is wrong, the event, the field the result must name, the rule it must state]. */
type Case = [string, () => UsageEvent, string, RegExp];

function withModelCall(patch: Partial<NonNullable<UsageEvent['model_call']>>): UsageEvent {
  const event = exampleModelCall();
  return { ...event, model_call: { ...event.model_call!, ...patch } };
}

function withBody<K extends UsageKind>(kind: K, patch: Record<string, unknown>): UsageEvent {
  const event = example(kind);
  return { ...event, [kind]: { ...(event[kind] as object), ...patch } };
}

const FAILING: Case[] = [
  ['empty event_id', () => ({ ...exampleModelCall(), event_id: '' }), 'event_id', /non-empty/],
  ['missing run_id', () => ({ ...exampleModelCall(), run_id: undefined as never }), 'run_id', /non-empty/],
  ['empty org_id', () => ({ ...exampleModelCall(), org_id: '' }), 'org_id', /non-empty/],
  ['empty source', () => ({ ...exampleModelCall(), source: '' }), 'source', /non-empty/],
  ['fractional event_time', () => ({ ...exampleModelCall(), event_time: 1.5 }), 'event_time', /integer/],
  ['negative event_time', () => ({ ...exampleModelCall(), event_time: -1 }), 'event_time', /non-negative/],
  ['NaN event_time', () => ({ ...exampleModelCall(), event_time: Number.NaN }), 'event_time', /integer/],
  [
    'unknown kind',
    () => ({ ...exampleModelCall(), kind: 'unknown' as never }),
    'kind',
    /must be one of model_call/,
  ],
  [
    'unknown service tier',
    () => ({ ...exampleModelCall(), service_tier: 'turbo' as never }),
    'service_tier',
    /one of/,
  ],
  [
    'negative agent_depth',
    () => ({ ...exampleModelCall(), agent_depth: -1 }),
    'agent_depth',
    /non-negative integer/,
  ],
  ['numeric agent_id', () => ({ ...exampleModelCall(), agent_id: 7 as never }), 'agent_id', /string or null/],
  ['numeric tag value', () => ({ ...exampleModelCall(), tags: { team: 3 as never } }), 'tags.team', /string/],
  ['tags not an object', () => ({ ...exampleModelCall(), tags: null as never }), 'tags', /object/],
  [
    'float provider cost',
    () => ({ ...exampleModelCall(), provider_cost: { amount: 0.01 as never, currency: 'USD' } }),
    'provider_cost.amount',
    /decimal string/,
  ],
  [
    'exponent provider cost',
    () => ({ ...exampleModelCall(), provider_cost: { amount: '1e-3', currency: 'USD' } }),
    'provider_cost.amount',
    /decimal string/,
  ],
  [
    'lower-case currency',
    () => ({ ...exampleModelCall(), provider_cost: { amount: '1.5', currency: 'usd' } }),
    'provider_cost.currency',
    /ISO 4217/,
  ],
  [
    'body named by kind missing',
    () => ({ ...exampleModelCall(), model_call: null }),
    'model_call',
    /must be present when kind is model_call/,
  ],
  [
    'a second body',
    () => ({ ...exampleModelCall(), egress: { bytes: 1, destination: null } }),
    'egress',
    /must be null when kind is model_call/,
  ],
  [
    'negative input tokens',
    () => withModelCall({ input_tokens: -1 }),
    'model_call.input_tokens',
    /non-negative integer/,
  ],
  [
    'fractional output tokens',
    () => withModelCall({ output_tokens: 2.5 }),
    'model_call.output_tokens',
    /integer/,
  ],
  ['negative duration', () => withModelCall({ duration_ms: -3 }), 'model_call.duration_ms', /non-negative/],
  [
    'count past 2^53 − 2',
    () => withModelCall({ duration_ms: 2 ** 53 - 1 }),
    'model_call.duration_ms',
    /integer/,
  ],
  [
    'cache reads above input',
    () =>
      withModelCall({
        input_tokens: 100,
        cache_read_tokens: 101,
        cache_write_5m_tokens: 0,
        cache_write_1h_tokens: 0,
      }),
    'model_call.cache_read_tokens',
    /cache reads plus writes must not exceed input_tokens/,
  ],
  [
    'cache reads plus writes above input',
    () =>
      withModelCall({
        input_tokens: 100,
        cache_read_tokens: 50,
        cache_write_5m_tokens: 30,
        cache_write_1h_tokens: 21,
      }),
    'model_call.cache_read_tokens',
    /cache reads plus writes must not exceed input_tokens/,
  ],
  [
    'reasoning above output',
    () => withModelCall({ output_tokens: 10, reasoning_tokens: 11 }),
    'model_call.reasoning_tokens',
    /must not exceed output_tokens/,
  ],
  ['empty tool name', () => withBody('tool_call', { tool_name: '' }), 'tool_call.tool_name', /non-empty/],
  [
    'unknown tool status',
    () => withBody('tool_call', { status: 'maybe' }),
    'tool_call.status',
    /ok or error/,
  ],
  [
    'child depth not parent + 1',
    () => withBody('subagent_spawn', { child_depth: 3 }),
    'subagent_spawn.child_depth',
    /agent_depth \+ 1/,
  ],
  [
    'negative vCPU seconds',
    () => withBody('sandbox', { vcpu_seconds: -0.5 }),
    'sandbox.vcpu_seconds',
    /non-negative/,
  ],
  [
    'infinite GiB seconds',
    () => withBody('sandbox', { gib_seconds: Number.POSITIVE_INFINITY }),
    'sandbox.gib_seconds',
    /finite/,
  ],
  [
    'NaN idle seconds',
    () => withBody('sandbox', { idle_seconds: Number.NaN }),
    'sandbox.idle_seconds',
    /finite/,
  ],
  ['fractional queries', () => withBody('retrieval', { queries: 1.5 }), 'retrieval.queries', /integer/],
  [
    'negative read units',
    () => withBody('retrieval', { read_units: -1 }),
    'retrieval.read_units',
    /non-negative/,
  ],
  [
    'negative token hours',
    () => withBody('cache_storage', { token_hours: -1 }),
    'cache_storage.token_hours',
    /non-negative/,
  ],
  ['fractional bytes', () => withBody('egress', { bytes: 0.5 }), 'egress.bytes', /integer/],
  [
    'unknown outcome',
    () => withBody('run_end', { outcome: 'exploded' }),
    'run_end.outcome',
    /one of success/,
  ],
  [
    'unknown ceiling',
    () => withBody('ceiling_decision', { ceiling: 'vibes' }),
    'ceiling_decision.ceiling',
    /one of/,
  ],
  [
    'refusal that grants',
    () => withBody('ceiling_decision', { decision: 'refused', granted: 5 }),
    'ceiling_decision.granted',
    /0 when the decision is refused/,
  ],
  [
    'degradation that grants everything',
    () => withBody('ceiling_decision', { decision: 'degraded', requested: 10, granted: 10 }),
    'ceiling_decision.granted',
    /less than requested/,
  ],
];

describe('validateUsageEvent', () => {
  for (const event of exampleUsageEvents()) {
    it(`accepts the ${event.kind} example`, () => {
      assert.deepEqual(validateUsageEvent(event), { ok: true });
    });
  }

  for (const [what, build, field, rule] of FAILING) {
    it(`rejects ${what}, naming ${field}`, () => {
      const result = validateUsageEvent(build());
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.field, field);
      assert.match(result.rule, rule);
    });
  }

  it('accepts the boundaries: cache reads plus writes equal to input, reasoning equal to output, zeros', () => {
    assert.deepEqual(
      validateUsageEvent(
        withModelCall({
          input_tokens: 100,
          cache_read_tokens: 50,
          cache_write_5m_tokens: 30,
          cache_write_1h_tokens: 20,
        }),
      ),
      { ok: true },
    );
    assert.deepEqual(validateUsageEvent(withModelCall({ output_tokens: 10, reasoning_tokens: 10 })), {
      ok: true,
    });
    assert.deepEqual(
      validateUsageEvent(
        withModelCall({
          input_tokens: 0,
          cache_read_tokens: 0,
          cache_write_5m_tokens: 0,
          cache_write_1h_tokens: 0,
          output_tokens: 0,
          reasoning_tokens: 0,
          duration_ms: 0,
        }),
      ),
      { ok: true },
    );
    assert.deepEqual(validateUsageEvent({ ...exampleModelCall(), event_time: 0 }), { ok: true });
  });

  it('accepts a root-level spawn (depth 0 spawning depth 1) and a refusal granting nothing', () => {
    const spawn = example('subagent_spawn');
    assert.deepEqual(
      validateUsageEvent({
        ...spawn,
        agent_depth: 0,
        subagent_spawn: { ...spawn.subagent_spawn!, child_depth: 1 },
      }),
      { ok: true },
    );
    assert.deepEqual(validateUsageEvent(withBody('ceiling_decision', { decision: 'refused', granted: 0 })), {
      ok: true,
    });
  });

  it('accepts untagged events (no business tags beyond org_id) and absent provider cost', () => {
    const event = {
      ...exampleModelCall(),
      feature: null,
      customer_id: null,
      environment: null,
      tags: {},
      provider_cost: null,
    };
    assert.deepEqual(validateUsageEvent(event), { ok: true });
  });

  it('accepts decimal provider costs with and without a fraction', () => {
    for (const amount of ['0', '12', '0.000125', '1500.5']) {
      const event = { ...exampleModelCall(), provider_cost: { amount, currency: 'EUR' } };
      assert.deepEqual(validateUsageEvent(event), { ok: true }, amount);
    }
  });
});
