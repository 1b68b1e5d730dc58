-- The raw step log of one process ($process): its activity instances (activity_instances, built
-- by the prepare step: SCHEDULE / START / COMPLETE of one activity are one instance), with the
-- instances before and after each. Times: ts = the instance's end (its start or first event when
-- it never closed), first_ts = its first event, wait_s = idle_s (from the end of the case's earlier
-- instances to its start: the queue before it), proc_s = service_s (start to end).
-- For the cases [$lo, $hi) (NULL = open end), the later ranges appending (mining.waste.analysis): a
-- window over one range of cases stays in memory, and the table holds the ranges in case order, so
-- that the ranged statements after it (steps.sql, metrics.sql, whatif.sql) skip the row groups of
-- other ranges instead of scanning every step (issue 20).
CREATE OR REPLACE TEMP TABLE waste_raw AS
SELECT case_id, CAST(instance_pos AS INTEGER) AS seq, activity,
    coalesce(end_ts, ts) AS ts,
    least(coalesce(schedule_ts, ts), ts) AS first_ts,
    start_ts, resource,
    service_s AS proc_s,
    idle_s AS wait_s,
    lag(activity) OVER w AS prev_activity,
    lead(activity) OVER w AS next_activity,
    -- for the hand-off pairs (units.sql): in this sort rather than a window of its own there
    lead(resource) OVER w AS next_resource
FROM activity_instances
WHERE process = $process AND ($lo IS NULL OR case_id >= $lo) AND ($hi IS NULL OR case_id < $hi)
WINDOW w AS (PARTITION BY case_id ORDER BY instance_pos);
-- (Not sorted within a range: every reader groups it or orders it in its own windows.)
