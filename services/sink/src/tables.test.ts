import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ownInsertQuery, runningInsertsQuery, storedOffsetsQuery } from './tables.ts';

describe('stored offsets SQL', () => {
  it('asks for distinct positions at or above each partition start, for one topic', () => {
    assert.equal(
      storedOffsetsQuery('line_items', "t'; DROP TABLE x --", [
        { partition: 0, fromOffset: '100' },
        { partition: 3, fromOffset: '7' },
      ]).text,
      "SELECT `source_partition` AS partition, toString(`source_offset`) AS offset FROM `line_items` WHERE `source_topic` = 't\\'; DROP TABLE x --' AND ((`source_partition` = 0 AND `source_offset` >= 100) OR (`source_partition` = 3 AND `source_offset` >= 7)) GROUP BY partition, offset",
    );
  });

  it('uses the DLQ position columns of dead_letters, which holds one topic', () => {
    assert.equal(
      storedOffsetsQuery('dead_letters', 'ignored', [{ partition: 0, fromOffset: '5' }]).text,
      'SELECT `dlq_partition` AS partition, toString(`dlq_offset`) AS offset FROM `dead_letters` WHERE ((`dlq_partition` = 0 AND `dlq_offset` >= 5)) GROUP BY partition, offset',
    );
  });

  it('rejects an offset that is not an integer instead of splicing it', () => {
    assert.throws(() => storedOffsetsQuery('alerts', 't', [{ partition: 0, fromOffset: '1 OR 1=1' }]));
  });
});

describe('running inserts SQL', () => {
  it("waits for every sink process's inserts into the same database, its own included", () => {
    assert.equal(
      runningInsertsQuery('tollgate').text,
      "SELECT query_id FROM system.processes WHERE startsWith(query_id, 'tollgate-sink:tollgate:')",
    );
    assert.equal(
      ownInsertQuery('q1').text,
      "SELECT count() AS running FROM system.processes WHERE has(['q1'], query_id)",
    );
  });
});
