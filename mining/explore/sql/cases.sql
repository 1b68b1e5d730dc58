-- Drill-down (mining.explore.queries.cases): the filtered cases, optionally only those with an
-- activity, an arrow (source directly followed by target, on activity instances as the map counts
-- them) or a variant; a page of them with the total. `head` + restrictions + `tail`.

-- @section head
SELECT c.case_id, c.start_ts, c.end_ts, c.n_events, c.duration_s AS throughput_s, v.rank AS variant,
    o.outcome, s.final_score, count(*) OVER () AS total
FROM cases AS c
LEFT JOIN variants AS v ON v.process = c.process AND v.variant_id = c.variant_id
LEFT JOIN case_outcomes AS o ON o.process = c.process AND o.case_id = c.case_id
LEFT JOIN case_scores AS s ON s.process = c.process AND s.case_id = c.case_id
WHERE c.process = $process AND c.case_id IN (SELECT case_id FROM explore_cases)

-- @section activity
  AND c.case_id IN (SELECT case_id FROM activity_instances WHERE process = $process AND activity = $activity)

-- @section arc
  AND c.case_id IN (
    SELECT case_id FROM (
        SELECT case_id, activity, lead(activity) OVER (PARTITION BY case_id ORDER BY instance_pos) AS next_activity
        FROM activity_instances
        WHERE process = $process
    ) AS steps
    WHERE activity = $source AND next_activity = $target)

-- @section variant
  AND v.rank = $variant

-- @section tail
ORDER BY c.start_ts, c.case_id
LIMIT $limit OFFSET $offset
