/**
 * Rate card text → validated, hashed, compiled card; or every problem with the file, the path in the
 * card (`versions[1].models[3].input`), the line and the reason. Never throws on bad input.
 */
import { createHash } from 'node:crypto';
import { LineCounter, parseDocument } from 'yaml';
import { TollgateError } from '../errors.ts';
import { fieldProblems } from '../zod-issues.ts';
import { type CompiledRateCard, compileRateCard } from './compile.ts';
import { type RateCardSpec, rateCardSchema } from './schema.ts';
import { checkRateCard } from './validate.ts';

export interface RateCardIssue {
  /** The file (or `topic[partition]@offset`) the card came from. */
  file: string;
  /** Path in the card, e.g. `versions[1].models[3].input`; '' for the whole document. */
  path: string;
  /** 1-based line of the offending value when it can be located. */
  line: number | undefined;
  reason: string;
}

export type ParseRateCardResult =
  | { ok: true; card: CompiledRateCard }
  | { ok: false; issues: RateCardIssue[] };

/** A card that failed to load; `issues` lists every problem (also in `details`). */
export class RateCardError extends TollgateError {
  readonly issues: RateCardIssue[];
  constructor(issues: RateCardIssue[]) {
    super(`invalid rate card: ${formatIssues(issues)}`, {
      code: 'TG_RATECARD_INVALID',
      retriable: false,
      details: { issues },
    });
    this.name = 'RateCardError';
    this.issues = issues;
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** "ratecards/acme.yaml:12: versions[0].models[3].input: must be a decimal string" */
export function formatIssue(i: RateCardIssue): string {
  return `${i.file}${i.line === undefined ? '' : `:${i.line}`}: ${i.path || '(card)'}: ${i.reason}`;
}

export function formatIssues(issues: readonly RateCardIssue[], limit = 10): string {
  const shown = issues.slice(0, limit).map(formatIssue);
  if (issues.length > limit) shown.push(`… and ${issues.length - limit} more`);
  return shown.join('; ');
}

/** JSON with object keys sorted and undefined dropped: the same card always serializes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * sha256 (hex) of the canonical serialization of the validated card. Comments, key order, quoting
 * and `x` versus `[x]` do not change it; any price, date or match does.
 */
export function rateCardHash(spec: RateCardSpec): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex');
}

export function parseRateCard(text: string, file: string): ParseRateCardResult {
  const lineCounter = new LineCounter();
  // failsafe: every scalar stays a string, so no price ever becomes a float on the way in.
  const doc = parseDocument(text, { schema: 'failsafe', uniqueKeys: true, lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((err) => ({
        file,
        path: '',
        line: lineCounter.linePos(err.pos[0]).line,
        reason: `YAML: ${err.message.split('\n')[0]}`,
      })),
    };
  }
  const lineOf = (path: readonly PropertyKey[]): number | undefined => {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = doc.getIn(path.slice(0, depth) as unknown[], true) as
        | { range?: [number, number, number] }
        | undefined;
      if (node?.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  const issue = (path: readonly PropertyKey[], reason: string): RateCardIssue => ({
    file,
    path: formatPath(path),
    line: lineOf(path),
    reason,
  });
  const raw = doc.toJS();
  const parsed = rateCardSchema.safeParse(raw);
  if (!parsed.success)
    return {
      ok: false,
      issues: fieldProblems(parsed.error, raw, 'is not a field of the rate card format').map((i) =>
        issue(i.path, i.reason),
      ),
    };
  const problems = checkRateCard(parsed.data);
  if (problems.length > 0) return { ok: false, issues: problems.map((p) => issue(p.path, p.reason)) };
  return { ok: true, card: compileRateCard(parsed.data, rateCardHash(parsed.data), file) };
}

/** parseRateCard for callers that treat a bad card as a failure (files given on a command line). */
export function parseRateCardOrThrow(text: string, file: string): CompiledRateCard {
  const result = parseRateCard(text, file);
  if (!result.ok) throw new RateCardError(result.issues);
  return result.card;
}
