import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { buildTestApp } from '../testing.ts';

const T = Date.UTC(2026, 10, 3, 14, 5, 0);

/** A model call as a Python producer would write it: only the required fields and the tokens. */
function minimalModelCall(n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_id: `evt-${n}`,
    event_time: T + n,
    kind: 'model_call',
    run_id: 'run-42',
    org_id: 'org-acme',
    model_call: { input_tokens: 1200, output_tokens: 340 },
    ...extra,
  };
}

function post(
  app: ReturnType<typeof buildTestApp>['app'],
  payload: string | Buffer,
  headers: Record<string, string> = {},
) {
  return app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { 'content-type': 'application/json', ...headers },
    payload,
  });
}

describe('POST /v1/events: accepted events', () => {
  test('fills omitted optional fields with the contract defaults and keys each message by run_id', async () => {
    const t = buildTestApp();
    const full = {
      ...minimalModelCall(2),
      event_time: '2026-11-03T15:05:00.250+01:00',
      run_id: 'run-43',
      agent_id: 'agent-1',
      agent_name: 'researcher',
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      service_tier: 'batch',
      feature: 'support-triage',
      customer_id: 'cust-7',
      environment: 'production',
      tags: { team: 'support-ai' },
      source: 'python-producer',
      provider_cost: { amount: '0.0125', currency: 'USD' },
      model_call: {
        operation: 'chat',
        input_tokens: 5000,
        cache_read_tokens: 4000,
        cache_write_5m_tokens: 500,
        cache_write_1h_tokens: 0,
        output_tokens: 800,
        reasoning_tokens: 300,
        duration_ms: 2100,
      },
    };
    const response = await post(t.app, JSON.stringify([minimalModelCall(1), full]));
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { received: 2, accepted: 2, rejected: [] });

    const [first, second] = t.published();
    assert.deepEqual(first, {
      event_id: 'evt-1',
      event_time: T + 1,
      kind: 'model_call',
      run_id: 'run-42',
      agent_id: null,
      parent_agent_id: null,
      agent_name: null,
      agent_depth: 0,
      provider: null,
      model: null,
      service_tier: 'default',
      org_id: 'org-acme',
      feature: null,
      customer_id: null,
      environment: null,
      tags: {},
      source: 'ingest-json',
      provider_cost: null,
      model_call: {
        operation: 'chat',
        input_tokens: 1200,
        cache_read_tokens: 0,
        cache_write_5m_tokens: 0,
        cache_write_1h_tokens: 0,
        output_tokens: 340,
        reasoning_tokens: 0,
        duration_ms: 0,
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
    assert.equal(second!.event_time, Date.UTC(2026, 10, 3, 14, 5, 0, 250), 'ISO-8601 with offset → epoch ms');
    assert.equal(second!.service_tier, 'batch');
    assert.deepEqual(second!.provider_cost, { amount: '0.0125', currency: 'USD' });
    assert.equal(second!.model_call!.reasoning_tokens, 300);
    assert.equal(second!.source, 'python-producer');
    assert.deepEqual(t.keys(), ['run-42', 'run-43']);
    assert.deepEqual(t.deadLetters(), []);
  });

  test('every kind with only its required fields is accepted', async () => {
    const t = buildTestApp();
    const base = { event_time: T, run_id: 'run-1', org_id: 'org-1' };
    const events = [
      { ...base, event_id: 'a', kind: 'tool_call', tool_call: { tool_name: 'web_search' } },
      {
        ...base,
        event_id: 'b',
        kind: 'subagent_spawn',
        agent_depth: 1,
        subagent_spawn: { child_agent_id: 'w-1' },
      },
      {
        ...base,
        event_id: 'c',
        kind: 'sandbox',
        sandbox: { sandbox_id: 'sb-1', vcpu_seconds: 12.5, gib_seconds: 25 },
      },
      { ...base, event_id: 'd', kind: 'retrieval', retrieval: { queries: 3 } },
      { ...base, event_id: 'e', kind: 'cache_storage', cache_storage: { token_hours: 1.5 } },
      { ...base, event_id: 'f', kind: 'egress', egress: { bytes: 1048576 } },
      { ...base, event_id: 'g', kind: 'run_start', run_start: {} },
      { ...base, event_id: 'h', kind: 'run_end', run_end: { outcome: 'success' } },
    ];
    const response = await post(t.app, JSON.stringify(events));
    assert.equal(response.statusCode, 200, response.body);
    const published = t.published();
    assert.equal(published.length, 8);
    assert.equal(published[0]!.tool_call!.status, 'ok');
    assert.equal(published[1]!.subagent_spawn!.child_depth, 2, 'child_depth defaults to agent_depth + 1');
    assert.equal(published[2]!.sandbox!.idle_seconds, 0);
    assert.equal(published[7]!.run_end!.outcome, 'success');
  });

  test('NDJSON: one event per line, blank lines skipped, a broken line rejected on its own', async () => {
    const t = buildTestApp();
    const lines = [
      JSON.stringify(minimalModelCall(1)),
      '',
      '{"event_id": "evt-2", "kind": ',
      JSON.stringify(minimalModelCall(3)),
    ];
    const response = await post(t.app, `${lines.join('\n')}\n`, { 'content-type': 'application/x-ndjson' });
    assert.equal(response.statusCode, 207);
    const body = response.json();
    assert.equal(body.accepted, 2);
    assert.equal(body.rejected.length, 1);
    assert.equal(body.rejected[0].index, 1);
    assert.equal(body.rejected[0].reason_code, 'invalid_json');
    assert.match(body.rejected[0].rule, /^must be valid JSON \(line 3\)/);
    const [letter] = t.deadLetters();
    assert.equal(Buffer.from(letter!.payload).toString('utf8'), '{"event_id": "evt-2", "kind":');
    assert.deepEqual(
      t.published().map((e) => e.event_id),
      ['evt-1', 'evt-3'],
    );
  });

  test('a gzip-compressed body is decompressed', async () => {
    const t = buildTestApp();
    const response = await post(t.app, gzipSync(JSON.stringify([minimalModelCall(1)])), {
      'content-encoding': 'gzip',
    });
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(t.published().length, 1);
  });
});

describe('POST /v1/events: rejected events name the field and the rule', () => {
  const cases: { name: string; event: Record<string, unknown>; field: string; rule: RegExp; code: string }[] =
    [
      {
        name: 'negative token count',
        event: minimalModelCall(1, { model_call: { input_tokens: -5, output_tokens: 1 } }),
        field: 'model_call.input_tokens',
        rule: /^must be >= 0$/,
        code: 'invalid_event',
      },
      {
        name: 'token count as a string',
        event: minimalModelCall(1, { model_call: { input_tokens: '1200', output_tokens: 1 } }),
        field: 'model_call.input_tokens',
        rule: /^must be an integer$/,
        code: 'invalid_event',
      },
      {
        name: 'missing org_id',
        event: (({ org_id: _o, ...rest }) => rest)(minimalModelCall(1)),
        field: 'org_id',
        rule: /^is required$/,
        code: 'invalid_event',
      },
      {
        name: 'misspelt field',
        event: minimalModelCall(1, { model_call: { input_tokens: 1, output_tokens: 1, cache_read: 1 } }),
        field: 'model_call.cache_read',
        rule: /not a field of the UsageEvent contract/,
        code: 'invalid_event',
      },
      {
        name: 'unknown kind',
        event: minimalModelCall(1, { kind: 'gpu_rental' }),
        field: 'kind',
        rule: /^must be one of model_call, tool_call, /,
        code: 'invalid_event',
      },
      {
        name: 'epoch seconds instead of milliseconds',
        event: minimalModelCall(1, { event_time: 1_793_800_000 }),
        field: 'event_time',
        rule: /refused as likely epoch seconds/,
        code: 'invalid_event',
      },
      {
        name: 'ISO time without a zone',
        event: minimalModelCall(1, { event_time: '2026-11-03T14:05:00' }),
        field: 'event_time',
        rule: /ISO-8601 date-time with a time zone/,
        code: 'invalid_event',
      },
      {
        name: 'cache reads above input tokens',
        event: minimalModelCall(1, {
          model_call: { input_tokens: 100, cache_read_tokens: 150, output_tokens: 1 },
        }),
        field: 'model_call.cache_read_tokens',
        rule: /^cache reads plus writes must not exceed input_tokens$/,
        code: 'invariant_violated',
      },
      {
        name: 'reasoning above output tokens',
        event: minimalModelCall(1, {
          model_call: { input_tokens: 100, output_tokens: 10, reasoning_tokens: 20 },
        }),
        field: 'model_call.reasoning_tokens',
        rule: /^reasoning_tokens must not exceed output_tokens$/,
        code: 'invariant_violated',
      },
      {
        name: 'body of another kind',
        event: minimalModelCall(1, { kind: 'tool_call' }),
        field: 'model_call',
        rule: /^must be null when kind is tool_call$/,
        code: 'invariant_violated',
      },
    ];

  for (const c of cases) {
    test(c.name, async () => {
      const t = buildTestApp();
      const response = await post(t.app, JSON.stringify([minimalModelCall(0), c.event]));
      assert.equal(response.statusCode, 207, response.body);
      const body = response.json();
      assert.equal(body.accepted, 1);
      assert.equal(body.rejected.length, 1);
      const [rejected] = body.rejected;
      assert.equal(rejected.index, 1);
      assert.equal(rejected.event_id, 'evt-1');
      assert.equal(rejected.field, c.field);
      assert.match(rejected.rule, c.rule);
      assert.equal(rejected.reason_code, c.code);
    });
  }

  test('a rejected event is dead-lettered with the exact bytes sent and the reason', async () => {
    const t = buildTestApp({ nowMs: () => T + 60_000 });
    const raw =
      '{ "event_id": "evt-9", "event_time": 1793800000000, "kind": "model_call", "run_id": "run-9",\n  "org_id": "org-acme", "model_call": { "input_tokens": 10, "output_tokens": 1.50 } }';
    const response = await post(t.app, `[${JSON.stringify(minimalModelCall(1))},  ${raw} ]`);
    assert.equal(response.statusCode, 207);
    assert.deepEqual(t.deadLetters(), [
      {
        stage: 'ingest',
        reason_code: 'invalid_event',
        reason: 'model_call.output_tokens: must be an integer',
        source_topic: 'ingest:/v1/events',
        source_partition: -1,
        source_offset: '1',
        key: Buffer.from('run-9'),
        payload: Buffer.from(raw),
        failed_at: T + 60_000,
      },
    ]);
  });

  test('all events rejected: 422, and every one dead-lettered', async () => {
    const t = buildTestApp();
    const response = await post(
      t.app,
      JSON.stringify([minimalModelCall(1, { org_id: '' }), minimalModelCall(2, { run_id: 7 })]),
    );
    assert.equal(response.statusCode, 422);
    const body = response.json();
    assert.equal(body.accepted, 0);
    assert.deepEqual(
      body.rejected.map((r: { field: string; rule: string }) => `${r.field}: ${r.rule}`),
      ['org_id: must be a non-empty string', 'run_id: must be a string'],
    );
    assert.equal(t.published().length, 0);
    assert.equal(t.deadLetters().length, 2);
  });
});

describe('POST /v1/events: request-level errors', () => {
  async function expectError(
    response: Awaited<ReturnType<typeof post>>,
    status: number,
    code: string,
    message?: RegExp,
  ): Promise<void> {
    assert.equal(response.statusCode, status, response.body);
    const { error } = response.json();
    assert.equal(error.code, code);
    assert.equal(typeof error.retriable, 'boolean');
    if (message) assert.match(error.message, message);
  }

  test('a JSON syntax error fails the whole array and publishes nothing', async () => {
    const t = buildTestApp();
    await expectError(
      await post(t.app, '[{"event_id": "a"}, {"event_id": }]'),
      400,
      'TG_INGEST_INVALID_JSON',
      /event 1 is not valid JSON/,
    );
    await expectError(await post(t.app, '[{"event_id": "a"}'), 400, 'TG_INGEST_INVALID_JSON', /not closed/);
    assert.equal(t.published().length + t.deadLetters().length, 0);
  });

  test('a body that is not an array', async () => {
    const t = buildTestApp();
    await expectError(
      await post(t.app, JSON.stringify(minimalModelCall(1))),
      400,
      'TG_INGEST_INVALID_BODY',
      /JSON array/,
    );
  });

  test('an empty batch', async () => {
    const t = buildTestApp();
    await expectError(await post(t.app, '[]'), 400, 'TG_INGEST_EMPTY_BATCH');
    await expectError(
      await post(t.app, '\n\n', { 'content-type': 'application/x-ndjson' }),
      400,
      'TG_INGEST_EMPTY_BATCH',
    );
  });

  test('more events than the per-request limit: 413 naming the limit', async () => {
    const t = buildTestApp({ limits: { maxEventsPerRequest: 3 } });
    const events = [1, 2, 3, 4].map((n) => minimalModelCall(n));
    await expectError(
      await post(t.app, JSON.stringify(events)),
      413,
      'TG_INGEST_TOO_MANY_EVENTS',
      /4 events .* at most 3/,
    );
    assert.equal(t.published().length, 0);
  });

  test('a body over the size limit, also when it arrives compressed', async () => {
    const t = buildTestApp({ limits: { maxBodyBytes: 2_000 } });
    const events = Array.from({ length: 20 }, (_, n) => minimalModelCall(n));
    const body = JSON.stringify(events);
    assert.ok(body.length > 2_000 && gzipSync(body).length < 2_000);
    await expectError(await post(t.app, body), 413, 'TG_INGEST_BODY_TOO_LARGE', /2000 bytes/);
    await expectError(
      await post(t.app, gzipSync(body), { 'content-encoding': 'gzip' }),
      413,
      'TG_INGEST_BODY_TOO_LARGE',
    );
  });

  test('one event over the per-event size limit', async () => {
    const t = buildTestApp({ limits: { maxEventBytes: 500 } });
    const big = minimalModelCall(2, { tags: { note: 'x'.repeat(600) } });
    await expectError(
      await post(t.app, JSON.stringify([minimalModelCall(1), big])),
      413,
      'TG_INGEST_EVENT_TOO_LARGE',
      /event 1 is \d+ bytes/,
    );
  });

  test('unsupported media type and content encoding: 415', async () => {
    const t = buildTestApp();
    await expectError(
      await post(t.app, 'hello', { 'content-type': 'text/plain' }),
      415,
      'TG_INGEST_UNSUPPORTED_MEDIA_TYPE',
    );
    await expectError(
      await post(t.app, '[]', { 'content-encoding': 'br' }),
      415,
      'TG_INGEST_UNSUPPORTED_ENCODING',
      /br/,
    );
  });

  test('a body that is not what its Content-Encoding says: 400', async () => {
    const t = buildTestApp();
    await expectError(
      await post(t.app, '[{"not": "gzip"}]', { 'content-encoding': 'gzip' }),
      400,
      'TG_INGEST_INVALID_BODY',
    );
  });

  test('an unknown route: 404 with the error shape', async () => {
    const t = buildTestApp();
    const response = await t.app.inject({ method: 'POST', url: '/v1/event' });
    await expectError(response, 404, 'TG_INGEST_NOT_FOUND');
  });
});

describe('GET /v1/schemas/usage-event.json', () => {
  test('serves the JSON Schema producers can validate against', async () => {
    const t = buildTestApp();
    const response = await t.app.inject({ method: 'GET', url: '/v1/schemas/usage-event.json' });
    assert.equal(response.statusCode, 200);
    const schema = response.json();
    assert.deepEqual(schema.required, ['event_id', 'event_time', 'kind', 'run_id', 'org_id']);
    assert.equal(schema.additionalProperties, false);
  });
});
