/**
 * The schema contract, proven for every family and every kept version:
 *  - released versions are never edited (their fingerprints are pinned in schemas/avro/released.json);
 *  - each version follows the evolution rules against every older one (checkEvolution);
 *  - data written by every kept version is read by every kept version, older and newer, with no value
 *    lost: shared fields keep their values, fields the writer lacks take the reader's default, enum
 *    symbols the reader lacks take the reader's enum default;
 *  - every field and type is documented, nullable fields are ["null", T] with default null, every enum
 *    has a default.
 * Adding a version needs no change here: the loops pick it up.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import avro from 'avsc';
import { exampleUsageEvents } from '../contract/examples.ts';
import { createAvroCodec, singleObjectHeader } from './codec.ts';
import { checkEvolution } from './evolution.ts';
import { fingerprintHex } from './fingerprint.ts';
import { defaultSchemaDir, loadSchemaFamily, SCHEMA_FAMILIES, type SchemaVersion } from './schemas.ts';

const RANDOM_VALUES_PER_PAIR = 200;

/**
 * Asserts `read` (decoded by `reader`) carries everything `written` (encoded by `writer`) held. A reader
 * older than the writer (`forward`) may lack the writer's newer fields; a newer reader must have them all.
 */
function assertResolved(
  writer: avro.Type,
  reader: avro.Type,
  written: unknown,
  read: unknown,
  path: string,
  forward = false,
): void {
  if (reader instanceof avro.types.UnwrappedUnionType) {
    if (written === null) {
      assert.equal(read, null, path);
      return;
    }
    const readerBranch = reader.types.find((t) => t.typeName !== 'null')!;
    const writerBranch =
      writer instanceof avro.types.UnwrappedUnionType
        ? writer.types.find((t) => t.typeName !== 'null')!
        : writer;
    assertResolved(writerBranch, readerBranch, written, read, path, forward);
    return;
  }
  if (reader instanceof avro.types.RecordType) {
    const w = writer as avro.types.RecordType;
    const got = read as Record<string, unknown>;
    const sent = written as Record<string, unknown>;
    assert.deepEqual(
      Object.keys(got),
      reader.fields.map((f) => f.name),
      `${path}: fields of the reader`,
    );
    if (!forward)
      for (const field of w.fields)
        assert.ok(
          reader.fields.some((f) => f.name === field.name),
          `${path}.${field.name}: written but lost by the reader`,
        );
    for (const field of reader.fields) {
      const writerField = w.fields.find((f) => f.name === field.name);
      const fieldPath = `${path}.${field.name}`;
      if (writerField === undefined)
        assert.deepEqual(got[field.name], field.defaultValue(), `${fieldPath}: default`);
      else
        assertResolved(writerField.type, field.type, sent[field.name], got[field.name], fieldPath, forward);
    }
    return;
  }
  if (reader instanceof avro.types.EnumType) {
    const fallback = (reader as unknown as { default: string }).default;
    const expected = reader.symbols.includes(written as string) ? written : fallback;
    assert.equal(read, expected, path);
    return;
  }
  if (reader instanceof avro.types.ArrayType) {
    const items = written as unknown[];
    assert.equal((read as unknown[]).length, items.length, path);
    for (const [i, item] of items.entries()) {
      const itemsType = (writer as avro.types.ArrayType).itemsType;
      assertResolved(itemsType, reader.itemsType, item, (read as unknown[])[i], `${path}[${i}]`, forward);
    }
    return;
  }
  if (reader instanceof avro.types.MapType) {
    const entries = written as Record<string, unknown>;
    assert.deepEqual(Object.keys(read as object).sort(), Object.keys(entries).sort(), path);
    for (const key of Object.keys(entries))
      assertResolved(
        (writer as avro.types.MapType).valuesType,
        reader.valuesType,
        entries[key],
        (read as Record<string, unknown>)[key],
        `${path}.${key}`,
        forward,
      );
    return;
  }
  assert.deepEqual(read, written, path);
}

/** What an old producer puts on the wire: the single-object header of its version and its Avro body. */
function writtenBy(version: SchemaVersion, value: unknown): Buffer {
  return Buffer.concat([singleObjectHeader(version.fingerprint), version.type.toBuffer(value)]);
}

/** Walks a schema's JSON, calling `visit` with every named type and every record field. */
function walk(
  schema: unknown,
  visit: (node: Record<string, unknown>, path: string) => void,
  path = '',
): void {
  if (Array.isArray(schema)) {
    for (const branch of schema) walk(branch, visit, path);
    return;
  }
  if (schema === null || typeof schema !== 'object') return;
  const node = schema as Record<string, unknown>;
  if (typeof node.name === 'string' && typeof node.type === 'string') visit(node, `${path}${node.name}`);
  for (const field of (node.fields as Record<string, unknown>[] | undefined) ?? []) {
    const fieldPath = `${path}${String(node.name)}.${String(field.name)}`;
    visit({ ...field, isField: true }, fieldPath);
    walk(field.type, visit, `${fieldPath}/`);
  }
  if (typeof node.type === 'object') walk(node.type, visit, path);
  if (node.items !== undefined) walk(node.items, visit, path);
  if (node.values !== undefined) walk(node.values, visit, path);
}

