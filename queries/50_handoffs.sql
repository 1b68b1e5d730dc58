-- Question: Where does work change hands? Which resource passes work to which, how often and
--           with how long a wait; on which steps of the process does the resource change; and
--           which cases and events are behind one hand-off?
-- Gives: view handoffs, view activity_handoffs,
--        macro handoff_events(process, from_resource, to_resource)
-- Example:
--   SELECT from_resource, to_resource, n_handoffs, n_cases, median_wait
--   FROM handoffs WHERE process = mot_process() LIMIT 10;
--   SELECT source_activity, target_activity, frequency, n_handoffs, handoff_share
--   FROM activity_handoffs WHERE process = mot_process() LIMIT 10;
--   FROM handoff_events(mot_process(), (FROM handoffs SELECT from_resource WHERE process = mot_process() LIMIT 1),
--                       (FROM handoffs SELECT to_resource WHERE process = mot_process() LIMIT 1)) LIMIT 5;
--
-- A hand-off is two consecutive events of a case done by different resources (events without a
-- resource count as neither).

CREATE OR REPLACE VIEW handoffs AS
WITH pairs AS (
    SELECT process, case_id, resource AS from_resource,
        lead(resource) OVER (PARTITION BY process, case_id ORDER BY pos) AS to_resource,
        epoch(next_ts) - epoch(ts) AS wait_s
    FROM event_log
)
SELECT process, from_resource, to_resource,
    count(*) AS n_handoffs,
    count(DISTINCT case_id) AS n_cases,
    median(wait_s) AS median_wait_s,
    mot_duration(median(wait_s)) AS median_wait,
    mot_duration(quantile_cont(wait_s, 0.9)) AS p90_wait
FROM pairs
WHERE from_resource IS NOT NULL AND to_resource IS NOT NULL AND from_resource <> to_resource
GROUP BY process, from_resource, to_resource
ORDER BY process, n_handoffs DESC, from_resource, to_resource;

CREATE OR REPLACE VIEW activity_handoffs AS
WITH pairs AS (
    SELECT process, activity, next_activity, resource,
        lead(resource) OVER (PARTITION BY process, case_id ORDER BY pos) AS next_resource
    FROM event_log
)
SELECT process, activity AS source_activity, next_activity AS target_activity,
    count(*) AS frequency,
    count(*) FILTER (WHERE resource <> next_resource) AS n_handoffs,
    count(*) FILTER (WHERE resource <> next_resource) / count(*) AS handoff_share
FROM pairs
WHERE next_activity IS NOT NULL
GROUP BY process, activity, next_activity
ORDER BY process, n_handoffs DESC, source_activity, target_activity;

-- The event pairs behind one hand-off figure: who passed what to whom, in which case, how long after.
CREATE OR REPLACE MACRO handoff_events(p, from_resource, to_resource) AS TABLE
WITH guard AS MATERIALIZED (
    SELECT mot_check_process(p)
        AND mot_check_resource(p, from_resource) AND mot_check_resource(p, to_resource) AS ok,
        p AS g_process, from_resource AS g_from, to_resource AS g_to
)
SELECT e.process, e.case_id, e.pos AS from_pos, e.activity AS from_activity, e.ts AS from_ts,
    n.pos AS to_pos, n.activity AS to_activity, n.ts AS to_ts,
    epoch(n.ts) - epoch(e.ts) AS wait_s,
    mot_duration(epoch(n.ts) - epoch(e.ts)) AS wait
FROM event_log e
JOIN event_log n ON n.process = e.process AND n.case_id = e.case_id AND n.pos = e.pos + 1
CROSS JOIN guard
WHERE guard.ok AND e.process = guard.g_process
    AND e.resource = guard.g_from AND n.resource = guard.g_to AND guard.g_from <> guard.g_to
ORDER BY e.case_id, e.pos;
