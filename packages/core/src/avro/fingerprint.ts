/**
 * Avro Parsing Canonical Form and the CRC-64-AVRO (Rabin) fingerprint, as the Avro specification
 * defines them ("Parsing Canonical Form for Schemas", "Schema Fingerprints"). The single-object
 * encoding identifies its writer schema by this fingerprint, so both must be bit-exact with every other
 * Avro implementation: they are tested against the specification's own test vectors.
 *
 * Both run when a codec is built, never per message.
 */

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);
const NAMED = new Set(['record', 'error', 'enum', 'fixed']);

/** The fingerprint of the empty byte string; also the polynomial's seed (spec: EMPTY). */
export const CRC64_AVRO_EMPTY = 0xc15d213aa4d7a795n;

function fullName(name: string, namespace: string): string {
  return name.includes('.') || namespace === '' ? name : `${namespace}.${name}`;
}

function namespaceOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(0, dot);
}

function invalid(schema: unknown): never {
  throw new TypeError(`not an Avro schema: ${JSON.stringify(schema)}`);
}

/**
 * The Parsing Canonical Form of a schema given as parsed JSON: primitives in simple form, full names,
 * only the attributes that matter to parsing (name, type, fields, symbols, items, values, size) in that
 * order, no whitespace. A named type's second occurrence is written as its full name.
 */
export function parsingCanonicalForm(schema: unknown): string {
  return canonical(schema, '', new Set());
}

function canonical(schema: unknown, namespace: string, defined: Set<string>): string {
  if (typeof schema === 'string') {
    return JSON.stringify(PRIMITIVES.has(schema) ? schema : fullName(schema, namespace));
  }
  if (Array.isArray(schema)) {
    return `[${schema.map((branch) => canonical(branch, namespace, defined)).join(',')}]`;
  }
  if (schema === null || typeof schema !== 'object') invalid(schema);
  const s = schema as Record<string, unknown>;
  const type = s.type;
  if (typeof type !== 'string') return canonical(type, namespace, defined);
  if (PRIMITIVES.has(type)) return JSON.stringify(type);
  if (NAMED.has(type)) {
    if (typeof s.name !== 'string') invalid(schema);
    const ns = typeof s.namespace === 'string' ? s.namespace : namespace;
    const name = fullName(s.name, ns);
    if (defined.has(name)) return JSON.stringify(name);
    defined.add(name);
    const head = `{"name":${JSON.stringify(name)},"type":${JSON.stringify(type)}`;
    if (type === 'enum') {
      if (!Array.isArray(s.symbols)) invalid(schema);
      return `${head},"symbols":${JSON.stringify(s.symbols)}}`;
    }
    if (type === 'fixed') {
      if (typeof s.size !== 'number') invalid(schema);
      return `${head},"size":${String(s.size)}}`;
    }
    if (!Array.isArray(s.fields)) invalid(schema);
    // Field types resolve relative names against the record's own namespace.
    const inner = namespaceOf(name);
    const fields = (s.fields as Record<string, unknown>[]).map(
      (field) => `{"name":${JSON.stringify(field.name)},"type":${canonical(field.type, inner, defined)}}`,
    );
    return `${head},"fields":[${fields.join(',')}]}`;
  }
  if (type === 'array') return `{"type":"array","items":${canonical(s.items, namespace, defined)}}`;
  if (type === 'map') return `{"type":"map","values":${canonical(s.values, namespace, defined)}}`;
  // {"type": "some.NamedType"}: a reference in object form.
  return JSON.stringify(fullName(type, namespace));
}

/** CRC-64-AVRO of `bytes`, as an unsigned 64-bit bigint. */
export function crc64Avro(bytes: Uint8Array): bigint {
  const table = new BigUint64Array(256);
  for (let i = 0; i < 256; i++) {
    let fp = BigInt(i);
    for (let j = 0; j < 8; j++) fp = (fp >> 1n) ^ (CRC64_AVRO_EMPTY & -(fp & 1n));
    table[i] = fp;
  }
  let fp = CRC64_AVRO_EMPTY;
  for (const byte of bytes) fp = (fp >> 8n) ^ table[Number((fp ^ BigInt(byte)) & 0xffn)]!;
  return fp;
}

/** The fingerprint of a schema (parsed JSON): CRC-64-AVRO of the UTF-8 of its Parsing Canonical Form. */
export function schemaFingerprint(schema: unknown): bigint {
  return crc64Avro(Buffer.from(parsingCanonicalForm(schema), 'utf8'));
}

/** `0x` and 16 hex digits: how fingerprints appear in messages and logs. */
export function fingerprintHex(fingerprint: bigint): string {
  return `0x${fingerprint.toString(16).padStart(16, '0')}`;
}
