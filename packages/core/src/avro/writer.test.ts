import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import avro from 'avsc';
import { exampleModelCall } from '../contract/examples.ts';
import { avroType, loadSchemaFamily, SCHEMA_FAMILIES } from './schemas.ts';
import { compileWriter, type Writer } from './writer.ts';

function writeWith(writer: Writer, value: unknown, size = 1 << 16): Buffer {
  const state = { buf: Buffer.alloc(size), pos: 0 };
  writer(state, value);
  assert.ok(state.pos <= size, 'test buffer too small');
  return state.buf.subarray(0, state.pos);
}

describe('compiled writer', () => {
  for (const family of SCHEMA_FAMILIES) {
    for (const version of loadSchemaFamily(family)) {
      it(`writes the same bytes as avsc for random ${version.label} values`, () => {
        const writer = compileWriter(version.type);
        assert.ok(writer, 'every Tollgate schema is within the compiled subset');
        for (let i = 0; i < 300; i++) {
          const value = version.type.random();
          assert.deepEqual(writeWith(writer, value), version.type.toBuffer(value));
        }
      });
    }
  }

  const scalars = avroType({
    type: 'record',
    name: 'Scalars',
    fields: [
      { name: 'l', type: 'long' },
      { name: 'i', type: 'int' },
      { name: 's', type: 'string' },
      { name: 'd', type: 'double' },
      { name: 'f', type: 'float' },
      { name: 'b', type: 'boolean' },
      { name: 'y', type: 'bytes' },
      { name: 'm', type: { type: 'map', values: 'long' } },
      { name: 'a', type: { type: 'array', items: 'string' } },
    ],
  });
  const writer = compileWriter(scalars)!;
  const base = { l: 0, i: 0, s: '', d: 0, f: 0, b: false, y: Buffer.alloc(0), m: {}, a: [] };

  it('matches avsc at the edges of the varint and string fast paths', () => {
    const longs = [
      0,
      -1,
      1,
      63,
      64,
      -64,
      -65,
      2 ** 30 - 1,
      2 ** 30,
      -(2 ** 30),
      -(2 ** 30) - 1,
      2 ** 31,
      -(2 ** 31),
    ];
    longs.push(2 ** 31 + 1, 2 ** 40 + 7, -(2 ** 40) - 7, 2 ** 52 + 3, -(2 ** 52) - 3);
    const ints = [0, -1, 2 ** 31 - 1, -(2 ** 31), 1_000_000];
    const strings = [
      '',
      'a',
      'x'.repeat(63),
      'x'.repeat(64),
      'x'.repeat(300),
      'café',
      '日本語',
      'emoji 🚀 ok',
      'é'.repeat(40),
    ];
    for (const l of longs)
      for (const s of strings) {
        const value = { ...base, l, s, i: ints[longs.indexOf(l) % ints.length], d: l / 3, f: 0.5, b: true };
        assert.deepEqual(writeWith(writer, value), scalars.toBuffer(value), `l=${l} s=${s}`);
      }
    const rich = { ...base, y: Buffer.from([1, 2, 3]), m: { clé: 5, b: -9 }, a: ['ü', 'v'] };
    assert.deepEqual(writeWith(writer, rich), scalars.toBuffer(rich));
  });

  it('round-trips non-ASCII strings through avsc', () => {
    const value = { ...base, s: 'naïve 日本 🚀', a: ['Ω'.repeat(70)] };
    assert.deepEqual(scalars.fromBuffer(writeWith(writer, value)), value);
  });

  it('throws on values that do not fit, instead of writing garbage', () => {
    const bad: Record<string, unknown>[] = [
      { l: 1.5 },
      { l: 2 ** 53 },
      { l: 2 ** 53 - 1 },
      { l: '5' },
      { i: 2 ** 31 },
      { s: 5 },
      { d: '1' },
      { b: 1 },
      { y: 'bytes' },
      { m: [] },
      { m: { k: 'v' } },
      { a: 'x' },
      { a: [1] },
    ];
    for (const patch of bad)
      assert.throws(() => writeWith(writer, { ...base, ...patch }), TypeError, JSON.stringify(patch));
    assert.throws(() => writeWith(writer, { ...base, s: undefined }), /missing/);
    assert.throws(() => writeWith(writer, null), TypeError);
  });

  it('writes a field left undefined as its default, like avsc', () => {
    const usage = loadSchemaFamily('usage-event').at(-1)!.type;
    const { agent_depth: _depth, ceiling_decision: _decision, tags: _tags, ...partial } = exampleModelCall();
    const bytes = writeWith(compileWriter(usage)!, partial);
    assert.deepEqual(bytes, usage.toBuffer(partial));
    assert.deepEqual(usage.fromBuffer(bytes), {
      ...exampleModelCall(),
      agent_depth: 0,
      ceiling_decision: null,
      tags: {},
    });
  });

  it('counts past the end of a short buffer without writing there, so the caller can grow it', () => {
    const value = { ...base, s: 'x'.repeat(40), a: ['y'.repeat(100)] };
    const state = { buf: Buffer.alloc(16), pos: 0 };
    writer(state, value);
    assert.equal(state.pos, scalars.toBuffer(value).length);
  });

  it('declines schemas outside its subset, so the codec falls back to avsc', () => {
    const wrapped = avro.Type.forSchema(['string', 'long'], { wrapUnions: 'never' });
    assert.equal(compileWriter(wrapped), undefined);
    assert.equal(compileWriter(avroType({ type: 'fixed', name: 'F', size: 4 })), undefined);
  });
});
