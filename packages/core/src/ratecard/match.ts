/**
 * Name matching for rate card entries (models, tools, embedding models, egress destinations).
 *
 * The most specific match wins, in this order:
 *   1. an entry naming the event's provider beats one that names no provider (tools, embeddings);
 *   2. exact name (`gpt-4o`) beats prefix (`gpt-4o*`) beats /regex/ beats the catch-all `*`;
 *   3. among prefixes the longest wins (`gpt-4o-mini*` beats `gpt-4o*` for `gpt-4o-mini-2024-07-18`);
 *   4. among regexes, the one written first in the file wins.
 * Two entries that are equally specific for a name and in force at the same time are rejected when
 * the card is loaded, so the order above decides every lookup.
 */

export type MatchKind = 'exact' | 'prefix' | 'regex' | 'any';

export interface MatchKey {
  kind: MatchKind;
  text: string;
  test(name: string): boolean;
}

export function parseMatchKey(text: string): MatchKey {
  if (text === '*') return { kind: 'any', text, test: () => true };
  if (text.length > 2 && text.startsWith('/') && text.endsWith('/')) {
    const regex = new RegExp(text.slice(1, -1));
    return { kind: 'regex', text, test: (name) => regex.test(name) };
  }
  if (text.endsWith('*')) {
    const prefix = text.slice(0, -1);
    return { kind: 'prefix', text, test: (name) => name.startsWith(prefix) };
  }
  return { kind: 'exact', text, test: (name) => name === text };
}

const KIND_RANK: Record<MatchKind, number> = { exact: 3, prefix: 2, regex: 1, any: 0 };

/** Larger is more specific; entries compare by (providerSpecific, kind, prefix length, file order). */
export interface Specificity {
  providerSpecific: boolean;
  kind: MatchKind;
  /** Prefix length for prefixes, 0 otherwise. */
  length: number;
  /** Position in the file (earlier wins among equals). */
  order: number;
}

export function specificityOf(key: MatchKey, providerSpecific: boolean, order: number): Specificity {
  return { providerSpecific, kind: key.kind, length: key.kind === 'prefix' ? key.text.length - 1 : 0, order };
}

/** Negative when `a` is more specific than `b` (sorts most specific first). */
export function compareSpecificity(a: Specificity, b: Specificity): number {
  if (a.providerSpecific !== b.providerSpecific) return a.providerSpecific ? -1 : 1;
  if (a.kind !== b.kind) return KIND_RANK[b.kind] - KIND_RANK[a.kind];
  if (a.length !== b.length) return b.length - a.length;
  return a.order - b.order;
}

export interface Matchable<T> {
  /** Providers the entry applies to; undefined means any provider. */
  providers: readonly string[] | undefined;
  keys: readonly MatchKey[];
  order: number;
  value: T;
}

interface Candidate<T> {
  specificity: Specificity;
  value: T;
}

/**
 * Looks up entries by (provider, name), most specific first. Results are cached per pair: the card
 * is immutable once compiled, and a fleet uses a handful of distinct model and tool names.
 */
export interface Matcher<T> {
  /** Every entry matching, most specific first (callers pick the first in force at the event time). */
  candidates(provider: string | null, name: string): readonly T[];
}

const CACHE_LIMIT = 10_000;

export function createMatcher<T>(entries: readonly Matchable<T>[]): Matcher<T> {
  function compute(provider: string | null, name: string): readonly T[] {
    const found: Candidate<T>[] = [];
    for (const entry of entries) {
      if (entry.providers && (provider === null || !entry.providers.includes(provider))) continue;
      let best: Specificity | undefined;
      for (const key of entry.keys) {
        if (!key.test(name)) continue;
        const specificity = specificityOf(key, entry.providers !== undefined, entry.order);
        if (!best || compareSpecificity(specificity, best) < 0) best = specificity;
      }
      if (best) found.push({ specificity: best, value: entry.value });
    }
    found.sort((a, b) => compareSpecificity(a.specificity, b.specificity));
    return found.map((candidate) => candidate.value);
  }
  // Two-level cache (provider, then name): no key string is built per lookup.
  const cache = new Map<string | null, Map<string, readonly T[]>>();
  let cached = 0;
  return {
    candidates(provider, name) {
      let byName = cache.get(provider);
      if (byName === undefined) {
        byName = new Map();
        cache.set(provider, byName);
      }
      let hit = byName.get(name);
      if (hit === undefined) {
        hit = compute(provider, name);
        // Names come from events: bound the cache so a stream of distinct junk names cannot grow it
        // without limit (a miss only costs a scan of the card's entries).
        if (++cached > CACHE_LIMIT) {
          cache.clear();
          cached = 1;
          byName = new Map();
          cache.set(provider, byName);
        }
        byName.set(name, hit);
      }
      return hit;
    },
  };
}
