/**
 * Turns a validated rate card into lookup tables, once, when it is loaded: every price parsed to an
 * exact decimal per unit, every name pattern compiled, entries indexed by provider. Pricing an event
 * then does map lookups and bigint multiplications only.
 */
import type { CostCategory, ServiceTier } from '../contract/types.ts';
import { type Decimal, parseDecimal, shiftDecimal } from '../money.ts';
import { createMatcher, type Matcher, type MatchKey, parseMatchKey } from './match.ts';
import {
  type ModelSpec,
  type OverrideSpec,
  PRICED_TIERS,
  type PricedTier,
  type RateCardSpec,
  TOKEN_CLASSES,
  type TokenClass,
  type VersionSpec,
} from './schema.ts';

export type TokenPrices = Readonly<Record<TokenClass, Decimal | undefined>>;
export type TierMultipliers = Readonly<Partial<Record<PricedTier, Decimal>>>;

/**
 * A unit price ready for line items: its canonical text, and the exact cost of one unit in nanos as
 * `nanosPerUnit / divisor` (divisor 1 unless the price has digits below the nano), so a line costs
 * one bigint multiplication, plus one half-even division only for sub-nano prices.
 */
export interface PlannedPrice {
  perUnit: Decimal;
  text: string;
  nanosPerUnit: bigint;
  divisor: bigint;
}
/** The final per-token price of each token class for one kind of request; undefined = unpriced. */
export type TokenPlan = Readonly<Record<TokenClass, PlannedPrice | undefined>>;

export interface CompiledModel {
  /** Where the entry is in the card, for logs: `versions[0].models[7]`. */
  path: string;
  /** Per token (the card's per-1M prices divided by 1,000,000, exactly). */
  perToken: TokenPrices;
  /** Long-context tiers, highest threshold first; per token. */
  tiers: readonly { aboveInputTokens: number; perToken: TokenPrices }[];
  multipliers: TierMultipliers;
  /** Per token-hour. */
  cacheStoragePerTokenHour: Decimal | undefined;
  fromMs: number;
  untilMs: number;
  /** Resolved token prices by provider, then (context tier, service tier) slot; filled by price.ts. */
  plans: Map<string, (TokenPlan | undefined)[]>;
  /** The same for orgs with overrides in force, by a key naming them; filled by price.ts. */
  overridePlans: Map<string, TokenPlan>;
}

export interface CompiledVersion {
  version: string;
  effectiveFromMs: number;
  models: Matcher<CompiledModel>;
  providerMultipliers: ReadonlyMap<string, TierMultipliers>;
  /** Per call. */
  tools: Matcher<Decimal>;
  sandboxes: ReadonlyMap<string, { perVcpuSecond: Decimal | undefined; perGibSecond: Decimal | undefined }>;
  retrieval: ReadonlyMap<string, { perQuery: Decimal | undefined; perReadUnit: Decimal | undefined }>;
  /** Per embedding token. */
  embeddings: Matcher<Decimal>;
  /** Per GB (10^9 bytes); looked up by provider and destination ('' when the event names none). */
  egress: Matcher<Decimal>;
}

export interface CompiledOverride {
  path: string;
  fromMs: number;
  untilMs: number;
  /** `(100 − percent) / 100`, exact; set for a discount. */
  discountFactor: Decimal | undefined;
  categories: ReadonlySet<CostCategory> | undefined;
  providers: readonly string[] | undefined;
  custom:
    | {
        category: CostCategory;
        item: MatchKey;
        provider: string | undefined;
        model: MatchKey | undefined;
        /** Per unit of the line (per token, per read unit, per byte, …). */
        perUnit: Decimal;
      }
    | undefined;
}

export interface CompiledRateCard {
  id: string;
  currency: string;
  /** sha256 (hex) of the canonical serialization of the validated card. */
  contentHash: string;
  /** Ascending by effective_from. */
  versions: readonly CompiledVersion[];
  overridesByOrg: ReadonlyMap<string, readonly CompiledOverride[]>;
  spec: RateCardSpec;
  /** Where the card came from (a file path, `topic@partition:offset`), for logs and errors. */
  source: string;
}

const PER_MILLION = -6;

function perUnit(text: string | undefined, exponent: number): Decimal | undefined {
  return text === undefined ? undefined : shiftDecimal(parseDecimal(text), exponent);
}

function tokenPrices(spec: Partial<Record<TokenClass, string>>): TokenPrices {
  const out = {} as Record<TokenClass, Decimal | undefined>;
  for (const tokenClass of TOKEN_CLASSES) out[tokenClass] = perUnit(spec[tokenClass], PER_MILLION);
  return out;
}

function multipliers(spec: Partial<Record<PricedTier, string>> | undefined): TierMultipliers {
  const out: Partial<Record<PricedTier, Decimal>> = {};
  for (const tier of PRICED_TIERS) {
    const text = spec?.[tier];
    if (text !== undefined) out[tier] = parseDecimal(text);
  }
  return out;
}

function compileModel(spec: ModelSpec, path: string): CompiledModel {
  return {
    path,
    perToken: tokenPrices(spec),
    tiers: (spec.long_context ?? [])
      .map((tier) => ({ aboveInputTokens: tier.above_input_tokens, perToken: tokenPrices(tier) }))
      .sort((a, b) => b.aboveInputTokens - a.aboveInputTokens),
    multipliers: multipliers(spec.service_tiers),
    cacheStoragePerTokenHour: perUnit(spec.cache_storage_per_1m_token_hours, PER_MILLION),
    fromMs: spec.effective_from ?? Number.NEGATIVE_INFINITY,
    untilMs: spec.effective_until ?? Number.POSITIVE_INFINITY,
    plans: new Map(),
    overridePlans: new Map(),
  };
}

