/**
 * Pricing rules against hand-computed costs. Every expectation shows its arithmetic: tokens × price
 * per 1M / 1,000,000 = USD; × 10^9 = nanos. Prices are those of ratecards/default.yaml unless a test
 * builds its own card.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { LineItem, UsageEvent } from '../contract/types.ts';
import type { CompiledRateCard } from './compile.ts';
import { parseRateCardOrThrow } from './parse.ts';
import { type PriceResult, price } from './price.ts';
import { modelCallEvent, usageEvent } from './testing.ts';

const DEFAULT_CARD_PATH = new URL('../../../../ratecards/default.yaml', import.meta.url);
const card = parseRateCardOrThrow(readFileSync(DEFAULT_CARD_PATH, 'utf8'), 'ratecards/default.yaml');

function priced(event: UsageEvent, with_: CompiledRateCard = card): PriceResult {
  const outcome = price(event, with_);
  assert.ok(outcome.ok, outcome.ok ? '' : outcome.reason);
  return outcome.value;
}

/** item → [quantity, unit_price, cost_nanos] for compact assertions. */
function lines(result: PriceResult): Record<string, [string, string | null, number | null]> {
  const out: Record<string, [string, string | null, number | null]> = {};
  for (const line of result.line_items) out[line.item] = [line.quantity, line.unit_price, line.cost_nanos];
  return out;
}

describe('token counting conventions (events arrive OpenTelemetry-style)', () => {
  it('OpenAI: prompt tokens include cached tokens; the cached part bills at the cache-read price', () => {
    // gpt-4o 2.50 / 1.25 cached / 10.00 output. prompt_tokens 10,000 of which cached 4,000.
    // uncached 6,000 × 2.50 = 15,000,000 nanos; cached 4,000 × 1.25 = 5,000,000; output 500 × 10 = 5,000,000.
    const result = priced(
      modelCallEvent('openai', 'gpt-4o-2024-08-06', {
        input_tokens: 10_000,
        cache_read_tokens: 4_000,
        output_tokens: 500,
      }),
    );
    assert.deepEqual(lines(result), {
      input: ['6000', '0.0000025', 15_000_000],
      cache_read: ['4000', '0.00000125', 5_000_000],
      output: ['500', '0.00001', 5_000_000],
    });
    assert.equal(result.total_nanos, 25_000_000);
    assert.equal(result.has_unpriced, false);
    assert.deepEqual(result.rate_card, {
      id: 'default',
      version: '2026-11-28',
      content_hash: card.contentHash,
    });
  });

  it('Gemini: promptTokenCount includes cached content; reasoning stays inside output', () => {
    // gemini-2.5-flash 0.30 / 0.03 / 2.50. prompt 1,000 with 600 cached; output 2,000 of which 1,500 thoughts.
    // uncached 400 × 0.30 = 120,000 nanos; cached 600 × 0.03 = 18,000; output 2,000 × 2.50 = 5,000,000.
    const result = priced(
      modelCallEvent('gcp.gemini', 'gemini-2.5-flash', {
        input_tokens: 1_000,
        cache_read_tokens: 600,
        output_tokens: 2_000,
        reasoning_tokens: 1_500,
      }),
    );
    assert.deepEqual(lines(result), {
      input: ['400', '0.0000003', 120_000],
      cache_read: ['600', '0.00000003', 18_000],
      output: ['2000', '0.0000025', 5_000_000],
    });
    assert.equal(result.total_nanos, 5_138_000);
  });

  it('Anthropic, normalised by the SDK: input = uncached + cache reads + cache writes', () => {
    // Anthropic reported input_tokens 100 (uncached), cache_read 2,000, cache_creation 300 (5 min);
    // the SDK sends input_tokens 2,400. claude-sonnet-4-5: 3.00 / 0.30 / 3.75 / 6.00 / 15.00.
    // 100 × 3.00 = 300,000; 2,000 × 0.30 = 600,000; 300 × 3.75 = 1,125,000; 40 × 6.00 = 240,000;
    // output 250 × 15.00 = 3,750,000. Total 6,015,000.
    const result = priced(
      modelCallEvent('anthropic', 'claude-sonnet-4-5-20250929', {
        input_tokens: 2_440,
        cache_read_tokens: 2_000,
        cache_write_5m_tokens: 300,
        cache_write_1h_tokens: 40,
        output_tokens: 250,
      }),
    );
    assert.deepEqual(lines(result), {
      input: ['100', '0.000003', 300_000],
      cache_read: ['2000', '0.0000003', 600_000],
      cache_write_5m: ['300', '0.00000375', 1_125_000],
      cache_write_1h: ['40', '0.000006', 240_000],
      output: ['250', '0.000015', 3_750_000],
    });
    assert.equal(result.total_nanos, 6_015_000);
  });

  it('refuses an event whose cache tokens exceed its input instead of billing negative input', () => {
    const outcome = price(
      modelCallEvent('openai', 'gpt-4o', { input_tokens: 10, cache_read_tokens: 11 }),
      card,
    );
    assert.equal(outcome.ok, false);
    assert.equal(!outcome.ok && outcome.code, 'invariant_violated');
  });
});

