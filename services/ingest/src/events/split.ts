/**
 * A request body → the raw bytes of each event, without parsing them. Rejected events are dead-lettered
 * with the exact bytes the producer sent (not a re-serialization, which would lose number formatting and
 * precision), so the body is cut into element slices first and each slice is parsed on its own.
 *
 * - JSON: a top-level array. The splitter only tracks strings and nesting depth; a slice that is not
 *   valid JSON is caught when it is parsed, so any syntax error anywhere fails the whole body.
 * - NDJSON: one value per line; blank lines are skipped. A line that does not parse is one rejected
 *   event, the others stand (each line is independent in NDJSON).
 *
 * Slices are views into the body (no copy).
 */

export interface Element {
  bytes: Buffer;
  /** 1-based line of an NDJSON element, for error messages. */
  line?: number;
}

/** `not_array`: valid or not, the body is not a JSON array; `syntax`: the array itself is broken. */
export type SplitResult =
  | { ok: true; elements: Element[] }
  | { ok: false; problem: 'not_array' | 'syntax'; reason: string };

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

const isSpace = (b: number | undefined): boolean => b === SPACE || b === TAB || b === LF || b === CR;

/** Skips a UTF-8 byte-order mark, which some Windows tools put before JSON. */
function start(body: Buffer): number {
  return body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0;
}

function trimmed(body: Buffer, from: number, to: number): Buffer {
  let a = from;
  let b = to;
  while (a < b && isSpace(body[a])) a++;
  while (b > a && isSpace(body[b - 1])) b--;
  return body.subarray(a, b);
}

export function splitJsonArray(body: Buffer): SplitResult {
  let i = start(body);
  while (isSpace(body[i])) i++;
  if (body[i] !== OPEN_BRACKET)
    return {
      ok: false,
      problem: 'not_array',
      reason:
        i >= body.length
          ? 'the body is empty; send a JSON array of events'
          : 'the body must be a JSON array of events (or NDJSON with Content-Type: application/x-ndjson)',
    };
  i++;
  const elements: Element[] = [];
  let depth = 0;
  let inString = false;
  let elementStart = i;
  let closed = false;
  for (; i < body.length; i++) {
    const b = body[i]!;
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
      continue;
    }
    if (b === QUOTE) inString = true;
    else if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
    else if (b === CLOSE_BRACE || (b === CLOSE_BRACKET && depth > 0)) depth--;
    else if (depth === 0 && (b === COMMA || b === CLOSE_BRACKET)) {
      const bytes = trimmed(body, elementStart, i);
      // `[]` is an empty array; an empty slice anywhere else (`[1,,2]`, `[1,]`) is a syntax error.
      if (bytes.length > 0 || b === COMMA || elements.length > 0) elements.push({ bytes });
      elementStart = i + 1;
      if (b === CLOSE_BRACKET) {
        closed = true;
        i++;
        break;
      }
    }
    if (depth < 0) return { ok: false, problem: 'syntax', reason: `unbalanced brackets at byte ${i}` };
  }
  if (!closed)
    return { ok: false, problem: 'syntax', reason: 'the JSON array is not closed (truncated body?)' };
  while (isSpace(body[i])) i++;
  if (i < body.length)
    return { ok: false, problem: 'syntax', reason: `unexpected data after the JSON array at byte ${i}` };
  return { ok: true, elements };
}

export function splitNdjson(body: Buffer): SplitResult {
  const elements: Element[] = [];
  let lineStart = start(body);
  let line = 1;
  while (lineStart <= body.length) {
    let end = body.indexOf(LF, lineStart);
    if (end === -1) end = body.length;
    const bytes = trimmed(body, lineStart, end);
    if (bytes.length > 0) elements.push({ bytes, line });
    lineStart = end + 1;
    line++;
  }
  return { ok: true, elements };
}
