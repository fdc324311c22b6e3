/**
 * The pricing function: a usage event and a compiled rate card in, line items and a total out. Pure
 * (no clock, no I/O; plan caches inside the card only memoise) and exact (bigint, one rounding per
 * line, half-even to the nano: see money.ts).
 *
 * Invariants:
 * - Token buckets are disjoint: uncached input = input − cache read − cache write 5m − cache write 1h
 *   (the event follows OpenTelemetry: input includes cache reads and writes). Reasoning is inside
 *   output and is not billed again.
 * - Long-context cliff: when a request's input (all of it, cached included) is above a tier's
 *   threshold, EVERY token class of that request bills at the tier's rates.
 * - A line exists only for a non-zero quantity. A line the card cannot price is unpriced: `priced`
 *   false, its quantity kept, `cost_nanos` and `unit_price` null: never a zero cost.
 * - Unit price = list price (or the org's custom price) × service-tier multiplier (tokens only)
 *   × (1 − org discount) (unless a custom price applies), exact; cost = quantity × unit price,
 *   rounded once.
 */
import type { CostCategory, LineItem, RateCardRef, UsageEvent } from '../contract/types.ts';
import {
  type Decimal,
  decimalFromNumber,
  divideHalfEven,
  formatDecimal,
  nanosToNumber,
  toNanos,
} from '../money.ts';
import {
  type CompiledOverride,
  type CompiledRateCard,
  type CompiledVersion,
  type PlannedPrice,
  type TokenPlan,
  versionAt,
} from './compile.ts';
import { activeOverrides, applyOverrides, type LineContext } from './overrides.ts';
import { modelAt, tokenPlan } from './plan.ts';
import type { TokenClass } from './schema.ts';

export interface PriceResult {
  line_items: LineItem[];
  /** Sum of the priced lines, nano-units of `currency`. */
  total_nanos: number;
  currency: string;
  /** At least one line is unpriced: the total is a lower bound. */
  has_unpriced: boolean;
  /** `version` is '' when no version of the card was in force at the event time (all lines unpriced). */
  rate_card: RateCardRef;
}

export type PriceOutcome =
  | { ok: true; value: PriceResult }
  | { ok: false; code: 'invariant_violated' | 'cost_overflow'; reason: string };

