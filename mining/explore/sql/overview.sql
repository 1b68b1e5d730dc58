-- The headline figures of the explorer (mining.explore.queries.overview): the filtered cases
-- (explore_cases) and, for comparison, every case of the process.

-- @section filtered
SELECT count(*) AS cases, coalesce(sum(c.n_events), 0) AS events, count(DISTINCT c.variant_id) AS variants,
    median(c.duration_s) AS median_throughput_s, min(c.start_ts) AS first_ts, max(c.end_ts) AS last_ts
FROM cases AS c
WHERE c.process = $process AND c.case_id IN (SELECT case_id FROM explore_cases);

-- @section total
SELECT count(*) AS cases, coalesce(sum(c.n_events), 0) AS events, count(DISTINCT c.variant_id) AS variants,
    median(c.duration_s) AS median_throughput_s, min(c.start_ts) AS first_ts, max(c.end_ts) AS last_ts
FROM cases AS c
WHERE c.process = $process;
