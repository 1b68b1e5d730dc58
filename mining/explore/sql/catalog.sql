-- The names the explorer's filters may use (mining.explore.catalog).

-- @section processes
SELECT process, count(*) AS cases, sum(n_events) AS events
FROM cases
GROUP BY process
ORDER BY process;

-- @section activities
SELECT DISTINCT activity FROM event_log WHERE process = $process ORDER BY activity;

-- @section attribute_keys
SELECT DISTINCT unnest(json_keys(attrs)) AS k
FROM event_log
WHERE process = $process AND attrs IS NOT NULL
ORDER BY k;

-- @section outcomes
SELECT DISTINCT outcome FROM case_outcomes WHERE process = $process ORDER BY outcome;

-- @section status
SELECT
    (SELECT count(*) FROM variants WHERE process = $process) AS n_variants,
    EXISTS (SELECT 1 FROM mot_runs WHERE process = $process) AS has_moments,
    EXISTS (SELECT 1 FROM waste_runs WHERE process = $process) AS has_waste;
