-- Cost alerts from tollgate.alerts.v1. alert_id is deterministic (scope, rule, window), so a re-fired
-- alert replaces its earlier row: read with FINAL or argMax when exactness matters.
CREATE TABLE IF NOT EXISTS alerts
(
    alert_id String,
    rule String,
    severity String,
    scope String,
    org_id String,
    run_id String,
    feature String,
    customer_id String,
    window_start Nullable(DateTime('UTC')),
    window_end Nullable(DateTime('UTC')),
    observed Float64,
    expected Float64,
    unit String,
    explanation String,
    contributor_dimensions Array(String),
    contributor_values Array(String),
    contributor_observed Array(Float64),
    contributor_expected Array(Float64),
    first_event_time DateTime('UTC'),
    detected_at DateTime('UTC'),
    policy_id String,
    source_topic String,
    source_partition Int32,
    source_offset Int64,
    inserted_at DateTime('UTC')
)
ENGINE = ReplacingMergeTree(inserted_at)
ORDER BY (org_id, alert_id);
