/**
 * OTLP/JSON payloads shaped like what OpenTelemetry SDKs export for GenAI instrumentations (attribute
 * lists of KeyValue/AnyValue, hex ids, nanosecond strings), for the mapping and route tests.
 */

export type AnyValue =
  | { stringValue: string }
  | { intValue: string | number }
  | { doubleValue: number }
  | { boolValue: boolean }
  | { arrayValue: { values: AnyValue[] } };

export interface KeyValue {
  key: string;
  value: AnyValue;
}

/** Attributes from a plain object: strings → stringValue, integers → intValue (as a string, like protobuf JSON). */
export function attributes(values: Record<string, string | number | boolean | string[]>): KeyValue[] {
  return Object.entries(values).map(([key, v]) => ({
    key,
    value:
      typeof v === 'string'
        ? { stringValue: v }
        : typeof v === 'boolean'
          ? { boolValue: v }
          : Array.isArray(v)
            ? { arrayValue: { values: v.map((s) => ({ stringValue: s })) } }
            : Number.isInteger(v)
              ? { intValue: String(v) }
              : { doubleValue: v },
  }));
}

export const TRACE_ID = '5b8efff798038103d269b633813fc60c';
/** 2026-11-03T14:05:00Z in nanoseconds. */
export const END_NANOS = 1_793_714_700_000_000_000n;

export function span(
  spanId: string,
  attrs: Record<string, string | number | boolean | string[]>,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    traceId: TRACE_ID,
    spanId,
    parentSpanId: 'eee19b7ec3c1b174',
    name: String(attrs['gen_ai.operation.name'] ?? 'span'),
    kind: 3,
    startTimeUnixNano: String(END_NANOS - 2_345_600_000n),
    endTimeUnixNano: String(END_NANOS),
    attributes: attributes(attrs),
    status: {},
    ...overrides,
  };
}

export function exportRequest(
  spans: Record<string, unknown>[],
  resource: Record<string, string | number | boolean | string[]> = {
    'service.name': 'support-agent',
    'tollgate.org_id': 'org-acme',
    'tollgate.feature': 'support-triage',
    'tollgate.customer_id': 'cust-0042',
    'deployment.environment.name': 'production',
  },
): { resourceSpans: Record<string, unknown>[] } {
  return {
    resourceSpans: [
      {
        resource: { attributes: attributes(resource) },
        scopeSpans: [
          {
            scope: { name: 'opentelemetry.instrumentation.anthropic', version: '0.47.0' },
            spans,
          },
        ],
        schemaUrl: 'https://opentelemetry.io/schemas/1.37.0',
      },
    ],
  };
}

/** A chat span as a current (semconv 1.37+) Anthropic instrumentation reports it. */
export function chatSpan(spanId = '051581bf3cb55c13', extra: Record<string, string | number> = {}) {
  return span(spanId, {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'anthropic',
    'gen_ai.request.model': 'claude-sonnet-4-5',
    'gen_ai.response.model': 'claude-sonnet-4-5-20250929',
    'gen_ai.conversation.id': 'conv_5j66UpCpwteGg4YSxUnt7lPY',
    'gen_ai.agent.id': 'agent-researcher-2',
    'gen_ai.agent.name': 'researcher',
    'gen_ai.usage.input_tokens': 48_213,
    'gen_ai.usage.cache_read.input_tokens': 40_960,
    'gen_ai.usage.cache_creation.input_tokens': 1_024,
    'gen_ai.usage.output_tokens': 1_310,
    'gen_ai.usage.reasoning.output_tokens': 412,
    'gen_ai.response.finish_reasons': 'end_turn',
    ...extra,
  });
}
