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

-- Keys without the case: prefix that still describe the case: every case of the process holds the
-- key, with one value (the demo's product). Read once per snapshot, so a full scan is fine.
-- @section constant_keys
WITH pairs AS (
    SELECT case_id, k, json_extract_string(attrs, '$."' || replace(replace(k, '\', '\\'), '"', '\"') || '"') AS v
    FROM (SELECT case_id, attrs, unnest(json_keys(attrs)) AS k FROM event_log WHERE process = $process AND attrs IS NOT NULL)
)
SELECT k
FROM (SELECT case_id, k, count(DISTINCT v) AS n_values FROM pairs GROUP BY case_id, k)
GROUP BY k
HAVING count(*) = (SELECT count(*) FROM cases WHERE process = $process) AND max(n_values) = 1
ORDER BY k;
