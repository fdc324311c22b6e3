/**
 * Token price plans: the final per-token price of each token class for one kind of request (model
 * entry × context tier × service tier × the org's overrides in force), resolved once and memoised on
 * the compiled model, with the exact cost of one token in nanos precomputed.
 */
import type { ServiceTier, UsageEvent } from '../contract/types.ts';
import { type Decimal, formatDecimal, multiplyDecimal } from '../money.ts';
import {
  type CompiledModel,
  type CompiledOverride,
  type CompiledVersion,
  type PlannedPrice,
  type TokenPlan,
  tierMultiplier,
} from './compile.ts';
import { applyOverrides } from './overrides.ts';
import { TOKEN_CLASSES, type TokenClass } from './schema.ts';

const SERVICE_TIER_SLOT: Record<ServiceTier, number> = { default: 0, batch: 1, flex: 2, priority: 3 };
const PLAN_CACHE_LIMIT = 1_000;
const NANO_SCALE = 9;

function plannedPrice(perUnit: Decimal): PlannedPrice {
  const below = perUnit.scale - NANO_SCALE;
  return {
    perUnit,
    text: formatDecimal(perUnit),
    nanosPerUnit: below <= 0 ? perUnit.units * 10n ** BigInt(-below) : perUnit.units,
    divisor: below <= 0 ? 1n : 10n ** BigInt(below),
  };
}

function buildPlan(
  version: CompiledVersion,
  model: CompiledModel,
  event: UsageEvent,
  contextTier: number,
  overrides: readonly CompiledOverride[] | undefined,
): TokenPlan {
  const provider = event.provider!;
  const listPrices = contextTier < 0 ? model.perToken : model.tiers[contextTier]!.perToken;
  const multiplier = tierMultiplier(version, model, provider, event.service_tier);
  const built = {} as Record<TokenClass, PlannedPrice | undefined>;
  for (const tokenClass of TOKEN_CLASSES) {
    const line = { category: 'tokens' as const, item: tokenClass, provider, model: event.model };
    const { price } = applyOverrides(listPrices[tokenClass], line, overrides);
    built[tokenClass] = price && multiplier ? plannedPrice(multiplyDecimal(price, multiplier)) : undefined;
  }
  return built;
}

/** The resolved token prices for this request, memoised on the model entry. */
export function tokenPlan(
  version: CompiledVersion,
  model: CompiledModel,
  event: UsageEvent,
  contextTier: number,
  overrides: readonly CompiledOverride[] | undefined,
): TokenPlan {
  if (overrides !== undefined) {
    // Custom prices may select by model name, so the name is part of the key.
    const key = `${contextTier}|${event.service_tier}|${event.provider}|${event.org_id}|${overrides.map((o) => o.path).join(',')}|${event.model}`;
    let plan = model.overridePlans.get(key);
    if (plan === undefined) {
      plan = buildPlan(version, model, event, contextTier, overrides);
      if (model.overridePlans.size >= PLAN_CACHE_LIMIT) model.overridePlans.clear();
      model.overridePlans.set(key, plan);
    }
    return plan;
  }
  const provider = event.provider!;
  let slots = model.plans.get(provider);
  if (slots === undefined) {
    slots = [];
    model.plans.set(provider, slots);
  }
  const slot = (contextTier + 1) * 4 + SERVICE_TIER_SLOT[event.service_tier];
  let plan = slots[slot];
  if (plan === undefined) {
    plan = buildPlan(version, model, event, contextTier, undefined);
    slots[slot] = plan;
  }
  return plan;
}

export function modelAt(version: CompiledVersion, event: UsageEvent): CompiledModel | undefined {
  if (event.provider === null || event.model === null) return undefined;
  for (const model of version.models.candidates(event.provider, event.model)) {
    if (model.fromMs <= event.event_time && event.event_time < model.untilMs) return model;
  }
  return undefined;
}

/** Accumulates lines; costs are bigint until the end. */
