/**
 * The schema evolution rules of schemas/avro/README.md, checked between two versions of a family
 * (a released one and its successor). Stricter than Avro's resolution rules on purpose: Avro lets a
 * reader drop a field or promote int to long; Tollgate forbids both, so every version reads every
 * other version without losing data.
 *
 *   allowed:   add a field with a default; add an enum symbol when the enum has a default; edit docs
 *   forbidden: remove or rename a field, change a type, remove an enum symbol, add a field without
 *              a default, add a symbol to an enum without a default
 */

export interface EvolutionViolation {
  /** Dotted path from the top-level record, e.g. UsageEvent.model_call.input_tokens. */
  path: string;
  rule: string;
}

type Json = Record<string, unknown>;
const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

/** Named types of a schema by full name, for following references. */
function namedTypes(schema: unknown, namespace = '', into = new Map<string, Json>()): Map<string, Json> {
  if (Array.isArray(schema)) {
    for (const branch of schema) namedTypes(branch, namespace, into);
  } else if (schema !== null && typeof schema === 'object') {
    const s = schema as Json;
    if (typeof s.type === 'object') return namedTypes(s.type, namespace, into);
    if (typeof s.name === 'string') {
      const ns = typeof s.namespace === 'string' ? s.namespace : namespace;
      const full = s.name.includes('.') || ns === '' ? s.name : `${ns}.${s.name}`;
      into.set(full, { ...s, name: full });
      const inner = full.includes('.') ? full.slice(0, full.lastIndexOf('.')) : '';
      for (const field of (s.fields as Json[] | undefined) ?? []) namedTypes(field.type, inner, into);
    }
    if (s.items !== undefined) namedTypes(s.items, namespace, into);
    if (s.values !== undefined) namedTypes(s.values, namespace, into);
  }
  return into;
}

interface Side {
  named: Map<string, Json>;
}

function lookup(name: string, side: Side): Json {
  const named =
    side.named.get(name) ?? [...side.named.values()].find((t) => (t.name as string).endsWith(`.${name}`));
  if (named === undefined) throw new TypeError(`unresolved type reference ${name}`);
  return named;
}

/** A schema node in a comparable form: references followed, primitives as { type }. */
function resolve(node: unknown, side: Side): Json | unknown[] {
  if (typeof node === 'string') return PRIMITIVES.has(node) ? { type: node } : lookup(node, side);
  if (Array.isArray(node)) return node;
  const s = node as Json;
  // Named definitions are taken from the index, where their names are full names.
  if (typeof s.name === 'string' && typeof s.type === 'string') return lookup(s.name, side);
  if (typeof s.type === 'object' && s.type !== null) return resolve(s.type, side);
  if (
    typeof s.type === 'string' &&
    !PRIMITIVES.has(s.type) &&
    !['record', 'error', 'enum', 'fixed', 'array', 'map'].includes(s.type)
  )
    return resolve(s.type, side);
  return s;
}

function describe(node: Json | unknown[]): string {
  if (Array.isArray(node)) return 'union';
  const logical = typeof node.logicalType === 'string' ? `(${node.logicalType})` : '';
  return `${String(node.type)}${logical}`;
}

/** Violations of the evolution rules going from `previous` to `next`; empty when the change is allowed. */
export function checkEvolution(previous: unknown, next: unknown): EvolutionViolation[] {
  const violations: EvolutionViolation[] = [];
  const before: Side = { named: namedTypes(previous) };
  const after: Side = { named: namedTypes(next) };
  const visited = new Set<string>();

  function compare(oldNode: unknown, newNode: unknown, path: string): void {
    const o = resolve(oldNode, before);
    const n = resolve(newNode, after);
    if (Array.isArray(o) || Array.isArray(n)) {
      if (!Array.isArray(o) || !Array.isArray(n) || o.length !== n.length) {
        violations.push({ path, rule: `type changed from ${describe(o)} to ${describe(n)}` });
        return;
      }
      for (const [i, branch] of o.entries()) compare(branch, n[i], path);
      return;
    }
    if (o.type !== n.type || o.logicalType !== n.logicalType) {
      violations.push({ path, rule: `type changed from ${describe(o)} to ${describe(n)}` });
      return;
    }
    if (typeof o.name === 'string' && o.name !== n.name) {
      violations.push({ path, rule: `named type renamed from ${o.name} to ${String(n.name)}` });
      return;
    }
    if (typeof o.name === 'string') {
      // A named type is compared once; recursive schemas would otherwise loop.
      if (visited.has(o.name)) return;
      visited.add(o.name);
    }
    switch (o.type) {
      case 'record':
      case 'error': {
        const oldFields = o.fields as Json[];
        const newFields = n.fields as Json[];
        for (const field of oldFields) {
          const match = newFields.find((f) => f.name === field.name);
          if (match === undefined) {
            violations.push({
              path: `${path}.${String(field.name)}`,
              rule: 'field removed or renamed (forbidden: add a new field with a default instead)',
            });
          } else {
            compare(field.type, match.type, `${path}.${String(field.name)}`);
          }
        }
        for (const field of newFields) {
          if (!oldFields.some((f) => f.name === field.name) && !('default' in field))
            violations.push({
              path: `${path}.${String(field.name)}`,
              rule: 'field added without a default (readers of older data could not fill it)',
            });
        }
        return;
      }
      case 'enum': {
        const oldSymbols = o.symbols as string[];
        const newSymbols = n.symbols as string[];
        for (const symbol of oldSymbols)
          if (!newSymbols.includes(symbol)) violations.push({ path, rule: `enum symbol ${symbol} removed` });
        const added = newSymbols.filter((s) => !oldSymbols.includes(s));
        if (added.length > 0 && (o.default === undefined || n.default === undefined))
          violations.push({
            path,
            rule: `enum symbols ${added.join(', ')} added to an enum without a default (older readers could not resolve them)`,
          });
        return;
      }
      case 'fixed':
        if (o.size !== n.size)
          violations.push({ path, rule: `fixed size changed from ${o.size} to ${n.size}` });
        return;
      case 'array':
        compare(o.items, n.items, `${path}[]`);
        return;
      case 'map':
        compare(o.values, n.values, `${path}{}`);
        return;
    }
  }

  const root = resolve(previous, before) as Json;
  compare(
    previous,
    next,
    String(root.name ?? 'root')
      .split('.')
      .pop()!,
  );
  return violations;
}
