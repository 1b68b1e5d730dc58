-- The process map of the filtered cases (mining.explore.queries.process_graph), on activity
-- instances (lifecycle events of one occurrence merged, table activity_instances) as Disco counts
-- them: frequency = instances. Service time = end - start of instances with a START event (NULL:
-- the log has no start/complete pairs, not measurable). The wait on an arrow = the target's time
-- (its start, else its end) - the source's end; overlapping instances count as a wait of 0.
-- $keep: the activities the activity slider keeps (NULL: all). As in Disco, the others are taken
-- out of the cases before the arrows are counted, so a kept activity links to the next kept one.

-- @section activities
SELECT i.activity, count(*) AS frequency, count(DISTINCT i.case_id) AS cases,
    avg(i.service_s) AS service_mean_s, median(i.service_s) AS service_median_s, max(i.service_s) AS service_max_s
FROM activity_instances AS i
WHERE i.process = $process AND i.case_id IN (SELECT case_id FROM explore_cases)
    AND ($keep IS NULL OR list_contains($keep, i.activity))
GROUP BY i.activity
ORDER BY i.activity;

-- One pass over the kept instances gives the arrows, the starts and the ends: a row per arrow
-- (source, target), a row per last activity (target NULL: the arrow to the end), and on each row
-- the instances that are their case's first (n_first: summed per source, the arrows from the start).
-- @section edges
WITH steps AS (
    SELECT i.case_id, i.activity AS source,
        lead(i.activity) OVER w AS target,
        lag(i.activity) OVER w IS NULL AS is_first,
        greatest(epoch(lead(i.ts) OVER w) - epoch(coalesce(i.end_ts, i.ts)), 0) AS wait_s
    FROM activity_instances AS i
    WHERE i.process = $process AND i.case_id IN (SELECT case_id FROM explore_cases)
        AND ($keep IS NULL OR list_contains($keep, i.activity))
    WINDOW w AS (PARTITION BY i.case_id ORDER BY i.instance_pos)
)
SELECT source, target, count(*) AS frequency, count(DISTINCT case_id) AS cases,
    avg(wait_s) AS mean_s, median(wait_s) AS median_s, max(wait_s) AS max_s,
    count(*) FILTER (WHERE is_first) AS n_first
FROM steps
GROUP BY source, target
ORDER BY source, target NULLS LAST;

-- What the moments and waste analyses say about each activity (whole process; NULL without them).
-- @section marks
SELECT a.activity, m.is_moment_of_truth, m.channel, w.waste_score, w.rank AS waste_rank, w.recommendation
FROM (SELECT DISTINCT activity FROM activity_instances WHERE process = $process) AS a
LEFT JOIN mot_activities AS m ON m.process = $process AND m.activity = a.activity
LEFT JOIN waste_activities AS w ON w.process = $process AND w.activity = a.activity
ORDER BY a.activity;