describe('long-context tiers: a cliff at the threshold', () => {
  it('bills 200,000 input tokens at the base rates', () => {
    // 200,000 × 3.00 = 600,000,000 nanos; output 1,000 × 15.00 = 15,000,000.
    const result = priced(
      modelCallEvent('anthropic', 'claude-sonnet-4-20250514', {
        input_tokens: 200_000,
        output_tokens: 1_000,
      }),
    );
    assert.deepEqual(lines(result), {
      input: ['200000', '0.000003', 600_000_000],
      output: ['1000', '0.000015', 15_000_000],
    });
    assert.equal(result.total_nanos, 615_000_000);
  });

  it('bills every token class of a 200,001-token request at the tier rates', () => {
    // Over 200k: 6.00 / 0.60 / 7.50 / 12.00 / 22.50. input 200,001 = 50,001 uncached + 150,000 read.
    // 50,001 × 6.00 = 300,006,000; 150,000 × 0.60 = 90,000,000; output 1,000 × 22.50 = 22,500,000.
    const result = priced(
      modelCallEvent('anthropic', 'claude-sonnet-4-20250514', {
        input_tokens: 200_001,
        cache_read_tokens: 150_000,
        output_tokens: 1_000,
      }),
    );
    assert.deepEqual(lines(result), {
      input: ['50001', '0.000006', 300_006_000],
      cache_read: ['150000', '0.0000006', 90_000_000],
      output: ['1000', '0.0000225', 22_500_000],
    });
    assert.equal(result.total_nanos, 412_506_000);
  });

  it('applies Gemini 2.5 Pro’s tier the same way', () => {
    // 200,000: 200,000 × 1.25 = 250,000,000 + output 100 × 10.00 = 1,000,000 → 251,000,000.
    // 200,001: 200,001 × 2.50 = 500,002,500 + output 100 × 15.00 = 1,500,000 → 501,502,500.
    const under = priced(
      modelCallEvent('gcp.gemini', 'gemini-2.5-pro', { input_tokens: 200_000, output_tokens: 100 }),
    );
    const over = priced(
      modelCallEvent('gcp.gemini', 'gemini-2.5-pro', { input_tokens: 200_001, output_tokens: 100 }),
    );
    assert.equal(under.total_nanos, 251_000_000);
    assert.equal(over.total_nanos, 501_502_500);
  });
});

