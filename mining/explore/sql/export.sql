-- The filtered event log (mining.explore.exports): one row per event of the filtered cases, in
-- case and event order; attrs holds the source's other columns as JSON text.

-- @section events
SELECT e.case_id, e.pos, e.activity, e.ts, e.resource, e.lifecycle, CAST(e.attrs AS VARCHAR) AS attrs
FROM event_log AS e
WHERE e.process = $process AND e.case_id IN (SELECT case_id FROM explore_cases)
ORDER BY e.case_id, e.pos;

-- The variants of the filtered cases with their case counts: what the Inductive Miner is given.
-- @section variants
SELECT v.activities, count(*) AS n_cases
FROM cases AS c
JOIN variants AS v ON v.process = c.process AND v.variant_id = c.variant_id
WHERE c.process = $process AND c.case_id IN (SELECT case_id FROM explore_cases)
GROUP BY v.activities
ORDER BY n_cases DESC, v.activities;

-- The noise threshold the run mined its IMf model with (none: the default).
-- @section noise
SELECT CAST(json_extract(parameters, '$.noise_threshold') AS DOUBLE)
FROM model_runs
WHERE process = $process AND algorithm = 'imf';
