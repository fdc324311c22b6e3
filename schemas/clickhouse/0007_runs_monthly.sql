-- `runs` had no partitions, so no retention could drop old runs. runs_monthly folds the same states per
-- run and month (of the run event), partitioned by that month: `tollgate prune --rollups` drops a month
-- whole. A run whose start and end fall in different months has a row in each; readers already merge
-- with GROUP BY run_id, so they see one run.
CREATE TABLE IF NOT EXISTS runs_monthly
(
    month Date,
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
PARTITION BY toYYYYMM(month)
ORDER BY (org_id, run_id, month);

CREATE MATERIALIZED VIEW IF NOT EXISTS runs_monthly_mv
TO runs_monthly
AS SELECT
    toStartOfMonth(event_time) AS month,
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
GROUP BY month, org_id, run_id;

-- Every run so far, from `runs` (which holds runs whose run_events were pruned), in the month it ended
-- (or started, if it has not ended). Every aggregate is idempotent (min, max, argMax), so a run event
-- both views saw while this ran, or a second run of this migration, changes nothing. A zero time is
-- "not seen" (no run_start or run_end), as in `runs`.
INSERT INTO runs_monthly
SELECT
    toStartOfMonth(if(run_ended > toDateTime(0, 'UTC'), run_ended, run_started)) AS month,
    org_id,
    run_id,
    maxState(run_feature),
    maxState(run_customer),
    maxState(run_environment),
    minIfState(run_started, run_started > toDateTime(0, 'UTC')),
    maxIfState(run_ended, run_ended > toDateTime(0, 'UTC')),
    argMaxIfState(run_outcome, run_ended, run_ended > toDateTime(0, 'UTC'))
FROM
(
    SELECT
        org_id,
        run_id,
        maxMerge(feature) AS run_feature,
        maxMerge(customer_id) AS run_customer,
        maxMerge(environment) AS run_environment,
        minIfMerge(started_at) AS run_started,
        maxIfMerge(ended_at) AS run_ended,
        argMaxIfMerge(outcome) AS run_outcome
    FROM runs
    GROUP BY org_id, run_id
)
GROUP BY month, org_id, run_id;
