/**
 * Rate cards: the YAML format (schema.ts, documented in ratecards/README.md), its validation
 * (parse.ts, validate.ts), name matching (match.ts), compilation into lookup tables (compile.ts) and
 * the pure pricing function (price.ts, with org overrides in overrides.ts and token plans in plan.ts).
 */
export {
  type CompiledRateCard,
  type CompiledVersion,
  compileRateCard,
  versionAt,
} from './compile.ts';
export { loadRateCardFile } from './load.ts';
export { compareSpecificity, createMatcher, type Matcher, type MatchKey, parseMatchKey } from './match.ts';
export {
  canonicalJson,
  formatIssue,
  formatIssues,
  formatPath,
  type ParseRateCardResult,
  parseRateCard,
  parseRateCardOrThrow,
  RateCardError,
  type RateCardIssue,
  rateCardHash,
} from './parse.ts';
export { type PriceOutcome, type PriceResult, price } from './price.ts';
export { type RateCardSpec, rateCardSchema, TOKEN_CLASSES, type TokenClass } from './schema.ts';
