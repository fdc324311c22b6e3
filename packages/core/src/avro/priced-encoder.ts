/**
 * The pricer's encoder: a PricedEvent whose `usage` part is copied from the usage message it was
 * decoded from instead of encoded again.
 *
 * `usage` is PricedEvent's first field and its type is the current UsageEvent (a test holds the copy to
 * the newest usage-event version), so when the usage message was written with that version its Avro
 * body is, byte for byte, what encoding the decoded event again would give (our writers and avsc write
 * canonical Avro; another writer's valid but longer varints or blocks decode to the same values). The
 * priced event is then the priced header, that body, and the encoding of the remaining fields. A usage
 * message of another version (it was resolved while decoding) is encoded in full, like any value.
 */
import avro from 'avsc';
import type { PricedEvent } from '../contract/types.ts';
import { type Codec, createPricedCodec, SINGLE_OBJECT_HEADER_BYTES, singleObjectHeader } from './codec.ts';
import { avroType, loadSchemaFamily } from './schemas.ts';
import { compileWriter, type WriteState } from './writer.ts';

export interface PricedEncoder {
  /**
   * Encodes `event` (single-object, the current PricedEvent version). `usageMessage` is the message
   * `event.usage` was decoded from, unchanged since; its body is copied when its writer schema is the
   * one PricedEvent embeds. `allocate` as in Codec.encode. Throws like Codec.encode.
   */
  encode(event: PricedEvent, usageMessage: Uint8Array | null, allocate?: (length: number) => Buffer): Buffer;
  /** Whether usage bodies are copied at all (false when the schemas do not allow it). */
  readonly splices: boolean;
}

export function createPricedEncoder(options: { schemaDir?: string } = {}): PricedEncoder {
  const codec: Codec<PricedEvent> = createPricedCodec(options);
  const plain: PricedEncoder = {
    encode: (event, _usage, allocate) => codec.encode(event, allocate),
    splices: false,
  };
  const pricedVersions = loadSchemaFamily('priced-event', options.schemaDir);
  const own = pricedVersions[pricedVersions.length - 1];
  const ownType = own?.type;
  if (!own || !(ownType instanceof avro.types.RecordType) || ownType.fields[0]?.name !== 'usage')
    return plain;
  const embedded = ownType.fields[0].type;
  const usageWriter = loadSchemaFamily('usage-event', options.schemaDir).find((v) => v.type.equals(embedded));
  if (!usageWriter) return plain;

  // The fields after `usage`, as a record of their own (named types keep their full names).
  const fields = (own.schema.fields as unknown[]).slice(1);
  let restType: avro.Type;
  try {
    restType = avroType({ type: 'record', name: `${own.name}Rest`, fields });
  } catch {
    return plain; // a later field uses a type named inside `usage`
  }
  const writeRest = compileWriter(restType);
  if (!writeRest) return plain;

  const usageHeader = singleObjectHeader(usageWriter.fingerprint);
  const usageLo = usageHeader.readUInt32LE(2);
  const usageHi = usageHeader.readUInt32LE(6);
  const pricedHeader = singleObjectHeader(own.fingerprint);
  const state: WriteState = { buf: Buffer.allocUnsafe(4096), pos: 0 };

  /** The encoding of the fields after `usage` into state.buf[0, returned end). */
  function rest(event: PricedEvent): number {
    state.pos = 0;
    writeRest!(state, event);
    if (state.pos > state.buf.length) {
      state.buf = Buffer.allocUnsafe(Math.max(state.buf.length * 2, state.pos));
      state.pos = 0;
      writeRest!(state, event);
    }
    return state.pos;
  }

  return {
    splices: true,
    encode(event, usageMessage, allocate) {
      if (
        usageMessage === null ||
        usageMessage.length < SINGLE_OBJECT_HEADER_BYTES ||
        usageMessage[0] !== 0xc3 ||
        usageMessage[1] !== 0x01
      )
        return codec.encode(event, allocate);
      const message = Buffer.isBuffer(usageMessage)
        ? usageMessage
        : Buffer.from(usageMessage.buffer, usageMessage.byteOffset, usageMessage.byteLength);
      if (message.readUInt32LE(2) !== usageLo || message.readUInt32LE(6) !== usageHi)
        return codec.encode(event, allocate);
      let end: number;
      try {
        end = rest(event);
      } catch {
        return codec.encode(event, allocate); // throws the ValidationError naming the field
      }
      const bodyLength = message.length - SINGLE_OBJECT_HEADER_BYTES;
      const length = SINGLE_OBJECT_HEADER_BYTES + bodyLength + end;
      const out = allocate ? allocate(length) : Buffer.allocUnsafe(length);
      pricedHeader.copy(out, 0);
      message.copy(out, SINGLE_OBJECT_HEADER_BYTES, SINGLE_OBJECT_HEADER_BYTES);
      state.buf.copy(out, SINGLE_OBJECT_HEADER_BYTES + bodyLength, 0, end);
      return out;
    },
  };
}
