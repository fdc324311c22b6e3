import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isoTime } from './format.ts';

describe('isoTime', () => {
  it('turns a ClickHouse DateTime into ISO 8601 UTC', () => {
    assert.equal(isoTime('2026-01-15 10:00:00'), '2026-01-15T10:00:00Z');
  });

  it('reads the zero DateTime as never set, as ClickHouse 18.16 and current versions print it', () => {
    assert.equal(isoTime('0000-00-00 00:00:00'), null, 'before ClickHouse 20.7');
    assert.equal(isoTime('1970-01-01 00:00:00'), null, 'from ClickHouse 20.7 on');
    assert.equal(isoTime(''), null);
    assert.equal(isoTime(undefined), null);
  });
});
