import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chatSpan, END_NANOS, exportRequest, span, TRACE_ID } from './fixtures.ts';
import { checkEnvelope, mapExportRequest } from './request.ts';

const END_MS = Number(END_NANOS / 1_000_000n);

function mapOne(s: Record<string, unknown>, resource?: Parameters<typeof exportRequest>[1]) {
  return mapExportRequest(exportRequest([s], resource));
}

describe('OTLP span → UsageEvent', () => {
  test('a chat span with current GenAI attributes becomes a model_call with every attribution layer', () => {
    const result = mapOne(chatSpan());
    assert.deepEqual(result.rejected, []);
    assert.equal(result.accepted.length, 1);
    assert.deepEqual(result.accepted[0]!.event, {
      event_id: `otlp-${TRACE_ID}-051581bf3cb55c13`,
      event_time: END_MS,
      kind: 'model_call',
      run_id: 'conv_5j66UpCpwteGg4YSxUnt7lPY',
      agent_id: 'agent-researcher-2',
      parent_agent_id: null,
      agent_name: 'researcher',
      agent_depth: 0,
      provider: 'anthropic',
      model: 'claude-sonnet-4-5-20250929',
      service_tier: 'default',
      org_id: 'org-acme',
      feature: 'support-triage',
      customer_id: 'cust-0042',
      environment: 'production',
      tags: {},
      source: 'ingest-otlp',
      provider_cost: null,
      model_call: {
        operation: 'chat',
        input_tokens: 48_213,
        cache_read_tokens: 40_960,
        cache_write_5m_tokens: 1_024,
        cache_write_1h_tokens: 0,
        output_tokens: 1_310,
        reasoning_tokens: 412,
        duration_ms: 2_346,
      },
      tool_call: null,
      subagent_spawn: null,
      sandbox: null,
      retrieval: null,
      cache_storage: null,
      egress: null,
      run_start: null,
      run_end: null,
      ceiling_decision: null,
    });
  });

  test('the same span sent twice (an exporter retry) gets the same event_id', () => {
    const first = mapOne(chatSpan()).accepted[0]!.event.event_id;
    const second = mapOne(chatSpan()).accepted[0]!.event.event_id;
    assert.equal(first, second);
    assert.notEqual(mapOne(chatSpan('151581bf3cb55c13')).accepted[0]!.event.event_id, first);
  });

  test('older instrumentations: gen_ai.system, prompt/completion tokens, numeric intValue', () => {
    const s = span('aa1581bf3cb55c13', {
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.prompt_tokens': 900,
      'gen_ai.usage.completion_tokens': 120,
    });
    // Some encoders send int64 as a JSON number instead of a string.
    (s.attributes as { value: { intValue?: unknown } }[])[2]!.value = { intValue: 900 };
    const { event } = mapOne(s).accepted[0]!;
    assert.equal(event.provider, 'openai');
    assert.equal(event.model, 'gpt-4o', 'falls back to gen_ai.request.model');
    assert.equal(
      event.model_call!.operation,
      'unknown',
      'usage without gen_ai.operation.name is still billed',
    );
    assert.equal(event.model_call!.input_tokens, 900);
    assert.equal(event.model_call!.output_tokens, 120);
    assert.equal(event.run_id, TRACE_ID, 'no tollgate.run_id or conversation id: the trace is the run');
  });

  test('embeddings: input tokens only', () => {
    const s = span('bb1581bf3cb55c13', {
      'gen_ai.operation.name': 'embeddings',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'text-embedding-3-small',
      'gen_ai.usage.input_tokens': 5_000,
    });
    const { event } = mapOne(s).accepted[0]!;
    assert.equal(event.model_call!.operation, 'embeddings');
    assert.equal(event.model_call!.output_tokens, 0);
  });

  test('execute_tool becomes a tool_call; an error status makes it an error', () => {
    const ok = span('cc1581bf3cb55c13', {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'web_search',
      'gen_ai.tool.call.id': 'call_mszuSIzqtI65i1wAUOE8w5H4',
      'gen_ai.tool.call.arguments': '{"query":"weather in Paris"}',
    });
    const failed = span(
      'dd1581bf3cb55c13',
      { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'web_search' },
      { status: { code: 2, message: 'timeout' } },
    );
    const result = mapExportRequest(exportRequest([ok, failed]));
    const [a, b] = result.accepted.map((r) => r.event);
    assert.equal(a!.kind, 'tool_call');
    assert.equal(a!.model_call, null);
    assert.equal(a!.tool_call!.tool_name, 'web_search');
    assert.equal(a!.tool_call!.status, 'ok');
    assert.equal(a!.tool_call!.duration_ms, 2_346);
    assert.match(a!.tool_call!.call_signature!, /^[0-9a-f]{32}$/);
    assert.equal(b!.tool_call!.status, 'error');
    assert.equal(b!.tool_call!.call_signature, null);
  });

  test('run_id: tollgate.run_id beats the conversation id; tags and overrides from tollgate.* attributes', () => {
    const s = chatSpan('ee1581bf3cb55c13', {
      'tollgate.run_id': 'run-7f3a',
      'tollgate.customer_id': 'cust-span-level',
      'tollgate.parent_agent_id': 'agent-planner-1',
      'tollgate.agent_depth': 1,
      'tollgate.tag.team': 'support-ai',
      'openai.response.service_tier': 'priority',
    });
    const { event } = mapOne(s, {
      'tollgate.org_id': 'org-acme',
      'tollgate.tag.team': 'overridden',
      'tollgate.tag.cost_center': 'cc-118',
      'deployment.environment': 'staging',
    }).accepted[0]!;
    assert.equal(event.run_id, 'run-7f3a');
    assert.equal(event.customer_id, 'cust-span-level');
    assert.equal(event.feature, null);
    assert.equal(event.environment, 'staging', 'deprecated deployment.environment still read');
    assert.equal(event.parent_agent_id, 'agent-planner-1');
    assert.equal(event.agent_depth, 1);
    assert.equal(event.service_tier, 'priority');
    assert.deepEqual(event.tags, { team: 'support-ai', cost_center: 'cc-118' });
  });

  test('base64 ids (protobuf JSON mapping) are read as the same hex ids', () => {
    const s = chatSpan();
    s.traceId = Buffer.from(TRACE_ID, 'hex').toString('base64');
    s.spanId = Buffer.from('051581bf3cb55c13', 'hex').toString('base64');
    assert.equal(mapOne(s).accepted[0]!.event.event_id, `otlp-${TRACE_ID}-051581bf3cb55c13`);
  });
});

