import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import avro from 'avsc';
import {
  exampleCostAlert,
  exampleDeadLetter,
  exampleModelCall,
  examplePricedEvent,
  exampleUsageEvents,
} from '../contract/examples.ts';
import {
  ALERT_SCOPES,
  ALERT_SEVERITIES,
  RUN_OUTCOMES,
  SERVICE_TIERS,
  USAGE_KINDS,
} from '../contract/types.ts';
import { ValidationError } from '../errors.ts';
import {
  type Codec,
  createAlertCodec,
  createAvroCodec,
  createDeadLetterCodec,
  createPricedCodec,
  createUsageCodec,
  type DecodeResult,
  singleObjectHeader,
} from './codec.ts';
import { loadSchemaFamily, type SchemaFamily } from './schemas.ts';

function decoded<T>(result: DecodeResult<T>): T {
  if (!result.ok) assert.fail(`decode failed: ${result.code}: ${result.reason}`);
  return result.value;
}

function failure<T>(result: DecodeResult<T>): { code: string; reason: string } {
  if (result.ok) assert.fail('decode succeeded on bad bytes');
  return result;
}

/** Field names of every record reachable from `type`, as record name → names. */
function recordFields(type: avro.Type, into = new Map<string, string[]>()): Map<string, string[]> {
  if (type instanceof avro.types.RecordType) {
    if (into.has(type.name!)) return into;
    into.set(
      type.name!,
      type.fields.map((f) => f.name),
    );
    for (const field of type.fields) recordFields(field.type, into);
  } else if (type instanceof avro.types.ArrayType) recordFields(type.itemsType, into);
  else if (type instanceof avro.types.UnwrappedUnionType) for (const t of type.types) recordFields(t, into);
  return into;
}

/** Keys of every record-like object in `value`, by the record name the schema gives it. */
function objectKeys(
  type: avro.Type,
  value: unknown,
  into = new Map<string, string[]>(),
): Map<string, string[]> {
  if (value === null || value === undefined) return into;
  if (type instanceof avro.types.RecordType) {
    into.set(type.name!, Object.keys(value as object));
    for (const field of type.fields)
      objectKeys(field.type, (value as Record<string, unknown>)[field.name], into);
  } else if (type instanceof avro.types.ArrayType)
    for (const item of value as unknown[]) objectKeys(type.itemsType, item, into);
  else if (type instanceof avro.types.UnwrappedUnionType) {
    const branch = type.types.find((t) => t.typeName !== 'null')!;
    objectKeys(branch, value, into);
  }
  return into;
}

function newestType(family: SchemaFamily): avro.Type {
  return loadSchemaFamily(family).at(-1)!.type;
}

describe('usage codec', () => {
  const codec = createUsageCodec();

  for (const event of exampleUsageEvents()) {
    it(`round-trips a ${event.kind} event unchanged`, () => {
      const result = codec.decode(codec.encode(event));
      assert.deepEqual(result, { ok: true, value: event, writer: 'tollgate.UsageEvent@2' });
    });
  }

  it('round-trips events with every optional field null and no tags', () => {
    const event = {
      ...exampleModelCall(),
      agent_id: null,
      parent_agent_id: null,
      agent_name: null,
      agent_depth: 0,
      provider: null,
      model: null,
      feature: null,
      customer_id: null,
      environment: null,
      tags: {},
      provider_cost: null,
    };
    assert.deepEqual(decoded(codec.decode(codec.encode(event))), event);
  });

  it('frames messages as C3 01 + the current schema fingerprint + the Avro body', () => {
    const current = loadSchemaFamily('usage-event').at(-1)!;
    const event = exampleModelCall();
    const bytes = codec.encode(event);
    assert.deepEqual(bytes.subarray(0, 10), singleObjectHeader(current.fingerprint));
    assert.deepEqual(bytes.subarray(10), current.type.toBuffer(event));
    assert.equal(codec.schema, 'tollgate.UsageEvent@2');
  });

  it('decodes a Uint8Array view into a larger buffer', () => {
    const bytes = codec.encode(exampleModelCall());
    const big = new Uint8Array(bytes.length + 20);
    big.set(bytes, 7);
    assert.deepEqual(decoded(codec.decode(big.subarray(7, 7 + bytes.length))), exampleModelCall());
  });

  it('encodes values larger than its initial buffer, then small ones again', () => {
    const small = createUsageCodec({ initialBufferBytes: 64 });
    const event = { ...exampleModelCall(), tags: { note: 'x'.repeat(10_000) } };
    assert.deepEqual(decoded(small.decode(small.encode(event))), event);
    assert.deepEqual(decoded(small.decode(small.encode(exampleModelCall()))), exampleModelCall());
  });

  it('refuses to encode a value that does not fit the schema, naming the field', () => {
    const event = exampleModelCall();
    event.model_call!.input_tokens = 1.5;
    assert.throws(
      () => codec.encode(event),
      (err: unknown) =>
        err instanceof ValidationError && err.field === 'model_call.input_tokens' && /long/.test(err.rule),
    );
    assert.throws(
      () => codec.encode({ ...exampleModelCall(), kind: 'teleport' as never }),
      (err: unknown) => err instanceof ValidationError && err.field === 'kind',
    );
  });
});

