/**
 * The simulated fleet prices its own events, so the detector benchmark and tests need no pricer. A
 * small list-price table (late-2026 list prices, USD) and the same line-item rules as the rate card:
 * token buckets are disjoint (uncached input = input − cache read − cache writes), each line is
 * quantity × unit price in integer nanos. Every price here is a whole number of nanos per unit, so
 * the arithmetic is exact without rounding.
 */
import type { CostCategory, LineItem, PricedEvent, UsageEvent } from '@tollgate/core';

interface ModelPrice {
  /** Nanos per token. */
  input: number;
  cacheRead: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  output: number;
}

const perMillion = (input: number, cacheRead: number, write5m: number, write1h: number, output: number) => ({
  input: input * 1000,
  cacheRead: cacheRead * 1000,
  cacheWrite5m: write5m * 1000,
  cacheWrite1h: write1h * 1000,
  output: output * 1000,
});

/** Model → nanos per token. */
export const MODEL_PRICES: Record<string, ModelPrice> = {
  'claude-haiku-4.5': perMillion(1, 0.1, 1.25, 2, 5),
  'claude-sonnet-4.5': perMillion(3, 0.3, 3.75, 6, 15),
  'claude-opus-4.1': perMillion(15, 1.5, 18.75, 30, 75),
  'gpt-5': perMillion(1.25, 0.125, 1.25, 1.25, 10),
  'gpt-5-mini': perMillion(0.25, 0.025, 0.25, 0.25, 2),
  'gemini-2.5-flash': perMillion(0.3, 0.03, 0.3, 0.3, 2.5),
};

/** Tool → nanos per call (search APIs price per call; others are free but counted). */
export const TOOL_PRICES: Record<string, number> = {
  web_search: 10_000_000,
  tavily_search: 8_000_000,
  exa_search: 5_000_000,
};

const SANDBOX_VCPU_SECOND = 14_000;
const SANDBOX_GIB_SECOND = 4_500;
const RETRIEVAL_QUERY = 8_000_000;
const RETRIEVAL_READ_UNIT = 16_000;
const EMBEDDING_TOKEN = 20;
const CACHE_TOKEN_HOUR = 1_000;
const EGRESS_BYTE_NANOS_PER_GB = 90_000_000;

export const FLEET_RATE_CARD = { id: 'fleet-simulator', version: '2026-11-01', content_hash: 'sim' } as const;

function nanosToDecimal(nanos: number): string {
  const whole = Math.floor(nanos / 1e9);
  const fraction = String(nanos % 1e9)
    .padStart(9, '0')
    .replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : String(whole);
}

function line(
  lines: LineItem[],
  category: CostCategory,
  item: string,
  unit: string,
  quantity: number,
  unitNanos: number | null,
): void {
  if (quantity <= 0) return;
  lines.push({
    line_no: lines.length,
    category,
    item,
    unit,
    quantity: String(quantity),
    unit_price: unitNanos === null ? null : nanosToDecimal(unitNanos),
    cost_nanos: unitNanos === null ? null : Math.round(quantity * unitNanos),
    priced: unitNanos !== null,
  });
}

/** Line items for one usage event; a model without a price yields unpriced lines, never zero. */
export function lineItems(event: UsageEvent): LineItem[] {
  const lines: LineItem[] = [];
  const call = event.model_call;
  if (call) {
    const price = MODEL_PRICES[event.model ?? ''] ?? null;
    const uncached =
      call.input_tokens - call.cache_read_tokens - call.cache_write_5m_tokens - call.cache_write_1h_tokens;
    line(lines, 'tokens', 'input', 'token', uncached, price?.input ?? null);
    line(lines, 'tokens', 'cache_read', 'token', call.cache_read_tokens, price?.cacheRead ?? null);
    line(lines, 'tokens', 'cache_write_5m', 'token', call.cache_write_5m_tokens, price?.cacheWrite5m ?? null);
    line(lines, 'tokens', 'cache_write_1h', 'token', call.cache_write_1h_tokens, price?.cacheWrite1h ?? null);
    line(lines, 'tokens', 'output', 'token', call.output_tokens, price?.output ?? null);
  }
  if (event.tool_call)
    line(lines, 'tools', event.tool_call.tool_name, 'call', 1, TOOL_PRICES[event.tool_call.tool_name] ?? 0);
  if (event.sandbox) {
    line(lines, 'sandbox', 'vcpu_seconds', 'vcpu_second', event.sandbox.vcpu_seconds, SANDBOX_VCPU_SECOND);
    line(lines, 'sandbox', 'gib_seconds', 'gib_second', event.sandbox.gib_seconds, SANDBOX_GIB_SECOND);
  }
  if (event.retrieval) {
    line(lines, 'retrieval', 'queries', 'query', event.retrieval.queries, RETRIEVAL_QUERY);
    line(lines, 'retrieval', 'read_units', 'read_unit', event.retrieval.read_units, RETRIEVAL_READ_UNIT);
    line(lines, 'retrieval', 'embedding_tokens', 'token', event.retrieval.embedding_tokens, EMBEDDING_TOKEN);
  }
  if (event.cache_storage)
    line(
      lines,
      'cache_storage',
      'token_hours',
      'token_hour',
      event.cache_storage.token_hours,
      CACHE_TOKEN_HOUR,
    );
  if (event.egress) line(lines, 'egress', 'bytes', 'gb', event.egress.bytes / 1e9, EGRESS_BYTE_NANOS_PER_GB);
  return lines;
}

export function priceUsage(event: UsageEvent, pricedAt = event.event_time): PricedEvent {
  const lines = lineItems(event);
  let total = 0;
  for (const item of lines) total += item.cost_nanos ?? 0;
  return {
    usage: event,
    line_items: lines,
    total_nanos: total,
    currency: 'USD',
    has_unpriced: lines.some((item) => !item.priced),
    rate_card: { ...FLEET_RATE_CARD },
    priced_at: pricedAt,
    adjustment_of: null,
  };
}