describe('spans that are not billed', () => {
  test('HTTP spans, chat spans without usage and agent spans are ignored and counted, not rejected', () => {
    const http = span('0a1581bf3cb55c13', {
      'http.request.method': 'POST',
      'url.full': 'https://api.anthropic.com/v1/messages',
    });
    const noUsage = span('0b1581bf3cb55c13', {
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o',
    });
    const agent = span('0c1581bf3cb55c13', {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'planner',
      'gen_ai.usage.input_tokens': 99_000,
      'gen_ai.usage.output_tokens': 4_000,
    });
    const result = mapExportRequest(exportRequest([http, noUsage, agent, chatSpan()]));
    assert.equal(result.spans, 4);
    assert.deepEqual(result.ignored, { not_gen_ai: 1, no_usage: 1, agent_span: 1 });
    assert.equal(result.accepted.length, 1);
    assert.equal(result.accepted[0]!.index, 3);
    assert.deepEqual(result.rejected, []);
  });

  test('a non-GenAI span is ignored even when its resource has no org', () => {
    const http = span('0a1581bf3cb55c13', { 'http.request.method': 'GET' });
    const result = mapOne(http, { 'service.name': 'gateway' });
    assert.deepEqual(result.rejected, []);
    assert.equal(result.ignored.not_gen_ai, 1);
  });
});