function compileVersion(spec: VersionSpec, index: number): CompiledVersion {
  const at = `versions[${index}]`;
  const byProvider = <T>(entries: { provider: string[] }[], make: (entry: never) => T): Map<string, T> => {
    const map = new Map<string, T>();
    for (const entry of entries)
      for (const provider of entry.provider) map.set(provider, make(entry as never));
    return map;
  };
  return {
    version: spec.version,
    effectiveFromMs: spec.effective_from,
    models: createMatcher(
      spec.models.map((model, order) => ({
        providers: model.provider,
        keys: model.match.map(parseMatchKey),
        order,
        value: compileModel(model, `${at}.models[${order}]`),
      })),
    ),
    providerMultipliers: byProvider(spec.service_tiers, (entry: VersionSpec['service_tiers'][number]) =>
      multipliers(entry),
    ),
    tools: createMatcher(
      spec.tools.map((tool, order) => ({
        providers: tool.provider,
        keys: tool.name.map(parseMatchKey),
        order,
        value: parseDecimal(tool.per_call),
      })),
    ),
    sandboxes: byProvider(spec.sandboxes, (entry: VersionSpec['sandboxes'][number]) => ({
      perVcpuSecond: perUnit(entry.per_vcpu_second, 0),
      perGibSecond: perUnit(entry.per_gib_second, 0),
    })),
    retrieval: byProvider(spec.retrieval, (entry: VersionSpec['retrieval'][number]) => ({
      perQuery: perUnit(entry.per_query, 0),
      perReadUnit: perUnit(entry.per_1m_read_units, PER_MILLION),
    })),
    embeddings: createMatcher(
      spec.embeddings.map((embedding, order) => ({
        providers: embedding.provider,
        keys: embedding.match.map(parseMatchKey),
        order,
        value: shiftDecimal(parseDecimal(embedding.per_1m_tokens), PER_MILLION),
      })),
    ),
    egress: createMatcher(
      spec.egress.map((egress, order) => ({
        providers: egress.provider,
        keys: (egress.destination ?? ['*']).map(parseMatchKey),
        order,
        value: parseDecimal(egress.per_gb),
      })),
    ),
  };
}

/** The exponent turning a custom price in the card's unit into a price per line unit. */
export function customPriceExponent(category: CostCategory, item: string): number {
  if (category === 'tokens' || category === 'cache_storage') return PER_MILLION;
  if (category === 'retrieval' && (item === 'read_units' || item === 'embedding_tokens')) return PER_MILLION;
  return 0;
}

function compileOverride(spec: OverrideSpec, index: number): CompiledOverride {
  const custom = spec.custom_price;
  return {
    path: `overrides[${index}]`,
    fromMs: spec.effective_from ?? Number.NEGATIVE_INFINITY,
    untilMs: spec.effective_until ?? Number.POSITIVE_INFINITY,
    discountFactor:
      spec.discount_percent === undefined
        ? undefined
        : (() => {
            const percent = parseDecimal(spec.discount_percent);
            const hundred = 100n * 10n ** BigInt(percent.scale);
            return { units: hundred - percent.units, scale: percent.scale + 2 };
          })(),
    categories: spec.applies_to?.category ? new Set(spec.applies_to.category) : undefined,
    providers: spec.applies_to?.provider,
    custom: custom && {
      category: custom.category,
      item: parseMatchKey(custom.item),
      provider: custom.provider,
      model: custom.model === undefined ? undefined : parseMatchKey(custom.model),
      perUnit: shiftDecimal(parseDecimal(custom.price), customPriceExponent(custom.category, custom.item)),
    },
  };
}

export function compileRateCard(spec: RateCardSpec, contentHash: string, source: string): CompiledRateCard {
  const overridesByOrg = new Map<string, CompiledOverride[]>();
  spec.overrides.forEach((override, index) => {
    const list = overridesByOrg.get(override.org_id) ?? [];
    list.push(compileOverride(override, index));
    overridesByOrg.set(override.org_id, list);
  });
  return {
    id: spec.id,
    currency: spec.currency,
    contentHash,
    versions: spec.versions.map(compileVersion),
    overridesByOrg,
    spec,
    source,
  };
}

/** The version in force at `eventTimeMs`: the last whose effective_from ≤ the event time. */
export function versionAt(card: CompiledRateCard, eventTimeMs: number): CompiledVersion | undefined {
  const { versions } = card;
  for (let i = versions.length - 1; i >= 0; i--) {
    const version = versions[i]!;
    if (version.effectiveFromMs <= eventTimeMs) return version;
  }
  return undefined;
}

const ONE: Decimal = { units: 1n, scale: 0 };

/** The multiplier of a service tier for a model (1 for the default tier); undefined when unpriced. */
export function tierMultiplier(
  version: CompiledVersion,
  model: CompiledModel,
  provider: string,
  tier: ServiceTier,
): Decimal | undefined {
  if (tier === 'default') return ONE;
  return model.multipliers[tier] ?? version.providerMultipliers.get(provider)?.[tier];
}