describe('schema families', () => {
  const released = JSON.parse(readFileSync(join(defaultSchemaDir(), 'released.json'), 'utf8')) as Record<
    string,
    string
  >;

  for (const family of SCHEMA_FAMILIES) {
    const versions = loadSchemaFamily(family);
    const newest = versions.at(-1)!;

    describe(family, () => {
      for (const version of versions) {
        it(`${version.label} is released and unedited (fingerprint pinned in released.json)`, () => {
          assert.equal(
            fingerprintHex(version.fingerprint),
            released[version.label],
            `${version.file} does not match its released fingerprint: released versions are never edited; ` +
              'add a new version file instead (and its fingerprint to schemas/avro/released.json)',
          );
        });

        it(`${version.label} documents every type and field and follows the conventions`, () => {
          assert.equal(version.schema.namespace, 'tollgate');
          walk(version.schema, (node, path) => {
            assert.ok(typeof node.doc === 'string' && node.doc.length > 0, `${path}: missing doc`);
            const type = node.type;
            if (Array.isArray(type)) {
              assert.equal(type.length, 2, `${path}: unions are ["null", T]`);
              assert.equal(type[0], 'null', `${path}: unions are ["null", T]`);
              assert.equal(node.default, null, `${path}: nullable fields default to null`);
            }
            if (type === 'enum') assert.ok(typeof node.default === 'string', `${path}: enums need a default`);
          });
        });

        for (const older of versions.filter((v) => v.version < version.version)) {
          it(`${version.label} follows the evolution rules from ${older.label}`, () => {
            assert.deepEqual(checkEvolution(older.schema, version.schema), []);
          });
        }

        for (const reader of versions) {
          it(`${reader.label} reads random data written by ${version.label} without loss`, () => {
            const codec = createAvroCodec<unknown>(family, { version: reader.version });
            for (let i = 0; i < RANDOM_VALUES_PER_PAIR; i++) {
              const value = version.type.random();
              const result = codec.decode(writtenBy(version, value));
              if (!result.ok) assert.fail(`${result.code}: ${result.reason}`);
              assert.equal(result.writer, version.label);
              assertResolved(
                version.type,
                reader.type,
                value,
                result.value,
                family,
                reader.version < version.version,
              );
            }
          });
        }
      }

      it(`every kept version of ${family} decodes with the current codec`, () => {
        const codec = createAvroCodec<unknown>(family);
        assert.equal(codec.schema, newest.label);
      });
    });
  }

  it('PricedEvent embeds the current UsageEvent', () => {
    const usage = loadSchemaFamily('usage-event').at(-1)!;
    const priced = loadSchemaFamily('priced-event').at(-1)!;
    const embedded = (priced.type as avro.types.RecordType).fields.find((f) => f.name === 'usage')!.type;
    assert.equal(JSON.stringify(embedded.schema()), JSON.stringify(usage.type.schema()));
  });
});

describe('UsageEvent v1 → v2, the history that happened', () => {
  const [v1, v2] = loadSchemaFamily('usage-event') as [SchemaVersion, SchemaVersion];
  /** The examples as a v1 producer wrote them: no agent_depth, no ceiling_decision kind or body. */
  const v1Events = exampleUsageEvents()
    .filter((event) => event.kind !== 'ceiling_decision')
    .map(({ agent_depth: _depth, ceiling_decision: _decision, ...rest }) => rest);

  it('a v2 reader reads v1 events with agent_depth 0 and ceiling_decision null', () => {
    const codec = createAvroCodec('usage-event', { version: 2 });
    for (const event of v1Events) {
      const result = codec.decode(writtenBy(v1, event));
      assert.deepEqual(result, {
        ok: true,
        value: { ...event, agent_depth: 0, ceiling_decision: null },
        writer: 'tollgate.UsageEvent@1',
      });
    }
  });

  it('a v1 reader reads v2 events, a ceiling decision as kind `unknown` without its body', () => {
    const codec = createAvroCodec<Record<string, unknown>>('usage-event', { version: 1 });
    for (const event of exampleUsageEvents()) {
      const result = codec.decode(writtenBy(v2, event));
      if (!result.ok) assert.fail(result.reason);
      const { agent_depth: _depth, ceiling_decision: _decision, ...shared } = event;
      const expected = event.kind === 'ceiling_decision' ? { ...shared, kind: 'unknown' } : shared;
      assert.deepEqual(result.value, expected);
    }
  });
});
