-- Events a stage could not handle, with the reason, kept for inspection and replay.
-- One row per dead letter; the sink writes them from tollgate.dlq.v1.
CREATE TABLE IF NOT EXISTS dead_letters
(
    received_at DateTime,
    stage String,
    reason_code String,
    reason String,
    source_topic String,
    source_partition Int32,
    source_offset Int64,
    key String,
    payload_base64 String,
    dlq_partition Int32,
    dlq_offset Int64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (dlq_partition, dlq_offset);
