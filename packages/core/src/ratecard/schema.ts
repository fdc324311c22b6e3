/**
 * The rate card format (documented for humans in ratecards/README.md). The YAML is parsed with the
 * failsafe schema, so every scalar reaches this schema as a string: a price can never pass through
 * a binary float, and `2.50` keeps both of its digits. Numbers and instants are parsed here from text.
 */
import { z } from 'zod';
import { COST_CATEGORIES, SERVICE_TIERS } from '../contract/types.ts';

const DECIMAL = /^\d+(\.\d+)?$/;
/** A non-negative decimal price or multiplier, kept as text (money.ts parses it exactly). */
export const decimalText = z
  .string({ error: 'must be a decimal string like "2.50"' })
  .regex(
    DECIMAL,
    'must be a non-negative decimal like "2.50" (no exponent, no sign, no thousands separator)',
  );

const wholeNumber = z
  .string({ error: 'must be a whole number' })
  .regex(/^[1-9]\d*$/, 'must be a positive whole number')
  .transform(Number)
  .refine(Number.isSafeInteger, 'is too large');

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;
/** `2025-06-10` (midnight UTC) or an ISO 8601 instant with an explicit offset; becomes epoch ms. */
export const instant = z
  .string({ error: 'must be a date (2025-06-10) or an instant (2025-06-10T00:00:00Z)' })
  .refine(
    (text) => DATE_ONLY.test(text) || DATE_TIME.test(text),
    'must be a date (2025-06-10) or an instant with an offset (2025-06-10T00:00:00Z)',
  )
  .transform((text, ctx) => {
    const ms = Date.parse(DATE_ONLY.test(text) ? `${text}T00:00:00Z` : text);
    if (Number.isNaN(ms)) {
      ctx.addIssue({ code: 'custom', message: 'is not a real calendar date' });
      return z.NEVER;
    }
    return ms;
  });

/**
 * A name pattern: `gpt-4o` (exact), `claude-sonnet-4*` (prefix), `/^o3(-\d{4}-\d{2}-\d{2})?$/`
 * (regular expression) or `*` (anything: the catch-all).
 */
export const matchText = z
  .string({ error: 'must be a name, a prefix ending in *, a /regex/ or *' })
  .min(1, 'must not be empty')
  .superRefine((text, ctx) => {
    if (text.length > 2 && text.startsWith('/') && text.endsWith('/')) {
      try {
        new RegExp(text.slice(1, -1));
      } catch (err) {
        ctx.addIssue({
          code: 'custom',
          message: `is not a valid regular expression: ${(err as Error).message}`,
        });
      }
    } else if (text.indexOf('*') !== -1 && text.indexOf('*') !== text.length - 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'may hold * only at its end (a prefix); use /regex/ otherwise',
      });
    }
  });

const name = z.string({ error: 'must be a name' }).min(1, 'must not be empty');

/** One value or a list of them; always a list after parsing. */
function oneOrMany<T extends z.ZodType>(item: T) {
  return z
    .union([item, z.array(item).min(1, 'must list at least one')], {
      error: 'must be a value or a list of values',
    })
    .transform((value) => (Array.isArray(value) ? value : [value]) as z.output<T>[]);
}

const note = z.string().optional();

export const TOKEN_CLASSES = ['input', 'cache_read', 'cache_write_5m', 'cache_write_1h', 'output'] as const;
export type TokenClass = (typeof TOKEN_CLASSES)[number];

/** Prices per 1M tokens. A class left out is unpriced for the model (never zero). */
const tokenPrices = {
  input: decimalText.optional(),
  cache_read: decimalText.optional(),
  cache_write_5m: decimalText.optional(),
  cache_write_1h: decimalText.optional(),
  output: decimalText.optional(),
};

const PRICED_TIERS = SERVICE_TIERS.filter((tier) => tier !== 'default');
/** Multipliers of the token prices for a request's service tier (the default tier is always 1). */
const tierMultipliers = {
  batch: decimalText.optional(),
  flex: decimalText.optional(),
  priority: decimalText.optional(),
};

const window = {
  /** The entry applies to events at or after this instant (inclusive). */
  effective_from: instant.optional(),
  /** The entry applies to events before this instant (exclusive). */
  effective_until: instant.optional(),
};

const longContextTier = z.object({ above_input_tokens: wholeNumber, ...tokenPrices }).strict();

