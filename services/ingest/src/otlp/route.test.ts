import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { buildTestApp } from '../testing.ts';
import { chatSpan, exportRequest, span, TRACE_ID } from './fixtures.ts';

function postTraces(
  app: ReturnType<typeof buildTestApp>['app'],
  payload: unknown,
  headers: Record<string, string> = {},
) {
  return app.inject({
    method: 'POST',
    url: '/v1/traces',
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload),
  });
}

describe('POST /v1/traces', () => {
  test('full success: OTLP response without partialSuccess, events published keyed by run', async () => {
    const t = buildTestApp();
    const http = span('0a1581bf3cb55c13', { 'http.request.method': 'POST' });
    const response = await postTraces(t.app, exportRequest([chatSpan(), http]));
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json(), { tollgate: { spans: 2, accepted: 1, ignored: 1, rejected: [] } });
    const [event] = t.published();
    assert.equal(event!.event_id, `otlp-${TRACE_ID}-051581bf3cb55c13`);
    assert.equal(event!.source, 'ingest-otlp');
    assert.deepEqual(t.keys(), ['conv_5j66UpCpwteGg4YSxUnt7lPY']);
  });

  test('partial success: 200 with rejectedSpans and a message naming span, field and rule; dead-lettered', async () => {
    const t = buildTestApp();
    const bad = chatSpan('3b1581bf3cb55c13', { 'gen_ai.usage.input_tokens': 1_000 });
    const response = await postTraces(t.app, exportRequest([chatSpan(), bad]));
    assert.equal(response.statusCode, 200);
    const body = response.json();
    assert.equal(body.partialSuccess.rejectedSpans, '1');
    assert.equal(
      body.partialSuccess.errorMessage,
      `1 of 2 spans rejected (sent to the dead-letter topic): span 1 (otlp-${TRACE_ID}-3b1581bf3cb55c13): model_call.cache_read_tokens: cache reads plus writes must not exceed input_tokens`,
    );
    assert.deepEqual(body.tollgate.rejected, [
      {
        index: 1,
        event_id: `otlp-${TRACE_ID}-3b1581bf3cb55c13`,
        field: 'model_call.cache_read_tokens',
        rule: 'cache reads plus writes must not exceed input_tokens',
        reason_code: 'invalid_span',
      },
    ]);
    assert.equal(t.published().length, 1);
    const [letter] = t.deadLetters();
    assert.equal(letter!.stage, 'ingest');
    assert.equal(letter!.reason_code, 'invalid_span');
    assert.equal(letter!.source_topic, 'ingest:/v1/traces');
    assert.equal(letter!.source_offset, '1');
    assert.equal(Buffer.from(letter!.key!).toString(), 'conv_5j66UpCpwteGg4YSxUnt7lPY');
    const replay = JSON.parse(Buffer.from(letter!.payload).toString('utf8'));
    assert.equal(replay.resourceSpans[0].scopeSpans[0].spans[0].spanId, '3b1581bf3cb55c13');
  });

  test('a gzip-compressed export (the Collector default) is read', async () => {
    const t = buildTestApp();
    const body = gzipSync(JSON.stringify(exportRequest([chatSpan()])));
    const response = await postTraces(t.app, body, { 'content-encoding': 'gzip' });
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(t.published().length, 1);
  });

  test('an empty export is a success', async () => {
    const t = buildTestApp();
    const response = await postTraces(t.app, {});
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { tollgate: { spans: 0, accepted: 0, ignored: 0, rejected: [] } });
  });

  test('protobuf is refused with 415 and says how to switch to JSON', async () => {
    const t = buildTestApp();
    const response = await postTraces(t.app, Buffer.from([0x0a, 0x02, 0x08, 0x01]), {
      'content-type': 'application/x-protobuf',
    });
    assert.equal(response.statusCode, 415);
    const { error } = response.json();
    assert.equal(error.code, 'TG_INGEST_UNSUPPORTED_MEDIA_TYPE');
    assert.match(error.message, /OTEL_EXPORTER_OTLP_PROTOCOL=http\/json/);
  });

  test('a body that is not an ExportTraceServiceRequest is 400', async () => {
    const t = buildTestApp();
    let response = await postTraces(t.app, { resourceSpans: { spans: [] } });
    assert.equal(response.statusCode, 400);
    assert.equal(response.json().error.code, 'TG_INGEST_INVALID_BODY');
    assert.match(response.json().error.message, /resourceSpans/);
    response = await postTraces(t.app, { resourceSpans: [{ scopeSpans: 'x' }] });
    assert.equal(response.statusCode, 400);
    assert.equal(response.json().error.message, 'resourceSpans[0].scopeSpans must be an array');
    response = await postTraces(t.app, '{"resourceSpans": [');
    assert.equal(response.statusCode, 400);
    assert.equal(response.json().error.code, 'TG_INGEST_INVALID_JSON');
  });

  test('more spans than the per-request limit: 413', async () => {
    const t = buildTestApp({ limits: { maxEventsPerRequest: 2 } });
    const spans = ['4a', '4b', '4c'].map((p) => chatSpan(`${p}1581bf3cb55c13`));
    const response = await postTraces(t.app, exportRequest(spans));
    assert.equal(response.statusCode, 413);
    assert.equal(response.json().error.code, 'TG_INGEST_TOO_MANY_EVENTS');
    assert.equal(t.published().length, 0);
  });
});
