-- Dead letters `tollgate dlq replay` has published again to their source topic, one row per source
-- message (a message dead-lettered twice is one row), so a later replay skips them: a replayed event
-- is priced and counted once however often the command runs.
CREATE TABLE IF NOT EXISTS dead_letter_replays
(
    source_topic String,
    source_partition Int32,
    source_offset Int64,
    stage String,
    reason_code String,
    replayed_at DateTime('UTC'),
    replay_partition Int32,
    replay_offset Int64
)
ENGINE = ReplacingMergeTree(replayed_at)
ORDER BY (source_topic, source_partition, source_offset);