export const modelSchema = z
  .object({
    provider: oneOrMany(name),
    match: oneOrMany(matchText),
    ...tokenPrices,
    long_context: z.array(longContextTier).optional(),
    service_tiers: z.object(tierMultipliers).strict().optional(),
    cache_storage_per_1m_token_hours: decimalText.optional(),
    ...window,
    note,
  })
  .strict();

export const toolSchema = z
  .object({ provider: oneOrMany(name).optional(), name: oneOrMany(matchText), per_call: decimalText, note })
  .strict();

export const sandboxSchema = z
  .object({
    provider: oneOrMany(name),
    per_vcpu_second: decimalText.optional(),
    per_gib_second: decimalText.optional(),
    note,
  })
  .strict();

export const retrievalSchema = z
  .object({
    provider: oneOrMany(name),
    per_query: decimalText.optional(),
    per_1m_read_units: decimalText.optional(),
    note,
  })
  .strict();

export const embeddingSchema = z
  .object({
    provider: oneOrMany(name).optional(),
    match: oneOrMany(matchText),
    per_1m_tokens: decimalText,
    note,
  })
  .strict();

export const egressSchema = z
  .object({
    provider: oneOrMany(name),
    destination: oneOrMany(matchText).optional(),
    per_gb: decimalText,
    note,
  })
  .strict();

export const serviceTierSchema = z.object({ provider: oneOrMany(name), ...tierMultipliers, note }).strict();

export const versionSchema = z
  .object({
    version: name,
    effective_from: instant,
    note,
    service_tiers: z.array(serviceTierSchema).default([]),
    models: z.array(modelSchema).default([]),
    tools: z.array(toolSchema).default([]),
    sandboxes: z.array(sandboxSchema).default([]),
    retrieval: z.array(retrievalSchema).default([]),
    embeddings: z.array(embeddingSchema).default([]),
    egress: z.array(egressSchema).default([]),
  })
  .strict();

/** Which lines a custom price replaces; a field left out matches every line. */
export const customPriceSchema = z
  .object({
    category: z.enum(COST_CATEGORIES),
    /** The line's item (input, output, vcpu_seconds, a tool name, …): a name, prefix, /regex/ or *. */
    item: matchText,
    provider: name.optional(),
    /** The event's model (tokens, cache storage) or embedding model (retrieval embedding tokens). */
    model: matchText.optional(),
    /** In the card's unit for the item: per 1M for tokens, read units, embedding tokens, token-hours. */
    price: decimalText,
  })
  .strict();

export const overrideSchema = z
  .object({
    org_id: name,
    ...window,
    note,
    discount_percent: decimalText.refine((text) => Number(text) <= 100, 'must be at most 100').optional(),
    /** Limits a discount to these categories and providers (default: every line of the org). */
    applies_to: z
      .object({
        category: oneOrMany(z.enum(COST_CATEGORIES)).optional(),
        provider: oneOrMany(name).optional(),
      })
      .strict()
      .optional(),
    custom_price: customPriceSchema.optional(),
  })
  .strict()
  .superRefine((value, ctx) => {
    const kinds = [value.discount_percent, value.custom_price].filter((kind) => kind !== undefined);
    if (kinds.length !== 1)
      ctx.addIssue({ code: 'custom', message: 'must set exactly one of discount_percent or custom_price' });
    if (value.applies_to && value.custom_price)
      ctx.addIssue({
        code: 'custom',
        path: ['applies_to'],
        message: 'belongs to a discount; a custom price selects its line itself',
      });
  });

export const rateCardSchema = z
  .object({
    id: z
      .string({ error: 'must be a card id' })
      .regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'must be lowercase letters, digits, ".", "_" or "-"'),
    currency: z
      .string({ error: 'must be an ISO 4217 code' })
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code like USD'),
    description: z.string().optional(),
    /** The day the prices were last checked against their sources. */
    checked: z.string().regex(DATE_ONLY, 'must be a date like 2026-11-28').optional(),
    sources: z.array(z.string()).optional(),
    versions: z.array(versionSchema).min(1, 'must hold at least one version'),
    overrides: z.array(overrideSchema).default([]),
  })
  .strict();

export type RateCardSpec = z.output<typeof rateCardSchema>;
export type VersionSpec = z.output<typeof versionSchema>;
export type ModelSpec = z.output<typeof modelSchema>;
export type OverrideSpec = z.output<typeof overrideSchema>;
export type PricedTier = (typeof PRICED_TIERS)[number];
export { PRICED_TIERS };
