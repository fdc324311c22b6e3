import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from './errors.ts';
import { alignedToHour, MAX_RANGE_MS, parseFilters, parseGroupBy, parseRange, parseTime } from './params.ts';

function rejects(fn: () => unknown, parameter: string, code = 'TG_BAD_PARAMETER') {
  assert.throws(
    fn,
    (err: unknown) => err instanceof ApiError && err.code === code && err.parameter === parameter,
  );
}

describe('params', () => {
  it('parses ISO dates and date-times with a zone', () => {
    assert.equal(parseTime('from', '2026-01-15').toISOString(), '2026-01-15T00:00:00.000Z');
    assert.equal(parseTime('from', '2026-01-15T10:00:00+02:00').toISOString(), '2026-01-15T08:00:00.000Z');
    rejects(() => parseTime('from', '2026-01-15T10:00:00'), 'from');
    rejects(() => parseTime('from', '2026-02-29'), 'from');
    rejects(() => parseTime('to', '2026-13-01'), 'to');
    rejects(() => parseTime('from', '1969-12-31'), 'from');
  });

  it('bounds ranges by grain', () => {
    rejects(() => parseRange('2026-01-02', '2026-01-01', MAX_RANGE_MS.day), 'to');
    rejects(() => parseRange('2026-01-01', '2026-03-01', MAX_RANGE_MS.hour), 'to', 'TG_RANGE_TOO_LARGE');
    assert.ok(parseRange('2026-01-01', '2026-03-01', MAX_RANGE_MS.day));
    assert.equal(
      alignedToHour(parseRange('2026-01-01T01:00:00Z', '2026-01-01T05:00:00Z', MAX_RANGE_MS.hour)),
      true,
    );
    assert.equal(
      alignedToHour(parseRange('2026-01-01T01:00:01Z', '2026-01-01T05:00:00Z', MAX_RANGE_MS.hour)),
      false,
    );
  });

  it('accepts only allow-listed dimensions and one tag key in group_by', () => {
    assert.deepEqual(parseGroupBy('feature, model,tag:team'), [
      { kind: 'dimension', dimension: 'feature' },
      { kind: 'dimension', dimension: 'model' },
      { kind: 'tag', key: 'team' },
    ]);
    assert.deepEqual(parseGroupBy(undefined), []);
    rejects(() => parseGroupBy('feature,org_id'), 'group_by');
    rejects(() => parseGroupBy('feature,feature'), 'group_by');
    rejects(() => parseGroupBy('tag:'), 'group_by');
    rejects(() => parseGroupBy('tag:a\nb'), 'group_by');
  });

  it('reads filters, an empty value meaning untagged, and key=value tags', () => {
    assert.deepEqual(
      parseFilters({ feature: ['a', ''], agent: 'x', tag: ['team=growth', 'team=', 'env=a=b'] }),
      {
        dimensions: { feature: ['a', ''], agent: ['x'] },
        tags: { team: ['growth', ''], env: ['a=b'] },
      },
    );
    rejects(() => parseFilters({ tag: ['novalue'] }), 'tag');
  });
});