describe('decode failures are typed results, never exceptions', () => {
  const codec = createUsageCodec();
  const good = codec.encode(exampleModelCall());

  it('rejects bytes without the single-object marker', () => {
    const plainAvro = good.subarray(10);
    const result = failure(codec.decode(plainAvro));
    assert.equal(result.code, 'not_single_object');
    assert.match(result.reason, /C3 01/);
    assert.equal(failure(codec.decode(Buffer.from('{"event_id":"e1"}'))).code, 'not_single_object');
  });

  it('rejects a buffer shorter than the header', () => {
    for (const bytes of [Buffer.alloc(0), good.subarray(0, 1), good.subarray(0, 9)]) {
      const result = failure(codec.decode(bytes));
      assert.equal(result.code, 'not_single_object', `${bytes.length} bytes`);
    }
    assert.match(failure(codec.decode(good.subarray(0, 9))).reason, /9 bytes: shorter than the 10-byte/);
  });

  it('rejects an unknown writer fingerprint, naming it', () => {
    const bytes = Buffer.from(good);
    bytes.writeBigUInt64LE(0x0123456789abcdefn, 2);
    const result = failure(codec.decode(bytes));
    assert.equal(result.code, 'unknown_fingerprint');
    assert.match(result.reason, /0x0123456789abcdef/);
    assert.match(result.reason, /tollgate\.UsageEvent@1=0x[0-9a-f]{16}/);
  });

  it('rejects a message of another family (an alert on the usage topic) as an unknown fingerprint', () => {
    const alert = createAlertCodec().encode(exampleCostAlert());
    assert.equal(failure(codec.decode(alert)).code, 'unknown_fingerprint');
  });

  it('rejects every truncation of a valid message', () => {
    for (let length = 10; length < good.length; length++) {
      const result = failure(codec.decode(good.subarray(0, length)));
      assert.equal(result.code, 'corrupt', `truncated to ${length} bytes`);
    }
    assert.match(
      failure(codec.decode(good.subarray(0, good.length - 1))).reason,
      /truncated|does not decode/,
    );
  });

  it('rejects trailing bytes after the record', () => {
    const result = failure(codec.decode(Buffer.concat([good, Buffer.from([0, 0, 0])])));
    assert.equal(result.code, 'corrupt');
    assert.match(result.reason, /3 trailing bytes/);
  });

  it('rejects garbage bodies behind a valid header without throwing', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed;
    };
    const header = good.subarray(0, 10);
    for (let i = 0; i < 500; i++) {
      const body = Buffer.alloc(1 + (random() % 200));
      for (let j = 0; j < body.length; j++) body[j] = random() & 0xff;
      const result = codec.decode(Buffer.concat([header, body]));
      // Random bytes can, rarely, be a well-formed record; what must never happen is an exception.
      if (!result.ok) assert.equal(result.code, 'corrupt');
    }
    // An enum index past the last symbol is corrupt, not a crash.
    const badKind = Buffer.from(good);
    const kindOffset = 10 + 1 + 'evt-model_call-1'.length + 6; // event_id, then a 6-byte zigzag varint time
    assert.equal(badKind[kindOffset], 2, 'kind model_call (index 1) is where the test expects it');
    badKind[kindOffset] = 0x7e; // index 63
    const result = failure(codec.decode(badKind));
    assert.equal(result.code, 'corrupt');
    assert.match(result.reason, /invalid tollgate\.UsageKind enum index: 63/);
  });
  it('refuses an impossible item count before avsc reads it (it would loop and allocate until out of memory)', () => {
    // The tags map is the only difference between these two encodings: find its block count.
    const untagged = codec.encode({ ...exampleModelCall(), tags: {} });
    const tagged = codec.encode({ ...exampleModelCall(), tags: { a: 'b' } });
    let at = 0;
    while (untagged[at] === tagged[at]) at++;
    assert.equal(untagged[at], 0, 'an empty map is one 0 byte');
    // A block of 2^40 entries in a message of a few hundred bytes.
    const huge = Buffer.concat([
      untagged.subarray(0, at),
      Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x40]),
      untagged.subarray(at + 1),
    ]);
    const result = failure(codec.decode(huge));
    assert.equal(result.code, 'corrupt');
    assert.match(
      result.reason,
      /does not decode as tollgate\.UsageEvent@2: a block of 1099511627776 items with \d+ bytes left/,
    );
    // The same count in every position of the body: refused or read, never a crash or a hang.
    for (let i = 10; i < untagged.length; i++) {
      const bad = Buffer.concat([
        untagged.subarray(0, i),
        Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x40]),
        untagged.subarray(i + 1),
      ]);
      const decoded = codec.decode(bad);
      if (!decoded.ok) assert.equal(decoded.code, 'corrupt');
    }
  });
});