describe('malformed GenAI spans are rejected with the field and the rule', () => {
  const cases: {
    name: string;
    span: () => Record<string, unknown>;
    resource?: Record<string, string>;
    field: string;
    rule: RegExp;
  }[] = [
    {
      name: 'token count that is not an integer',
      span: () => chatSpan('1a1581bf3cb55c13', { 'gen_ai.usage.output_tokens': 'lots' }),
      field: 'attributes.gen_ai.usage.output_tokens',
      rule: /non-negative integer/,
    },
    {
      name: 'negative token count',
      span: () => chatSpan('1b1581bf3cb55c13', { 'gen_ai.usage.input_tokens': -3 }),
      field: 'attributes.gen_ai.usage.input_tokens',
      rule: /non-negative integer/,
    },
    {
      name: 'no org on the resource or the span',
      span: () => chatSpan('1c1581bf3cb55c13'),
      resource: { 'service.name': 'support-agent' },
      field: 'resource.attributes.tollgate.org_id',
      rule: /is required/,
    },
    {
      name: 'cache reads above input tokens (input reported without the cache)',
      span: () => chatSpan('1d1581bf3cb55c13', { 'gen_ai.usage.input_tokens': 3_000 }),
      field: 'model_call.cache_read_tokens',
      rule: /cache reads plus writes must not exceed input_tokens/,
    },
    {
      name: 'an all-zero span id',
      span: () => chatSpan('0000000000000000'),
      field: 'spanId',
      rule: /non-zero 8-byte id/,
    },
    {
      name: 'a missing end time',
      span: () => {
        const s = chatSpan('1e1581bf3cb55c13');
        delete s.endTimeUnixNano;
        return s;
      },
      field: 'endTimeUnixNano',
      rule: /nanoseconds since the epoch/,
    },
    {
      name: 'a model name that is not a string',
      span: () => chatSpan('1f1581bf3cb55c13', { 'gen_ai.response.model': 4 }),
      field: 'attributes.gen_ai.response.model',
      rule: /must be a stringValue/,
    },
    {
      name: 'execute_tool without a tool name',
      span: () => span('2a1581bf3cb55c13', { 'gen_ai.operation.name': 'execute_tool' }),
      field: 'attributes.gen_ai.tool.name',
      rule: /is required on execute_tool spans/,
    },
  ];

  for (const c of cases) {
    test(c.name, () => {
      const s = c.span();
      const result = mapExportRequest(exportRequest([chatSpan('ffff81bf3cb55c13'), s], c.resource));
      const rejected = result.rejected.find((r) => r.index === 1);
      assert.ok(rejected, 'the malformed span is rejected');
      assert.equal(rejected.field, c.field);
      assert.match(rejected.rule, c.rule);
      // The dead-letter payload is a replayable one-span request with the resource kept.
      const replay = JSON.parse(rejected.payload.toString('utf8'));
      assert.equal(replay.resourceSpans.length, 1);
      assert.deepEqual(replay.resourceSpans[0].scopeSpans[0].spans, [s]);
      assert.deepEqual(
        replay.resourceSpans[0].resource,
        exportRequest([], c.resource).resourceSpans[0]!.resource,
      );
    });
  }

  test('one malformed span does not cost its neighbours', () => {
    const result = mapExportRequest(
      exportRequest([
        chatSpan('3a1581bf3cb55c13'),
        chatSpan('3b1581bf3cb55c13', { 'gen_ai.usage.input_tokens': 'x' }),
        chatSpan('3c1581bf3cb55c13'),
      ]),
    );
    assert.deepEqual(
      result.accepted.map((a) => a.index),
      [0, 2],
    );
    assert.equal(result.rejected.length, 1);
    assert.equal(result.rejected[0]!.spanId, '3b1581bf3cb55c13');
  });
});

describe('envelope', () => {
  test('counts spans across resources and scopes', () => {
    const body = exportRequest([chatSpan(), chatSpan('9a1581bf3cb55c13')]);
    body.resourceSpans.push(exportRequest([chatSpan('9b1581bf3cb55c13')]).resourceSpans[0]!);
    assert.deepEqual(checkEnvelope(body), { ok: true, spans: 3 });
  });

  test('names the part that is not OTLP', () => {
    assert.deepEqual(checkEnvelope([]), {
      ok: false,
      field: '(body)',
      rule: 'must be an ExportTraceServiceRequest object',
    });
    assert.deepEqual(checkEnvelope({ resourceSpans: [{ scopeSpans: [{ spans: {} }] }] }), {
      ok: false,
      field: 'resourceSpans[0].scopeSpans[0].spans',
      rule: 'must be an array',
    });
    assert.deepEqual(checkEnvelope({}), { ok: true, spans: 0 });
  });
});
