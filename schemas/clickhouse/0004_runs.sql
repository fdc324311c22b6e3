-- Run lifecycle: the sink writes one row per run_start, run_end and subagent_spawn event (they carry
-- no line items). `runs` folds them into one row per run; a spawn that never incurred cost still
-- shows in a run's cost tree through run_events.
CREATE TABLE IF NOT EXISTS run_events
(
    event_id String,
    event_time DateTime('UTC'),
    kind String,
    org_id String,
    run_id String,
    agent_id String,
    parent_agent_id String,
    agent_name String,
    agent_depth UInt16,
    feature String,
    customer_id String,
    environment String,
    outcome String,
    duration_ms UInt64,
    child_agent_id String,
    child_agent_name String,
    child_depth UInt16,
    source_topic String,
    source_partition Int32,
    source_offset Int64,
    inserted_at DateTime('UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (org_id, run_id, event_time, event_id);

-- One row per run after merges (read with the -Merge functions and GROUP BY org_id, run_id). Every
-- aggregate is idempotent (min, max, argMax), so a run_end delivered twice changes nothing.
-- started_at / ended_at are 1970-01-01 00:00:00 when no run_start / run_end was seen.
CREATE TABLE IF NOT EXISTS runs
(
    org_id String,
    run_id String,
    feature AggregateFunction(max, String),
    customer_id AggregateFunction(max, String),
    environment AggregateFunction(max, String),
    started_at AggregateFunction(minIf, DateTime('UTC'), UInt8),
    ended_at AggregateFunction(maxIf, DateTime('UTC'), UInt8),
    outcome AggregateFunction(argMaxIf, String, DateTime('UTC'), UInt8)
)
ENGINE = AggregatingMergeTree
ORDER BY (org_id, run_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS runs_mv
TO runs
AS SELECT
    org_id,
    run_id,
    maxState(feature) AS feature,
    maxState(customer_id) AS customer_id,
    maxState(environment) AS environment,
    minIfState(event_time, kind = 'run_start') AS started_at,
    maxIfState(event_time, kind = 'run_end') AS ended_at,
    argMaxIfState(outcome, event_time, kind = 'run_end') AS outcome
FROM run_events
WHERE kind IN ('run_start', 'run_end')
GROUP BY org_id, run_id;
