/**
 * Loads the kept versions of one schema family from schemas/avro/<family>/v<N>.avsc and builds the
 * avsc types. Layout invariants (checked here, so a bad checkout fails at startup, not on a message):
 * versions are numbered 1..N without gaps, every version declares the same full name, and no two
 * versions share a fingerprint (a version that only edits docs is not a new version).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { assetPath } from '../assets.ts';
import { TollgateError } from '../errors.ts';
import { fingerprintHex, parsingCanonicalForm, schemaFingerprint } from './fingerprint.ts';

/** The schema families Tollgate keeps, by folder name under schemas/avro. */
export const SCHEMA_FAMILIES = ['usage-event', 'priced-event', 'cost-alert', 'dead-letter'] as const;
export type SchemaFamily = (typeof SCHEMA_FAMILIES)[number];

export interface SchemaVersion {
  family: SchemaFamily;
  version: number;
  /** Full name of the top-level record, e.g. tollgate.UsageEvent. */
  name: string;
  /** `tollgate.UsageEvent@2`: how decode results and messages name a writer. */
  label: string;
  file: string;
  /** The schema as parsed JSON, docs and defaults included. */
  schema: Record<string, unknown>;
  canonicalForm: string;
  /** CRC-64-AVRO of the Parsing Canonical Form. */
  fingerprint: bigint;
  type: avro.Type;
}

/** schemas/avro of the repository this module lives in. */
export function defaultSchemaDir(): string {
  return assetPath('schemas', 'avro');
}

function schemaError(message: string, details: Record<string, unknown>, cause?: unknown): TollgateError {
  return new TollgateError(message, { code: 'TG_SCHEMA', retriable: false, details, cause });
}

/**
 * avsc types that decode to exactly the contract's objects: timestamp-millis stays a number (no logical
 * type is registered, so avsc reads the underlying long), ["null", T] unions read as the value or null,
 * and records are plain objects (Object.prototype), so a decoded event deep-equals the one encoded.
 */
export function avroType(schema: unknown): avro.Type {
  const type = avro.Type.forSchema(schema as avro.Schema, {
    wrapUnions: 'never',
    omitRecordMethods: true,
    registry: {},
  });
  usePlainRecords(type, new Set());
  return type;
}

// avsc builds records with a generated constructor; pointing its prototype at Object.prototype makes
// every record it reads a plain object. Safe because omitRecordMethods leaves that prototype empty.
function usePlainRecords(type: avro.Type, seen: Set<avro.Type>): void {
  if (seen.has(type)) return;
  seen.add(type);
  if (type instanceof avro.types.RecordType) {
    type.recordConstructor.prototype = Object.prototype;
    for (const field of type.fields) usePlainRecords(field.type, seen);
  } else if (type instanceof avro.types.ArrayType) {
    usePlainRecords(type.itemsType, seen);
  } else if (type instanceof avro.types.MapType) {
    usePlainRecords(type.valuesType as avro.Type, seen);
  } else if (type instanceof avro.types.UnwrappedUnionType || type instanceof avro.types.WrappedUnionType) {
    for (const branch of type.types) usePlainRecords(branch, seen);
  }
}

const VERSION_FILE = /^v([1-9][0-9]*)\.avsc$/;

/** Every kept version of `family`, oldest first. Reads files synchronously: call from factories only. */
export function loadSchemaFamily(family: SchemaFamily, schemaDir = defaultSchemaDir()): SchemaVersion[] {
  const dir = join(schemaDir, family);
  if (!existsSync(dir)) throw schemaError(`avro schema folder missing: ${dir}`, { family, dir });
  const files = readdirSync(dir)
    .map((file) => ({ file, match: VERSION_FILE.exec(file) }))
    .filter((entry) => entry.match !== null)
    .map((entry) => ({ file: join(dir, entry.file), version: Number(entry.match![1]) }))
    .sort((a, b) => a.version - b.version);
  if (files.length === 0) throw schemaError(`no v<N>.avsc schema in ${dir}`, { family, dir });
  const versions: SchemaVersion[] = [];
  for (const [index, { file, version }] of files.entries()) {
    if (version !== index + 1)
      throw schemaError(`schema versions of ${family} must be numbered 1..N: v${index + 1}.avsc is missing`, {
        family,
        file,
      });
    let schema: Record<string, unknown>;
    let type: avro.Type;
    try {
      schema = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      type = avroType(schema);
    } catch (err) {
      throw schemaError(`invalid avro schema ${file}: ${(err as Error).message}`, { family, file }, err);
    }
    const name = type.name;
    if (name === undefined || (versions[0] !== undefined && versions[0].name !== name))
      throw schemaError(
        `${file} declares ${name ?? 'an unnamed type'}, expected ${versions[0]?.name ?? 'a record'}`,
        {
          family,
          file,
        },
      );
    const canonicalForm = parsingCanonicalForm(schema);
    const fingerprint = schemaFingerprint(schema);
    const twin = versions.find((v) => v.fingerprint === fingerprint);
    if (twin !== undefined)
      throw schemaError(
        `${file} has the same canonical form as v${twin.version} (${fingerprintHex(fingerprint)}): a new version must change the schema`,
        { family, file },
      );
    versions.push({
      family,
      version,
      name,
      label: `${name}@${version}`,
      file,
      schema,
      canonicalForm,
      fingerprint,
      type,
    });
  }
  return versions;
}