const decimalText = new WeakMap<Decimal, string>();
function textOf(value: Decimal): string {
  let text = decimalText.get(value);
  if (text === undefined) {
    text = formatDecimal(value);
    decimalText.set(value, text);
  }
  return text;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

interface Lines {
  items: LineItem[];
  totalNanos: bigint;
  hasUnpriced: boolean;
  overflow: string | undefined;
}

function pushLine(
  lines: Lines,
  category: CostCategory,
  item: string,
  unit: string,
  quantityText: string,
  nanos: bigint | undefined,
  priceText: string | null,
): void {
  let costNanos: number | null = null;
  if (nanos !== undefined) {
    if (nanos > MAX_SAFE || nanos < -MAX_SAFE)
      lines.overflow ??= `${category} ${item}: cost ${nanos} nanos exceeds 2^53`;
    else costNanos = Number(nanos);
    lines.totalNanos += nanos;
  } else {
    lines.hasUnpriced = true;
  }
  lines.items.push({
    line_no: lines.items.length,
    category,
    item,
    unit,
    quantity: quantityText,
    unit_price: priceText,
    cost_nanos: costNanos,
    priced: nanos !== undefined,
  });
}

/** A line of `quantity` units at `price` (undefined: unpriced); nothing for a zero quantity. */
function addLine(
  lines: Lines,
  category: CostCategory,
  item: string,
  unit: string,
  quantity: Decimal,
  quantityText: string,
  price: Decimal | undefined,
): void {
  if (quantity.units === 0n) return;
  const nanos =
    price === undefined
      ? undefined
      : toNanos({ units: quantity.units * price.units, scale: quantity.scale + price.scale });
  pushLine(lines, category, item, unit, quantityText, nanos, price === undefined ? null : textOf(price));
}

/** The exact decimal of a count or amount from the event, and its text (the producer's digits). */
function quantityOf(amount: number): { quantity: Decimal; text: string } {
  if (Number.isSafeInteger(amount))
    return { quantity: { units: BigInt(amount), scale: 0 }, text: String(amount) };
  const quantity = decimalFromNumber(amount);
  return { quantity, text: formatDecimal(quantity) };
}

/** A non-token line: list price → org override → line. */
function addPlainLine(
  lines: Lines,
  line: LineContext,
  unit: string,
  amount: number,
  listPrice: Decimal | undefined,
  overrides: readonly CompiledOverride[] | undefined,
): void {
  if (amount === 0) return;
  const { quantity, text } = quantityOf(amount);
  const price = overrides === undefined ? listPrice : applyOverrides(listPrice, line, overrides).price;
  addLine(lines, line.category, line.item, unit, quantity, text, price);
}

function addTokenLine(
  lines: Lines,
  tokenClass: TokenClass,
  count: number,
  planned: PlannedPrice | undefined,
): void {
  if (count === 0) return;
  let nanos: bigint | undefined;
  if (planned !== undefined) {
    const exact = BigInt(count) * planned.nanosPerUnit;
    nanos = planned.divisor === 1n ? exact : divideHalfEven(exact, planned.divisor);
  }
  pushLine(
    lines,
    'tokens',
    tokenClass,
    'token',
    String(count),
    nanos,
    planned === undefined ? null : planned.text,
  );
}

function priceModelCall(
  lines: Lines,
  version: CompiledVersion | undefined,
  event: UsageEvent,
  overrides: readonly CompiledOverride[] | undefined,
): string | undefined {
  const call = event.model_call!;
  const cached = call.cache_read_tokens + call.cache_write_5m_tokens + call.cache_write_1h_tokens;
  const uncached = call.input_tokens - cached;
  if (uncached < 0)
    return `model_call: cache read and write tokens (${cached}) exceed input_tokens (${call.input_tokens})`;
  const model = version && modelAt(version, event);
  let plan: TokenPlan | undefined;
  if (version && model) {
    // Cliff: the highest threshold the whole input is above decides every class's rate.
    let contextTier = -1;
    for (let i = 0; i < model.tiers.length; i++) {
      if (call.input_tokens > model.tiers[i]!.aboveInputTokens) {
        contextTier = i;
        break;
      }
    }
    plan = tokenPlan(version, model, event, contextTier, overrides);
  }
  addTokenLine(lines, 'input', uncached, plan?.input);
  addTokenLine(lines, 'cache_read', call.cache_read_tokens, plan?.cache_read);
  addTokenLine(lines, 'cache_write_5m', call.cache_write_5m_tokens, plan?.cache_write_5m);
  addTokenLine(lines, 'cache_write_1h', call.cache_write_1h_tokens, plan?.cache_write_1h);
  addTokenLine(lines, 'output', call.output_tokens, plan?.output);
  return undefined;
}

function priceBody(
  lines: Lines,
  version: CompiledVersion | undefined,
  event: UsageEvent,
  overrides: readonly CompiledOverride[] | undefined,
): string | undefined {
  if (event.kind === 'model_call') return priceModelCall(lines, version, event, overrides);
  const provider = event.provider;
  const line = (category: CostCategory, item: string, model: string | null = event.model): LineContext => ({
    category,
    item,
    provider,
    model,
  });
  switch (event.kind) {
    case 'tool_call': {
      const name = event.tool_call!.tool_name;
      const price = version?.tools.candidates(provider, name)[0];
      addPlainLine(lines, line('tools', name), 'call', 1, price, overrides);
      return undefined;
    }
    case 'sandbox': {
      const body = event.sandbox!;
      const rates = provider === null ? undefined : version?.sandboxes.get(provider);
      addPlainLine(
        lines,
        line('sandbox', 'vcpu_seconds'),
        'vcpu_second',
        body.vcpu_seconds,
        rates?.perVcpuSecond,
        overrides,
      );
      addPlainLine(
        lines,
        line('sandbox', 'gib_seconds'),
        'gib_second',
        body.gib_seconds,
        rates?.perGibSecond,
        overrides,
      );
      return undefined;
    }
    case 'retrieval': {
      const body = event.retrieval!;
      const rates = provider === null ? undefined : version?.retrieval.get(provider);
      addPlainLine(lines, line('retrieval', 'queries'), 'query', body.queries, rates?.perQuery, overrides);
      addPlainLine(
        lines,
        line('retrieval', 'read_units'),
        'read_unit',
        body.read_units,
        rates?.perReadUnit,
        overrides,
      );
      const embeddingModel = body.embedding_model;
      const embedding =
        embeddingModel === null ? undefined : version?.embeddings.candidates(provider, embeddingModel)[0];
      addPlainLine(
        lines,
        line('retrieval', 'embedding_tokens', embeddingModel),
        'token',
        body.embedding_tokens,
        embedding,
        overrides,
      );
      return undefined;
    }
    case 'cache_storage': {
      const model = version && modelAt(version, event);
      addPlainLine(
        lines,
        line('cache_storage', 'token_hours'),
        'token_hour',
        event.cache_storage!.token_hours,
        model?.cacheStoragePerTokenHour,
        overrides,
      );
      return undefined;
    }
    case 'egress': {
      const body = event.egress!;
      const price =
        provider === null ? undefined : version?.egress.candidates(provider, body.destination ?? '')[0];
      if (body.bytes === 0) return undefined;
      // Egress is billed per GB = 10^9 bytes: the quantity is the exact decimal bytes / 10^9.
      const gigabytes = { units: BigInt(body.bytes), scale: 9 };
      const { price: final } = applyOverrides(price, line('egress', 'transfer'), overrides);
      addLine(lines, 'egress', 'transfer', 'gb', gigabytes, formatDecimal(gigabytes), final);
      return undefined;
    }
    default:
      // run_start, run_end, subagent_spawn, ceiling_decision: no cost of their own.
      return undefined;
  }
}

/**
 * Prices one event, which must already satisfy the contract invariants (validateUsageEvent); the
 * one invariant the arithmetic depends on (cache tokens within input) is checked again here.
 */
export function price(event: UsageEvent, card: CompiledRateCard): PriceOutcome {
  const version = versionAt(card, event.event_time);
  const overrides = activeOverrides(card, event);
  const lines: Lines = { items: [], totalNanos: 0n, hasUnpriced: false, overflow: undefined };
  const violation = priceBody(lines, version, event, overrides);
  if (violation !== undefined) return { ok: false, code: 'invariant_violated', reason: violation };
  const total = nanosToNumber(lines.totalNanos);
  if (lines.overflow !== undefined || total === undefined)
    return {
      ok: false,
      code: 'cost_overflow',
      reason: lines.overflow ?? `total ${lines.totalNanos} nanos exceeds 2^53`,
    };
  return {
    ok: true,
    value: {
      line_items: lines.items,
      total_nanos: total,
      currency: card.currency,
      has_unpriced: lines.hasUnpriced,
      rate_card: { id: card.id, version: version?.version ?? '', content_hash: card.contentHash },
    },
  };
}
