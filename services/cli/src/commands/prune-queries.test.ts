import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRetention } from './prune.ts';
import { dropPartitionStatement, monthEnd, partitionsToDrop } from './prune-queries.ts';

describe('tollgate prune', () => {
  it('drops a month only once all of it is older than the cutoff', () => {
    const cutoff = new Date('2026-09-05T00:00:00Z');
    const partitions = ['202607', '202608', '202609', 'all'].map((partition_id) => ({
      table: 'line_items',
      partition_id,
      rows: '10',
    }));
    const other = { table: 'dead_letters', partition_id: '202001', rows: '1' };
    assert.deepEqual(
      partitionsToDrop([...partitions, other], new Map([['line_items', cutoff]])).map((p) => p.partition_id),
      ['202607', '202608'],
    );
    assert.deepEqual(monthEnd('202612'), new Date('2027-01-01T00:00:00Z'));
    assert.equal(monthEnd('202613'), undefined);
  });

  it('takes days, at least 7, and names the option otherwise', () => {
    assert.equal(parseRetention('--line-items', '90d'), 90);
    assert.throws(
      () => parseRetention('--rollups', '3m'),
      /--rollups must be a number of days like 90d, got "3m"/,
    );
    assert.throws(() => parseRetention('--line-items', '6d'), /--line-items must be at least 7d/);
  });

  it('drops by partition id, with the table as an identifier', () => {
    assert.equal(
      dropPartitionStatement('line_items', '202607').text,
      "ALTER TABLE `line_items` DROP PARTITION ID '202607'",
    );
    assert.throws(() => dropPartitionStatement('line_items; DROP', '1'), /not a plain identifier/);
  });
});