describe('service tiers', () => {
  it('halves every token class in batch', () => {
    // gpt-5 batch: input 1.25 × 0.5 = 0.625/1M; output 10.00 × 0.5 = 5.00/1M; cached 0.125 × 0.5 = 0.0625/1M.
    // 1,000,000 × 0.625 = 625,000,000; 100,000 × 5.00 = 500,000,000; 1,000 × 0.0625 = 62,500.
    const result = priced(
      modelCallEvent(
        'openai',
        'gpt-5',
        { input_tokens: 1_001_000, cache_read_tokens: 1_000, output_tokens: 100_000 },
        { service_tier: 'batch' },
      ),
    );
    assert.deepEqual(lines(result), {
      input: ['1000000', '0.000000625', 625_000_000],
      cache_read: ['1000', '0.0000000625', 62_500],
      output: ['100000', '0.000005', 500_000_000],
    });
  });

  it('halves flex and doubles priority (OpenAI)', () => {
    // o3 flex: 1,000 × 2.00 × 0.5 = 1,000,000; gpt-4.1 priority: 1,000 × 2.00 × 2 = 4,000,000.
    const flex = priced(modelCallEvent('openai', 'o3', { input_tokens: 1_000 }, { service_tier: 'flex' }));
    const priority = priced(
      modelCallEvent('openai', 'gpt-4.1', { input_tokens: 1_000 }, { service_tier: 'priority' }),
    );
    assert.equal(flex.total_nanos, 1_000_000);
    assert.equal(priority.total_nanos, 4_000_000);
  });

  it('leaves a tier the card has no multiplier for unpriced, never at the default price', () => {
    const result = priced(
      modelCallEvent('anthropic', 'claude-haiku-4-5', { input_tokens: 1_000 }, { service_tier: 'flex' }),
    );
    assert.deepEqual(lines(result), { input: ['1000', null, null] });
    assert.equal(result.has_unpriced, true);
  });

  it('rounds a sub-nano line once, half to even', () => {
    // gpt-5-nano batch cache read: 0.005 × 0.5 = 0.0025/1M = 2.5 nanos per token.
    // 1 token → 2.5 → 2 (even); 3 tokens → 7.5 → 8 (even); 5 tokens → 12.5 → 12.
    const cost = (tokens: number) =>
      priced(
        modelCallEvent(
          'openai',
          'gpt-5-nano',
          { input_tokens: tokens, cache_read_tokens: tokens },
          { service_tier: 'batch' },
        ),
      ).total_nanos;
    assert.equal(cost(1), 2);
    assert.equal(cost(3), 8);
    assert.equal(cost(5), 12);
  });
});

describe('model matching and versions', () => {
  it('picks the most specific entry', () => {
    // claude-opus-4-5* (5.00) beats claude-opus-4* (15.00); gpt-4o-mini's own entry beats gpt-4o.
    const opus45 = priced(modelCallEvent('anthropic', 'claude-opus-4-5-20251101', { input_tokens: 1_000 }));
    const opus41 = priced(modelCallEvent('anthropic', 'claude-opus-4-1-20250805', { input_tokens: 1_000 }));
    const mini = priced(modelCallEvent('openai', 'gpt-4o-mini-2024-07-18', { input_tokens: 1_000 }));
    const lite = priced(modelCallEvent('gcp.vertex_ai', 'gemini-2.5-flash-lite', { input_tokens: 1_000 }));
    assert.equal(opus45.total_nanos, 5_000_000); // 1,000 × 5.00
    assert.equal(opus41.total_nanos, 15_000_000); // 1,000 × 15.00
    assert.equal(mini.total_nanos, 150_000); // 1,000 × 0.15
    assert.equal(lite.total_nanos, 100_000); // 1,000 × 0.10
  });

  it('prices o3 by the entry in force at the event time (price cut on 2025-06-10)', () => {
    // 1,000,000 input: before 10.00 → 10,000,000,000 nanos; from the cut 2.00 → 2,000,000,000.
    const at = (iso: string) =>
      priced(
        modelCallEvent(
          'openai',
          'o3-2025-04-16',
          { input_tokens: 1_000_000 },
          { event_time: Date.parse(iso) },
        ),
      ).total_nanos;
    assert.equal(at('2025-06-09T23:59:59.999Z'), 10_000_000_000);
    assert.equal(at('2025-06-10T00:00:00.000Z'), 2_000_000_000);
  });

  it('selects the card version in force at the event time', () => {
    const versioned = parseRateCardOrThrow(
      `id: v
currency: USD
versions:
  - version: v1
    effective_from: 2026-01-01
    models: [{ provider: openai, match: gpt-4o, input: "2.50" }]
  - version: v2
    effective_from: 2026-03-01T12:00:00Z
    models: [{ provider: openai, match: gpt-4o, input: "2.00" }]
`,
      'versioned.yaml',
    );
    const at = (iso: string) =>
      priced(
        modelCallEvent('openai', 'gpt-4o', { input_tokens: 1_000 }, { event_time: Date.parse(iso) }),
        versioned,
      );
    assert.equal(at('2026-03-01T11:59:59.999Z').total_nanos, 2_500_000); // 1,000 × 2.50
    assert.equal(at('2026-03-01T11:59:59.999Z').rate_card.version, 'v1');
    assert.equal(at('2026-03-01T12:00:00Z').total_nanos, 2_000_000); // 1,000 × 2.00
    assert.equal(at('2026-03-01T12:00:00Z').rate_card.version, 'v2');
    const before = at('2025-12-31T23:59:59Z');
    assert.equal(before.rate_card.version, '');
    assert.equal(before.has_unpriced, true);
    assert.deepEqual(lines(before), { input: ['1000', null, null] });
  });

  it('leaves an unknown model unpriced with its quantities kept, never at zero', () => {
    const result = priced(
      modelCallEvent('openai', 'gpt-9-preview', {
        input_tokens: 1_200,
        cache_read_tokens: 200,
        output_tokens: 80,
      }),
    );
    assert.deepEqual(
      result.line_items.map((l: LineItem) => [l.item, l.quantity, l.priced, l.unit_price, l.cost_nanos]),
      [
        ['input', '1000', false, null, null],
        ['cache_read', '200', false, null, null],
        ['output', '80', false, null, null],
      ],
    );
    assert.equal(result.has_unpriced, true);
    assert.equal(result.total_nanos, 0);
  });

  it('leaves a missing token class unpriced while pricing the others', () => {
    // OpenAI has no cache-write price: 100 cache-write tokens are unpriced; 900 uncached × 2.50 = 2,250,000.
    const result = priced(
      modelCallEvent('openai', 'gpt-4o', { input_tokens: 1_000, cache_write_5m_tokens: 100 }),
    );
    assert.deepEqual(lines(result), {
      input: ['900', '0.0000025', 2_250_000],
      cache_write_5m: ['100', null, null],
    });
    assert.equal(result.total_nanos, 2_250_000);
    assert.equal(result.has_unpriced, true);
  });
});

