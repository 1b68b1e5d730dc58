-- Question: Which processes does this warehouse hold, how big are they, which activities do they
--           have (how often, in how many cases, how often first or last), and what happened in
--           one particular case?
-- Gives: view processes, view activities, macro case_events(process, case_id)
-- Example:
--   FROM processes;
--   FROM activities WHERE process = mot_process() ORDER BY frequency DESC;
--   FROM case_events(mot_process(), (SELECT min(case_id) FROM cases WHERE process = mot_process()));

CREATE OR REPLACE VIEW processes AS
SELECT c.process,
    count(*) AS n_cases,
    sum(c.n_events) AS n_events,
    (SELECT count(*) FROM activity_stats a WHERE a.process = c.process) AS n_activities,
    count(DISTINCT c.variant_id) AS n_variants,
    min(c.start_ts) AS first_event_at,
    max(c.end_ts) AS last_event_at,
    mot_duration(median(c.duration_s)) AS median_case_duration
FROM cases c
GROUP BY c.process
ORDER BY c.process;

-- Counted from event_log itself (not copied from activity_stats) so that the start and end
-- counts can be checked against pm4py.
CREATE OR REPLACE VIEW activities AS
SELECT process, activity,
    count(*) AS frequency,
    count(DISTINCT case_id) AS n_cases,
    count(DISTINCT case_id) / any_value(p.n_cases) AS case_share,
    count(*) FILTER (WHERE pos = 1) AS n_start,
    count(*) FILTER (WHERE next_activity IS NULL) AS n_end,
    count(DISTINCT resource) AS n_resources,
    mot_duration(median(epoch(ts) - epoch(prev_ts))) AS median_wait_before
FROM event_log
JOIN (SELECT process, count(*) AS n_cases FROM cases GROUP BY process) p USING (process)
GROUP BY process, activity
ORDER BY process, frequency DESC, activity;

-- The events of one case in order, with the wait since the previous event.
CREATE OR REPLACE MACRO case_events(p, c) AS TABLE
WITH guard AS MATERIALIZED (
    SELECT mot_check_process(p) AND mot_check_case(p, c) AS ok,
        p AS g_process, CAST(c AS VARCHAR) AS g_case
)
SELECT e.process, e.case_id, e.pos, e.ts, e.activity, e.resource, e.lifecycle,
    epoch(e.ts) - epoch(e.prev_ts) AS wait_s,
    mot_duration(epoch(e.ts) - epoch(e.prev_ts)) AS wait,
    e.event_key, e.attrs
FROM event_log e, guard
WHERE guard.ok AND e.process = guard.g_process AND e.case_id = guard.g_case
ORDER BY e.pos;
