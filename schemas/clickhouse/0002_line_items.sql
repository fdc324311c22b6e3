-- One row per priced line item (FOCUS-like): the fact table every allocation query can fall back to.
-- Written only by the sink, from tollgate.priced.v1.
--
-- Conventions (see README.md):
-- - An absent optional attribute (agent_id, feature, customer_id, …) is stored as '' (empty string),
--   never NULL: rollups key on these columns and "untagged" means feature = ''.
-- - Money: cost_nanos is an exact Int64 in nano-units of `currency`; an unpriced line has priced = 0,
--   cost_nanos = 0 and unit_price = '' (its cost is unknown, not zero: every query reports it apart).
-- - quantity is the exact decimal string from the pricer; quantity_value is the same number as Float64,
--   used only to sum quantities, never money.
-- - Restatement lines (adjustment_of <> '') carry a cost difference; their quantities are not usage
--   and are excluded from quantity sums and line counts.
-- - (source_topic, source_partition, source_offset) identify the Kafka message the row came from:
--   the sink reads them back to skip messages it already stored (exactly-once into the rollups).
CREATE TABLE IF NOT EXISTS line_items
(
    event_id String,
    line_no UInt16,
    event_time DateTime('UTC'),
    kind String,
    run_id String,
    agent_id String,
    parent_agent_id String,
    agent_name String,
    agent_depth UInt16,
    provider String,
    model String,
    service_tier String,
    org_id String,
    feature String,
    customer_id String,
    environment String,
    tag_keys Array(String),
    tag_values Array(String),
    category String,
    item String,
    unit String,
    quantity String,
    quantity_value Float64,
    unit_price String,
    cost_nanos Int64,
    priced UInt8,
    currency String,
    rate_card_id String,
    rate_card_version String,
    rate_card_hash String,
    adjustment_of String,
    source_topic String,
    source_partition Int32,
    source_offset Int64,
    inserted_at DateTime('UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (org_id, event_time, run_id, event_id, line_no);