describe('non-token items', () => {
  it('prices a tool call by tool name and provider', () => {
    // OpenAI web search: 10 per 1k calls = 0.01 = 10,000,000 nanos.
    const search = priced(
      usageEvent('tool_call', {
        provider: 'openai',
        tool_call: { tool_name: 'web_search', call_signature: null, status: 'ok', duration_ms: 5 },
      }),
    );
    assert.deepEqual(search.line_items, [
      {
        line_no: 0,
        category: 'tools',
        item: 'web_search',
        unit: 'call',
        quantity: '1',
        unit_price: '0.01',
        cost_nanos: 10_000_000,
        priced: true,
      },
    ]);
    // Gemini grounding: 35 per 1k = 0.035 = 35,000,000 nanos.
    const grounding = priced(
      usageEvent('tool_call', {
        provider: 'gcp.gemini',
        tool_call: { tool_name: 'google_search', call_signature: null, status: 'ok', duration_ms: 5 },
      }),
    );
    assert.equal(grounding.total_nanos, 35_000_000);
    // A local function tool falls to the card's explicit `*` entry at 0: priced, not unpriced.
    const local = priced(
      usageEvent('tool_call', {
        provider: 'anthropic',
        tool_call: { tool_name: 'read_file', call_signature: null, status: 'ok', duration_ms: 5 },
      }),
    );
    assert.deepEqual(lines(local), { read_file: ['1', '0', 0] });
    assert.equal(local.has_unpriced, false);
  });

  it('prices sandbox time per vCPU-second and GiB-second', () => {
    // E2B: 120.5 vCPU-s × 0.000014 = 0.001687 = 1,687,000 nanos; 241 GiB-s × 0.0000045 = 0.0010845 = 1,084,500.
    const result = priced(
      usageEvent('sandbox', {
        provider: 'e2b',
        sandbox: { sandbox_id: 's', vcpu_seconds: 120.5, gib_seconds: 241, idle_seconds: 0 },
      }),
    );
    assert.deepEqual(lines(result), {
      vcpu_seconds: ['120.5', '0.000014', 1_687_000],
      gib_seconds: ['241', '0.0000045', 1_084_500],
    });
    assert.equal(result.total_nanos, 2_771_500);
    // Modal: 10 core-s × 0.00003942 = 394,200 nanos; 0.1 GiB-s × 0.00000672 = 0.000000672 = 672 nanos.
    const modal = priced(
      usageEvent('sandbox', {
        provider: 'modal',
        sandbox: { sandbox_id: 's', vcpu_seconds: 10, gib_seconds: 0.1, idle_seconds: 0 },
      }),
    );
    assert.deepEqual(lines(modal), {
      vcpu_seconds: ['10', '0.00003942', 394_200],
      gib_seconds: ['0.1', '0.00000672', 672],
    });
  });

  it('prices retrieval per query, per read unit and per embedding token', () => {
    // Pinecone: 3 queries × 0 = 0; 1,500 read units × 16/1M = 24,000,000 nanos;
    // 10,000 embedding tokens of text-embedding-3-small × 0.02/1M = 200,000 nanos.
    const result = priced(
      usageEvent('retrieval', {
        provider: 'pinecone',
        retrieval: {
          queries: 3,
          read_units: 1_500,
          embedding_tokens: 10_000,
          embedding_model: 'text-embedding-3-small',
          index_name: 'kb',
        },
      }),
    );
    assert.deepEqual(lines(result), {
      queries: ['3', '0', 0],
      read_units: ['1500', '0.000016', 24_000_000],
      embedding_tokens: ['10000', '0.00000002', 200_000],
    });
    // Tavily: 2 queries × 0.008 = 16,000,000 nanos; an unknown embedding model stays unpriced.
    const tavily = priced(
      usageEvent('retrieval', {
        provider: 'tavily',
        retrieval: {
          queries: 2,
          read_units: 0,
          embedding_tokens: 50,
          embedding_model: 'mystery-embed',
          index_name: null,
        },
      }),
    );
    assert.deepEqual(lines(tavily), {
      queries: ['2', '0.008', 16_000_000],
      embedding_tokens: ['50', null, null],
    });
  });

  it('prices cache storage per 1M token-hours by model', () => {
    // Gemini 2.5 Pro explicit cache: 50,000 token-hours × 4.50/1M = 0.225 = 225,000,000 nanos.
    const result = priced(
      usageEvent('cache_storage', {
        provider: 'gcp.gemini',
        model: 'gemini-2.5-pro',
        cache_storage: { token_hours: 50_000 },
      }),
    );
    assert.deepEqual(lines(result), { token_hours: ['50000', '0.0000045', 225_000_000] });
  });

  it('prices egress per GB of 10^9 bytes, by provider and destination', () => {
    // AWS internet: 2,500,000,000 bytes = 2.5 GB × 0.09 = 0.225 = 225,000,000 nanos.
    const internet = priced(
      usageEvent('egress', { provider: 'aws', egress: { bytes: 2_500_000_000, destination: 'internet' } }),
    );
    assert.deepEqual(lines(internet), { transfer: ['2.5', '0.09', 225_000_000] });
    // AWS cross-AZ: 123,456,789 bytes = 0.123456789 GB × 0.01 = 0.00123456789 = 1,234,567.89 → 1,234,568 nanos.
    const crossAz = priced(
      usageEvent('egress', { provider: 'aws', egress: { bytes: 123_456_789, destination: 'cross-az' } }),
    );
    assert.deepEqual(lines(crossAz), { transfer: ['0.123456789', '0.01', 1_234_568] });
  });

  it('gives run bookkeeping events no lines', () => {
    const result = priced(usageEvent('run_start', { run_start: { trigger: 'schedule' } }));
    assert.deepEqual(result.line_items, []);
    assert.equal(result.total_nanos, 0);
    assert.equal(result.has_unpriced, false);
  });
});

