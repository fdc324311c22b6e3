import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { singleObjectHeader } from './codec.ts';
import {
  CRC64_AVRO_EMPTY,
  crc64Avro,
  fingerprintHex,
  parsingCanonicalForm,
  schemaFingerprint,
} from './fingerprint.ts';

// From the Avro specification's test data (share/test/data/schema-tests.txt): input schema, its Parsing
// Canonical Form, and the CRC-64-AVRO fingerprint as a signed 64-bit integer (Java's long).
const VECTORS: [input: string, canonical: string, fingerprint: bigint | null][] = [
  ['"null"', '"null"', 7195948357588979594n],
  ['{"type":"null"}', '"null"', null],
  ['"boolean"', '"boolean"', -6970731678124411036n],
  ['"int"', '"int"', 8247732601305521295n],
  ['{"type":"int"}', '"int"', null],
  ['"long"', '"long"', -3434872931120570953n],
  ['"float"', '"float"', 5583340709985441680n],
  ['"double"', '"double"', -8181574048448539266n],
  ['"bytes"', '"bytes"', 5746618253357095269n],
  ['"string"', '"string"', -8142146995180207161n],
  ['[  ]', '[]', -1241056759729112623n],
  ['[ "int"  ]', '["int"]', -5232228896498058493n],
  ['[ "int" , {"type":"boolean"} ]', '["int","boolean"]', 5392556393470105090n],
  [
    '{"fields":[], "type":"record", "name":"foo"}',
    '{"name":"foo","type":"record","fields":[]}',
    -4824392279771201922n,
  ],
  [
    '{"fields":[], "type":"record", "name":"foo", "namespace":"x.y"}',
    '{"name":"x.y.foo","type":"record","fields":[]}',
    5916914534497305771n,
  ],
  [
    '{"fields":[], "type":"record", "name":"a.b.foo", "namespace":"x.y"}',
    '{"name":"a.b.foo","type":"record","fields":[]}',
    -4616218487480524110n,
  ],
  [
    '{"fields":[], "type":"record", "name":"foo", "doc":"foo", "aliases":["foo","bar"]}',
    '{"name":"foo","type":"record","fields":[]}',
    -4824392279771201922n,
  ],
  [
    '{"fields":[{"type":{"type":"boolean"}, "name":"f1"}], "type":"record", "name":"foo"}',
    '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"}]}',
    7843277075252814651n,
  ],
  [
    '{ "fields":[{"type":"boolean", "aliases":[], "name":"f1", "default":"true"}, {"order":"descending","name":"f2","doc":"Hello","type":"int"}], "type":"record", "name":"foo" }',
    '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"},{"name":"f2","type":"int"}]}',
    -4860222112080293046n,
  ],
  [
    '{"type":"enum", "name":"foo", "symbols":["A1"]}',
    '{"name":"foo","type":"enum","symbols":["A1"]}',
    -6342190197741309591n,
  ],
  [
    '{"namespace":"x.y.z", "type":"enum", "name":"foo", "doc":"foo bar", "symbols":["A1", "A2"]}',
    '{"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]}',
    -4448647247586288245n,
  ],
  [
    '{"name":"foo","type":"fixed","size":15}',
    '{"name":"foo","type":"fixed","size":15}',
    1756455273707447556n,
  ],
  [
    '{"namespace":"x.y.z", "type":"fixed", "name":"foo", "doc":"foo bar", "size":32}',
    '{"name":"x.y.z.foo","type":"fixed","size":32}',
    -3064184465700546786n,
  ],
  ['{ "items":{"type":"null"}, "type":"array"}', '{"type":"array","items":"null"}', -589620603366471059n],
  ['{ "values":"string", "type":"map"}', '{"type":"map","values":"string"}', -8732877298790414990n],
  [
    '{"name":"PigValue","type":"record", "fields":[{"name":"value", "type":["null", "int", "long", "PigValue"]}]}',
    '{"name":"PigValue","type":"record","fields":[{"name":"value","type":["null","int","long","PigValue"]}]}',
    -1759257747318642341n,
  ],
];

describe('Parsing Canonical Form', () => {
  for (const [input, canonical] of VECTORS) {
    it(`canonicalises ${input}`, () => {
      assert.equal(parsingCanonicalForm(JSON.parse(input)), canonical);
    });
  }

  it('drops logical types, defaults and docs, and qualifies nested names with the enclosing namespace', () => {
    const schema = {
      type: 'record',
      name: 'E',
      namespace: 'tollgate',
      doc: 'x',
      fields: [
        { name: 't', type: { type: 'long', logicalType: 'timestamp-millis' }, doc: 'd' },
        { name: 'k', type: { type: 'enum', name: 'K', symbols: ['a', 'b'], default: 'a' }, default: 'b' },
        { name: 'k2', type: 'K' },
      ],
    };
    assert.equal(
      parsingCanonicalForm(schema),
      '{"name":"tollgate.E","type":"record","fields":[{"name":"t","type":"long"},' +
        '{"name":"k","type":{"name":"tollgate.K","type":"enum","symbols":["a","b"]}},{"name":"k2","type":"tollgate.K"}]}',
    );
  });
});

describe('CRC-64-AVRO', () => {
  it('fingerprints the empty string as the EMPTY constant', () => {
    assert.equal(crc64Avro(new Uint8Array(0)), CRC64_AVRO_EMPTY);
  });

  for (const [input, , fingerprint] of VECTORS) {
    if (fingerprint === null) continue;
    it(`fingerprints ${input} as ${fingerprint}`, () => {
      assert.equal(BigInt.asIntN(64, schemaFingerprint(JSON.parse(input))), fingerprint);
    });
  }

  it('prints fingerprints as 0x and 16 hex digits', () => {
    assert.equal(fingerprintHex(schemaFingerprint('int')), '0x7275d51a3f395c8f');
    assert.equal(fingerprintHex(1n), '0x0000000000000001');
  });

  it('writes the single-object header as C3 01 and the little-endian fingerprint', () => {
    // The Avro Ruby implementation's test of the header for the schema "int".
    assert.equal(singleObjectHeader(schemaFingerprint('int')).toString('hex'), 'c3018f5c393f1ad57572');
  });
});
