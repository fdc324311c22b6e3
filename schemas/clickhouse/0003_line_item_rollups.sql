-- Hourly rollups of line_items, filled by materialized views. A materialized view sees every block
-- inserted into line_items, so a duplicate insert is counted twice here: the sink stops duplicates
-- before the insert (services/sink/README.md). Merges are eventual: always read with sum() … GROUP BY.
-- Quantities and line counts exclude restatement lines (adjustment_of <> ''); cost includes them.

-- Allocation by the business, subagent and model layers and cost category.
CREATE TABLE IF NOT EXISTS line_items_by_attribution_hourly
(
    org_id String,
    hour DateTime('UTC'),
    feature String,
    customer_id String,
    environment String,
    agent_name String,
    provider String,
    model String,
    category String,
    unit String,
    currency String,
    cost_nanos Int64,
    lines UInt64,
    unpriced_lines UInt64,
    quantity Float64,
    unpriced_quantity Float64
)
ENGINE = SummingMergeTree((cost_nanos, lines, unpriced_lines, quantity, unpriced_quantity))
PARTITION BY toYYYYMM(hour)
ORDER BY (org_id, hour, feature, customer_id, environment, agent_name, provider, model, category, unit, currency);

CREATE MATERIALIZED VIEW IF NOT EXISTS line_items_by_attribution_hourly_mv
TO line_items_by_attribution_hourly
AS SELECT
    org_id,
    toStartOfHour(event_time) AS hour,
    feature,
    customer_id,
    environment,
    agent_name,
    provider,
    model,
    category,
    unit,
    currency,
    sum(cost_nanos) AS cost_nanos,
    countIf(adjustment_of = '') AS lines,
    countIf(adjustment_of = '' AND priced = 0) AS unpriced_lines,
    sumIf(quantity_value, adjustment_of = '') AS quantity,
    sumIf(quantity_value, adjustment_of = '' AND priced = 0) AS unpriced_quantity
FROM line_items
GROUP BY org_id, hour, feature, customer_id, environment, agent_name, provider, model, category, unit, currency;

-- Cost per run and agent: a run's cost tree, top runs and cost per run read this, keyed so that one
-- run is an index range (org_id, run_id).
CREATE TABLE IF NOT EXISTS line_items_by_run_agent_hourly
(
    org_id String,
    run_id String,
    agent_id String,
    parent_agent_id String,
    agent_name String,
    agent_depth UInt16,
    feature String,
    customer_id String,
    environment String,
    currency String,
    hour DateTime('UTC'),
    cost_nanos Int64,
    lines UInt64,
    unpriced_lines UInt64
)
ENGINE = SummingMergeTree((cost_nanos, lines, unpriced_lines))
PARTITION BY toYYYYMM(hour)
ORDER BY (org_id, run_id, agent_id, parent_agent_id, agent_name, agent_depth, feature, customer_id, environment, currency, hour);

CREATE MATERIALIZED VIEW IF NOT EXISTS line_items_by_run_agent_hourly_mv
TO line_items_by_run_agent_hourly
AS SELECT
    org_id,
    run_id,
    agent_id,
    parent_agent_id,
    agent_name,
    agent_depth,
    feature,
    customer_id,
    environment,
    currency,
    toStartOfHour(event_time) AS hour,
    sum(cost_nanos) AS cost_nanos,
    countIf(adjustment_of = '') AS lines,
    countIf(adjustment_of = '' AND priced = 0) AS unpriced_lines
FROM line_items
GROUP BY org_id, run_id, agent_id, parent_agent_id, agent_name, agent_depth, feature, customer_id, environment, currency, hour;