describe('per-org overrides', () => {
  const negotiated = parseRateCardOrThrow(
    `id: negotiated
currency: USD
versions:
  - version: "1"
    effective_from: 2024-01-01
    service_tiers: [{ provider: anthropic, batch: "0.5" }]
    models:
      - { provider: anthropic, match: claude-sonnet-4*, input: "3.00", output: "15.00" }
      - { provider: openai, match: gpt-4o, input: "2.50", output: "10.00" }
    sandboxes: [{ provider: e2b, per_vcpu_second: "0.000014", per_gib_second: "0.0000045" }]
overrides:
  - org_id: acme
    discount_percent: "12.5"
    applies_to: { category: tokens, provider: anthropic }
  - org_id: acme
    custom_price: { category: sandbox, provider: e2b, item: vcpu_seconds, price: "0.00001" }
  - org_id: globex
    custom_price: { category: tokens, item: output, model: gpt-4o*, price: "8.00" }
  - org_id: globex
    discount_percent: "50"
    effective_from: 2027-01-01
`,
    'negotiated.yaml',
  );

  it('takes a percentage discount off matching lines only', () => {
    // acme, Anthropic tokens: 3.00 × 0.875 = 2.625/1M; 10,000 × 2.625 = 26,250,000 nanos;
    // output 15.00 × 0.875 = 13.125/1M; 1,000 × 13.125 = 13,125,000. Total 39,375,000.
    const acme = priced(
      modelCallEvent(
        'anthropic',
        'claude-sonnet-4-5',
        { input_tokens: 10_000, output_tokens: 1_000 },
        { org_id: 'acme' },
      ),
      negotiated,
    );
    assert.deepEqual(lines(acme), {
      input: ['10000', '0.000002625', 26_250_000],
      output: ['1000', '0.000013125', 13_125_000],
    });
    // The same call for another org pays list: 30,000,000 + 15,000,000.
    const other = priced(
      modelCallEvent(
        'anthropic',
        'claude-sonnet-4-5',
        { input_tokens: 10_000, output_tokens: 1_000 },
        { org_id: 'initech' },
      ),
      negotiated,
    );
    assert.equal(other.total_nanos, 45_000_000);
    // acme's OpenAI tokens are outside the discount's scope: 10,000 × 2.50 = 25,000,000.
    const openai = priced(
      modelCallEvent('openai', 'gpt-4o', { input_tokens: 10_000 }, { org_id: 'acme' }),
      negotiated,
    );
    assert.equal(openai.total_nanos, 25_000_000);
  });

  it('stacks the discount with the service-tier multiplier, exactly', () => {
    // acme batch: 3.00 × 0.5 × 0.875 = 1.3125/1M; 10,000 × 1.3125 = 13,125,000 nanos.
    const result = priced(
      modelCallEvent(
        'anthropic',
        'claude-sonnet-4',
        { input_tokens: 10_000 },
        { org_id: 'acme', service_tier: 'batch' },
      ),
      negotiated,
    );
    assert.deepEqual(lines(result), { input: ['10000', '0.0000013125', 13_125_000] });
  });

  it('replaces the price of one item with a custom price', () => {
    // acme e2b: 100 vCPU-s × 0.00001 (custom) = 1,000,000 nanos; 100 GiB-s × 0.0000045 (list) = 450,000.
    const result = priced(
      usageEvent('sandbox', {
        org_id: 'acme',
        provider: 'e2b',
        sandbox: { sandbox_id: 's', vcpu_seconds: 100, gib_seconds: 100, idle_seconds: 0 },
      }),
      negotiated,
    );
    assert.deepEqual(lines(result), {
      vcpu_seconds: ['100', '0.00001', 1_000_000],
      gib_seconds: ['100', '0.0000045', 450_000],
    });
    // globex gpt-4o output at 8.00 instead of 10.00: 1,000 × 8.00 = 8,000,000; input stays 1,000 × 2.50 = 2,500,000.
    const globex = priced(
      modelCallEvent('openai', 'gpt-4o', { input_tokens: 1_000, output_tokens: 1_000 }, { org_id: 'globex' }),
      negotiated,
    );
    assert.deepEqual(lines(globex), {
      input: ['1000', '0.0000025', 2_500_000],
      output: ['1000', '0.000008', 8_000_000],
    });
  });

  it('applies an override only inside its window', () => {
    // globex's 50 % discount starts 2027-01-01: input 1,000 × 2.50 × 0.5 = 1,250,000 after, 2,500,000 before.
    const event = (iso: string) =>
      modelCallEvent(
        'openai',
        'gpt-4o',
        { input_tokens: 1_000 },
        { org_id: 'globex', event_time: Date.parse(iso) },
      );
    assert.equal(priced(event('2026-12-31T23:59:59Z'), negotiated).total_nanos, 2_500_000);
    assert.equal(priced(event('2027-01-01T00:00:00Z'), negotiated).total_nanos, 1_250_000);
  });
});

describe('exactness at scale', () => {
  it('reports a cost beyond 2^53 nanos as an overflow instead of losing precision', () => {
    // 10^12 output tokens of claude-opus-4 × 75.00/1M = 75,000,000 USD = 7.5 × 10^16 nanos > 2^53.
    const outcome = price(modelCallEvent('anthropic', 'claude-opus-4', { output_tokens: 1e12 }), card);
    assert.equal(outcome.ok, false);
    assert.equal(!outcome.ok && outcome.code, 'cost_overflow');
  });
});
