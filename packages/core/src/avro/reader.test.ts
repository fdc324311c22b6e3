import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileBodyScanner } from './reader.ts';
import { loadSchemaFamily, SCHEMA_FAMILIES } from './schemas.ts';

describe('compileBodyScanner', () => {
  for (const family of SCHEMA_FAMILIES)
    for (const version of loadSchemaFamily(family)) {
      it(`finds where every random ${version.label} ends, and refuses each of its truncations`, () => {
        const scan = compileBodyScanner(version.type);
        for (let i = 0; i < 200; i++) {
          const body = version.type.toBuffer(version.type.random());
          assert.deepEqual(scan(body, 0), { ok: true, end: body.length });
          // With a prefix: positions are absolute.
          const framed = Buffer.concat([Buffer.alloc(10, 7), body]);
          assert.deepEqual(scan(framed, 10), { ok: true, end: framed.length });
          const cut = body.subarray(0, Math.floor(Math.random() * body.length));
          const result = scan(cut, 0);
          assert.ok(
            !result.ok || result.end > cut.length,
            `a truncation to ${cut.length} bytes read as whole`,
          );
        }
      });
    }

  it('names the impossible part: an enum index, a union branch, a negative length, a count', () => {
    const [usage] = loadSchemaFamily('usage-event').slice(-1);
    const scan = compileBodyScanner(usage!.type);
    // event_id "" then event_time 0, then kind index 60.
    assert.deepEqual(scan(Buffer.from([0, 0, 60 << 1]), 0), {
      ok: false,
      why: 'invalid tollgate.UsageKind enum index: 60',
    });
    assert.deepEqual(scan(Buffer.from([3]), 0), { ok: false, why: 'a negative length -2' });
    // event_id, event_time, kind, run_id, then agent_id's union branch 5.
    assert.deepEqual(scan(Buffer.from([0, 0, 2, 0, 10]), 0), {
      ok: false,
      why: 'invalid union branch index: 5',
    });
  });
});
