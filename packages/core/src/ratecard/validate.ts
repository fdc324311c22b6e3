/**
 * Rules a card must follow beyond its shape: what makes pricing ambiguous or silently wrong is
 * rejected at load, so `price()` never has to guess. Each problem names its path in the card.
 */
import { parseMatchKey } from './match.ts';
import { type RateCardSpec, TOKEN_CLASSES, type VersionSpec } from './schema.ts';

export interface SpecProblem {
  path: (string | number)[];
  reason: string;
}

interface Windowed {
  effective_from?: number | undefined;
  effective_until?: number | undefined;
}

function overlaps(a: Windowed, b: Windowed): boolean {
  const aFrom = a.effective_from ?? Number.NEGATIVE_INFINITY;
  const aUntil = a.effective_until ?? Number.POSITIVE_INFINITY;
  const bFrom = b.effective_from ?? Number.NEGATIVE_INFINITY;
  const bUntil = b.effective_until ?? Number.POSITIVE_INFINITY;
  return aFrom < bUntil && bFrom < aUntil;
}

function checkWindow(entry: Windowed, path: (string | number)[], problems: SpecProblem[]): void {
  if (
    entry.effective_from !== undefined &&
    entry.effective_until !== undefined &&
    entry.effective_from >= entry.effective_until
  )
    problems.push({ path: [...path, 'effective_until'], reason: 'must be after effective_from' });
}

/**
 * Two entries tie when a name could match both equally specifically at the same time: the same exact
 * name, the same prefix or both the catch-all, for a shared provider (or both provider-less), in
 * overlapping periods. Regexes cannot tie: the one written first wins (match.ts).
 */
function checkTies(
  entries: { provider?: string[] | undefined; keys: string[]; window: Windowed }[],
  path: (index: number) => (string | number)[],
  what: string,
  problems: SpecProblem[],
): void {
  const seen = new Map<string, { index: number; window: Windowed }[]>();
  entries.forEach((entry, index) => {
    const providers = entry.provider ?? ['(any provider)'];
    for (const provider of providers) {
      for (const text of entry.keys) {
        const key = parseMatchKey(text);
        if (key.kind === 'regex') continue;
        const id = `${provider}\u0000${key.kind}\u0000${key.text}`;
        const earlier = seen.get(id) ?? [];
        const clash = earlier.find((other) => other.index !== index && overlaps(other.window, entry.window));
        if (clash)
          problems.push({
            path: path(index),
            reason: `${what} "${key.text}" for provider ${provider} is already priced by entry ${clash.index} for an overlapping period`,
          });
        earlier.push({ index, window: entry.window });
        seen.set(id, earlier);
      }
    }
  });
}

function checkProviderUnique(
  entries: { provider: string[] }[],
  section: string,
  vpath: (string | number)[],
  problems: SpecProblem[],
): void {
  const seen = new Map<string, number>();
  entries.forEach((entry, index) => {
    for (const provider of entry.provider) {
      const earlier = seen.get(provider);
      if (earlier !== undefined)
        problems.push({
          path: [...vpath, section, index, 'provider'],
          reason: `provider ${provider} is already priced by ${section}[${earlier}]`,
        });
      else seen.set(provider, index);
    }
  });
}

function checkVersion(version: VersionSpec, index: number, problems: SpecProblem[]): void {
  const vpath = ['versions', index];
  version.models.forEach((model, m) => {
    const mpath = [...vpath, 'models', m];
    checkWindow(model, mpath, problems);
    const priced = TOKEN_CLASSES.filter((c) => model[c] !== undefined);
    if (priced.length === 0 && model.cache_storage_per_1m_token_hours === undefined)
      problems.push({ path: mpath, reason: 'prices nothing: give at least input or output' });
    let previous = 0;
    (model.long_context ?? []).forEach((tier, t) => {
      const tpath = [...mpath, 'long_context', t];
      if (tier.above_input_tokens <= previous)
        problems.push({
          path: [...tpath, 'above_input_tokens'],
          reason: 'tiers must be in ascending order of threshold',
        });
      previous = tier.above_input_tokens;
      // Cliff semantics bill every class at the tier's rate: a class priced below the threshold
      // but not above it would silently become unpriced for long requests.
      for (const tokenClass of TOKEN_CLASSES) {
        const base = model[tokenClass] !== undefined;
        const above = tier[tokenClass] !== undefined;
        if (base && !above)
          problems.push({
            path: [...tpath, tokenClass],
            reason: `is required: the model prices ${tokenClass} below the threshold`,
          });
        if (!base && above)
          problems.push({
            path: [...tpath, tokenClass],
            reason: `is not priced below the threshold; price it there too`,
          });
      }
    });
  });
  checkTies(
    version.models.map((m) => ({ provider: m.provider, keys: m.match, window: m })),
    (m) => [...vpath, 'models', m, 'match'],
    'model',
    problems,
  );
  checkTies(
    version.tools.map((t) => ({ provider: t.provider, keys: t.name, window: {} })),
    (t) => [...vpath, 'tools', t, 'name'],
    'tool',
    problems,
  );
  checkTies(
    version.embeddings.map((e) => ({ provider: e.provider, keys: e.match, window: {} })),
    (e) => [...vpath, 'embeddings', e, 'match'],
    'embedding model',
    problems,
  );
  checkTies(
    version.egress.map((e) => ({ provider: e.provider, keys: e.destination ?? ['*'], window: {} })),
    (e) => [...vpath, 'egress', e, 'destination'],
    'egress destination',
    problems,
  );
  checkProviderUnique(version.service_tiers, 'service_tiers', vpath, problems);
  checkProviderUnique(version.sandboxes, 'sandboxes', vpath, problems);
  checkProviderUnique(version.retrieval, 'retrieval', vpath, problems);
  version.sandboxes.forEach((s, i) => {
    if (s.per_vcpu_second === undefined && s.per_gib_second === undefined)
      problems.push({
        path: [...vpath, 'sandboxes', i],
        reason: 'prices nothing: give per_vcpu_second or per_gib_second',
      });
  });
  version.retrieval.forEach((r, i) => {
    if (r.per_query === undefined && r.per_1m_read_units === undefined)
      problems.push({
        path: [...vpath, 'retrieval', i],
        reason: 'prices nothing: give per_query or per_1m_read_units',
      });
  });
}

export function checkRateCard(card: RateCardSpec): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const labels = new Map<string, number>();
  card.versions.forEach((version, index) => {
    const earlier = labels.get(version.version);
    if (earlier !== undefined)
      problems.push({ path: ['versions', index, 'version'], reason: `repeats versions[${earlier}].version` });
    labels.set(version.version, index);
    const previous = card.versions[index - 1];
    if (previous && version.effective_from <= previous.effective_from)
      problems.push({
        path: ['versions', index, 'effective_from'],
        reason: 'must be later than the previous version’s effective_from (versions are listed oldest first)',
      });
    checkVersion(version, index, problems);
  });
  card.overrides.forEach((override, index) => {
    checkWindow(override, ['overrides', index], problems);
  });
  return problems;
}
