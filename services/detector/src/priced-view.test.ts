import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPricedCodec } from '@tollgate/core';
import { runContext, usage } from './fleet/events.ts';
import { priceUsage } from './fleet/pricing.ts';
import { createPricedViewDecoder } from './priced-view.ts';

const run = runContext({
  run_id: 'r1',
  org_id: 'acme',
  feature: 'search',
  customer_id: 'c1',
  agent_name: 'planner',
});
const codec = createPricedCodec();
const view = createPricedViewDecoder();

describe('priced view', () => {
  it('reads exactly the fields the detector uses from a priced event', () => {
    const event = priceUsage(
      usage.toolCall(run, 'e1', 1_000, { tool_name: 'web_search', call_signature: 'abc' }),
    );
    const decoded = view.decode(codec.encode(event));
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.value, {
      usage: {
        event_time: 1_000,
        kind: 'tool_call',
        run_id: 'r1',
        agent_name: 'planner',
        agent_depth: 0,
        model: null,
        org_id: 'acme',
        feature: 'search',
        customer_id: 'c1',
        tool_call: { tool_name: 'web_search', call_signature: 'abc' },
        subagent_spawn: null,
        sandbox: null,
      },
      line_items: [{ category: 'tools', cost_nanos: 10_000_000 }],
      total_nanos: 10_000_000,
      currency: 'USD',
      adjustment_of: null,
    });
  });

  it('reads sandbox idle time and spawn depth', () => {
    const sandbox = view.decode(
      codec.encode(
        priceUsage(
          usage.sandbox(run, 'e2', 1, {
            sandbox_id: 's',
            vcpu_seconds: 60,
            gib_seconds: 120,
            idle_seconds: 42,
          }),
        ),
      ),
    );
    assert.ok(sandbox.ok);
    assert.deepEqual(sandbox.value.usage.sandbox, { idle_seconds: 42 });
    const spawn = view.decode(
      codec.encode(
        priceUsage(
          usage.spawn(run, 'e3', 1, { child_agent_id: 'c', child_agent_name: null, child_depth: 3 }),
        ),
      ),
    );
    assert.ok(spawn.ok);
    assert.deepEqual(spawn.value.usage.subagent_spawn, { child_depth: 3 });
  });

  it('refuses bytes that are not a whole priced event, with the codec’s reason codes', () => {
    const bytes = codec.encode(priceUsage(usage.runStart(run, 'e4', 1)));
    const garbage = view.decode(Buffer.from('hello'));
    assert.equal(garbage.ok ? null : garbage.code, 'not_single_object');
    const unknown = Buffer.from(bytes);
    unknown[5] = (unknown[5]! + 1) % 256;
    const foreign = view.decode(unknown);
    assert.equal(foreign.ok ? null : foreign.code, 'unknown_fingerprint');
    const truncated = view.decode(bytes.subarray(0, bytes.length - 3));
    assert.equal(truncated.ok ? null : truncated.code, 'corrupt');
  });
});
