-- What-if removal over the filtered cases (mining.explore.queries.what_if), computed here, not taken
-- from waste_whatif (that one is per single activity over the whole process). Assumption, stated in
-- the result: removing an activity removes its events and its measured service time (end - start of
-- its instances); the wait before it is kept. Throughput after = before - that service time. A case
-- all of whose events are removed leaves the figures after. Variants after: the event sequences
-- without the removed activities. Moments per case after: its moment instances not removed.

-- @section filtered
WITH fc AS (
    SELECT c.case_id, c.duration_s, v.activities
    FROM cases AS c
    JOIN variants AS v ON v.process = c.process AND v.variant_id = c.variant_id
    WHERE c.process = $process AND c.case_id IN (SELECT case_id FROM explore_cases)
),
saved AS (
    SELECT case_id, sum(coalesce(service_s, 0)) AS service_s, count(service_s) AS timed, count(*) AS instances
    FROM activity_instances
    WHERE process = $process AND list_contains($remove, activity) AND case_id IN (SELECT case_id FROM fc)
    GROUP BY case_id
),
moments AS (
    SELECT case_id, count(*) AS before, count(*) FILTER (WHERE NOT list_contains($remove, activity)) AS after
    FROM mot_events
    WHERE process = $process AND is_moment_of_truth AND case_id IN (SELECT case_id FROM fc)
    GROUP BY case_id
),
per_case AS (
    SELECT fc.case_id, fc.duration_s AS before_s, fc.duration_s - coalesce(saved.service_s, 0) AS after_s,
        len(fc.activities) AS events_before,
        len(list_filter(fc.activities, lambda a: NOT list_contains($remove, a))) AS events_after,
        list_filter(fc.activities, lambda a: NOT list_contains($remove, a)) AS sequence_after,
        fc.activities AS sequence_before,
        coalesce(moments.before, 0) AS moments_before, coalesce(moments.after, 0) AS moments_after,
        coalesce(saved.instances, 0) AS instances_removed, coalesce(saved.timed, 0) AS timed_removed
    FROM fc
    LEFT JOIN saved USING (case_id)
    LEFT JOIN moments USING (case_id)
)
SELECT
    count(*) AS cases_before,
    count(*) FILTER (WHERE events_after > 0) AS cases_after,
    coalesce(sum(events_before), 0) AS events_before,
    coalesce(sum(events_after), 0) AS events_after,
    median(before_s) AS median_throughput_s_before,
    median(after_s) FILTER (WHERE events_after > 0) AS median_throughput_s_after,
    avg(moments_before) AS moments_per_case_before,
    avg(moments_after) FILTER (WHERE events_after > 0) AS moments_per_case_after,
    count(DISTINCT sequence_before) AS variants_before,
    count(DISTINCT sequence_after) FILTER (WHERE events_after > 0) AS variants_after,
    count(*) FILTER (WHERE instances_removed > 0) AS cases_affected,
    coalesce(sum(instances_removed), 0) AS instances_removed,
    coalesce(sum(timed_removed), 0) AS instances_with_service_time
FROM per_case;

-- The waste analysis's own what-if of each removed activity, alone and over every case of the
-- process (its method: docs/waste.md), for comparison.
-- @section waste
SELECT activity, scope, cases_affected, steps_removed, mean_throughput_before_s, mean_throughput_after_s,
    case_hours_saved, saving_method, mots_per_case_before, mots_per_case_after, variants_before, variants_after
FROM waste_whatif
WHERE process = $process AND list_contains($remove, activity)
ORDER BY activity, scope;
