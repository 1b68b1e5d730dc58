-- The filter UI's choices (mining.explore.queries.attributes), over every case of the process:
-- the most frequent values of an attribute with the cases holding them, and the time range.

-- @section json_values
SELECT json_extract_string(attrs, $key) AS value, count(DISTINCT case_id) AS cases
FROM event_log
WHERE process = $process AND json_extract_string(attrs, $key) IS NOT NULL
GROUP BY value
ORDER BY cases DESC, value
LIMIT $limit;

-- @section resource_values
SELECT resource AS value, count(DISTINCT case_id) AS cases
FROM event_log
WHERE process = $process AND resource IS NOT NULL
GROUP BY value
ORDER BY cases DESC, value
LIMIT $limit;

-- @section lifecycle_values
SELECT lifecycle AS value, count(DISTINCT case_id) AS cases
FROM event_log
WHERE process = $process AND lifecycle IS NOT NULL
GROUP BY value
ORDER BY cases DESC, value
LIMIT $limit;

-- @section outcomes
SELECT outcome AS value, count(*) AS cases
FROM case_outcomes
WHERE process = $process
GROUP BY outcome
ORDER BY cases DESC, outcome;

-- @section activities
SELECT activity AS value, count(*) AS events, count(DISTINCT case_id) AS cases
FROM event_log
WHERE process = $process
GROUP BY activity
ORDER BY activity;

-- @section range
SELECT min(start_ts) AS first_ts, max(end_ts) AS last_ts, min(duration_s) AS min_throughput_s,
    max(duration_s) AS max_throughput_s
FROM cases
WHERE process = $process;