describe('priced, alert and dead-letter codecs', () => {
  const cases: [string, Codec<never>, () => unknown, string][] = [
    ['PricedEvent', createPricedCodec() as Codec<never>, examplePricedEvent, 'tollgate.PricedEvent@1'],
    ['CostAlert', createAlertCodec() as Codec<never>, exampleCostAlert, 'tollgate.CostAlert@1'],
    ['DeadLetter', createDeadLetterCodec() as Codec<never>, exampleDeadLetter, 'tollgate.DeadLetter@1'],
  ];
  for (const [name, codec, example, writer] of cases) {
    it(`round-trips a fully populated ${name}`, () => {
      const value = example() as never;
      assert.deepEqual(codec.decode(codec.encode(value)), { ok: true, value, writer });
    });
  }

  it('encodes dead letters whose key and payload are plain Uint8Arrays', () => {
    const codec = createDeadLetterCodec();
    const letter = {
      ...exampleDeadLetter(),
      key: new Uint8Array([1, 2, 3]),
      payload: new Uint8Array([9, 8]),
    };
    const value = decoded(codec.decode(codec.encode(letter)));
    assert.deepEqual([...value.key!], [1, 2, 3]);
    assert.deepEqual([...value.payload], [9, 8]);
  });

  it('round-trips a priced event with null optional fields and no line items', () => {
    const codec = createPricedCodec();
    const value = { ...examplePricedEvent(), line_items: [], has_unpriced: false, adjustment_of: null };
    assert.deepEqual(decoded(codec.decode(codec.encode(value))), value);
  });
});

describe('the TypeScript contract and the .avsc files agree', () => {
  // Each example is typed by contract/types.ts, so it has exactly the TypeScript fields; here every
  // record in it must have exactly the schema's fields, or one side has a field the other lacks.
  const cases: [SchemaFamily, unknown][] = [
    ...exampleUsageEvents().map((event): [SchemaFamily, unknown] => ['usage-event', event]),
    ['priced-event', examplePricedEvent()],
    ['cost-alert', exampleCostAlert()],
    ['dead-letter', exampleDeadLetter()],
  ];
  for (const [family, value] of cases) {
    it(`${family}: every record field of the example is a schema field and vice versa`, () => {
      const type = newestType(family);
      const schemaFields = recordFields(type);
      for (const [record, keys] of objectKeys(type, value)) {
        assert.deepEqual([...keys].sort(), [...schemaFields.get(record)!].sort(), record);
      }
    });
  }

  it('the usage examples fill every body record of the schema', () => {
    const type = newestType('usage-event');
    const seen = new Map<string, string[]>();
    for (const event of exampleUsageEvents()) objectKeys(type, event, seen);
    assert.deepEqual([...seen.keys()].sort(), [...recordFields(type).keys()].sort());
  });

  it('the enums carry the TypeScript symbols (kind adds `unknown`, its resolution default)', () => {
    const symbols = (family: SchemaFamily, name: string) => {
      const record = newestType(family) as avro.types.RecordType;
      const enumType = record.fields.find((f) => f.name === name)!.type as avro.types.EnumType;
      return enumType.symbols;
    };
    assert.deepEqual(symbols('usage-event', 'kind'), ['unknown', ...USAGE_KINDS]);
    assert.deepEqual(symbols('usage-event', 'service_tier'), [...SERVICE_TIERS]);
    assert.deepEqual(symbols('cost-alert', 'severity'), [...ALERT_SEVERITIES]);
    assert.deepEqual(symbols('cost-alert', 'scope'), [...ALERT_SCOPES]);
    const runEnd = (newestType('usage-event') as avro.types.RecordType).fields.find(
      (f) => f.name === 'run_end',
    )!.type as avro.types.UnwrappedUnionType;
    const outcome = (runEnd.types[1] as avro.types.RecordType).fields[0]!.type as avro.types.EnumType;
    assert.deepEqual(outcome.symbols, [...RUN_OUTCOMES]);
  });

  it('an explicit older version codec writes and reads that version', () => {
    const v1 = createAvroCodec<Record<string, unknown>>('usage-event', { version: 1 });
    assert.equal(v1.schema, 'tollgate.UsageEvent@1');
    const read = decoded(v1.decode(createUsageCodec().encode(exampleModelCall())));
    assert.equal('agent_depth' in read, false);
    assert.throws(() => createAvroCodec('usage-event', { version: 9 }), /has no version 9/);
  });
});
