/**
 * The one audited place where values become SQL text. ClickHouse 18.16 has no server-side query
 * parameters, so every value in every query passes through `literal`; identifiers come only from
 * allow-lists and pass through `identifier`. Call sites never concatenate user input.
 */
import { TollgateError } from './errors.ts';

export type SqlValue = string | number | bigint | boolean | Date | null | readonly SqlValue[];

/** A fragment of SQL that is already safe (built by this module or a literal in our own code). */
export interface Sql {
  readonly text: string;
}

const sqlBrand = (text: string): Sql => ({ text });

/**
 * Escapes a string for a single-quoted ClickHouse literal. ClickHouse's string literal grammar treats
 * backslash as an escape and a quote as the terminator; escaping both (and NUL, newlines for log
 * readability) makes any input a plain string.
 */
export function quoteString(value: string): string {
  let out = "'";
  for (const ch of value) {
    switch (ch) {
      case '\\':
        out += '\\\\';
        break;
      case "'":
        out += "\\'";
        break;
      case '\0':
        out += '\\0';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\t':
        out += '\\t';
        break;
      default:
        out += ch;
    }
  }
  return out + "'";
}

/** `YYYY-MM-DD hh:mm:ss` in UTC, the DateTime text both 18.16 and current releases parse. */
export function formatDateTime(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new TollgateError('sql: invalid date', { code: 'TG_SQL_VALUE' });
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

/** Renders one value as a ClickHouse literal. */
export function literal(value: SqlValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'string') return quoteString(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw new TollgateError(`sql: non-finite number ${value}`, { code: 'TG_SQL_VALUE' });
    return String(value);
  }
  if (value instanceof Date) return `toDateTime(${quoteString(formatDateTime(value))}, 'UTC')`;
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  throw new TollgateError('sql: unsupported value type', { code: 'TG_SQL_VALUE' });
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Quotes an identifier that came from an allow-list; anything else is a programming error. */
export function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) {
    throw new TollgateError(`sql: ${JSON.stringify(name)} is not a plain identifier`, {
      code: 'TG_SQL_IDENTIFIER',
    });
  }
  return `\`${name}\``;
}

/**
 * Tagged template: `sql\`SELECT … WHERE org_id = ${org}\`` renders every interpolated value with
 * `literal`, except values that are already `Sql` fragments, which are spliced as they are.
 */
export function sql(strings: TemplateStringsArray, ...values: (SqlValue | Sql)[]): Sql {
  let text = strings[0] ?? '';
  values.forEach((value, i) => {
    text += isSql(value) ? value.text : literal(value);
    text += strings[i + 1] ?? '';
  });
  return sqlBrand(text);
}

/** A trusted fragment from our own code (an allow-listed column expression, a keyword). */
export function raw(text: string): Sql {
  return sqlBrand(text);
}

export function join(parts: Sql[], separator: string): Sql {
  return sqlBrand(parts.map((part) => part.text).join(separator));
}

function isSql(value: unknown): value is Sql {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    'text' in value
  );
}
