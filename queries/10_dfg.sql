-- Question: Which activity directly follows which, how often and in how many cases, and how long
--           does it take to get from one to the next (mean, median, 90th percentile)? Which cases
--           and events are behind one arrow?
-- Gives: view dfg, view dfg_endpoints, macro edge_cases(process, source_activity, target_activity),
--        macro edge_events(process, source_activity, target_activity)
-- Example:
--   SELECT source_activity, target_activity, frequency, n_cases, median_wait, p90_wait
--   FROM dfg WHERE process = mot_process() ORDER BY frequency DESC LIMIT 10;
--   FROM edge_cases(mot_process(), mot_arc(mot_process(), 2).source, mot_arc(mot_process(), 2).target) LIMIT 5;
--   FROM edge_events(mot_process(), mot_arc(mot_process(), 2).source, mot_arc(mot_process(), 2).target) LIMIT 5;
--
-- Counted from event_log (events ordered by time, then source order, as pm4py orders them), so
-- the frequencies equal pm4py.discover_dfg on the same log; tests/test_queries_bpic.py checks it.
-- dfg_endpoints holds pm4py's start and end activities.

CREATE OR REPLACE VIEW dfg AS
WITH steps AS (
    SELECT process, case_id, activity, next_activity, epoch(next_ts) - epoch(ts) AS wait_s
    FROM event_log
    WHERE next_activity IS NOT NULL
)
SELECT process, activity AS source_activity, next_activity AS target_activity,
    count(*) AS frequency,
    count(DISTINCT case_id) AS n_cases,
    count(*) / sum(count(*)) OVER (PARTITION BY process, activity) AS share_of_source,
    avg(wait_s) AS mean_s,
    median(wait_s) AS median_s,
    quantile_cont(wait_s, 0.9) AS p90_s,
    min(wait_s) AS min_s,
    max(wait_s) AS max_s,
    mot_duration(median(wait_s)) AS median_wait,
    mot_duration(quantile_cont(wait_s, 0.9)) AS p90_wait
FROM steps
GROUP BY process, activity, next_activity
ORDER BY process, frequency DESC, source_activity, target_activity;

CREATE OR REPLACE VIEW dfg_endpoints AS
SELECT process, 'start' AS endpoint, activity, count(*) AS n_cases
FROM event_log WHERE pos = 1
GROUP BY process, activity
UNION ALL
SELECT process, 'end' AS endpoint, activity, count(*) AS n_cases
FROM event_log WHERE next_activity IS NULL
GROUP BY process, activity
ORDER BY process, endpoint DESC, n_cases DESC, activity;

-- The cases behind one arrow: how often the step happens in each, and how long it took.
CREATE OR REPLACE MACRO edge_cases(p, source_activity, target_activity) AS TABLE
WITH guard AS MATERIALIZED (
    SELECT mot_check_process(p)
        AND mot_check_activity(p, source_activity)
        AND mot_check_activity(p, target_activity) AS ok,
        p AS g_process, source_activity AS g_source, target_activity AS g_target
)
SELECT e.process, e.case_id,
    count(*) AS n_times,
    min(e.ts) AS first_at,
    sum(epoch(e.next_ts) - epoch(e.ts)) AS total_wait_s,
    mot_duration(sum(epoch(e.next_ts) - epoch(e.ts))) AS total_wait,
    any_value(c.n_events) AS case_events,
    mot_duration(any_value(c.duration_s)) AS case_duration
FROM event_log e
JOIN cases c USING (process, case_id)
CROSS JOIN guard
WHERE guard.ok AND e.process = guard.g_process
    AND e.activity = guard.g_source AND e.next_activity = guard.g_target
GROUP BY e.process, e.case_id
ORDER BY n_times DESC, total_wait_s DESC, e.case_id;

-- The event pairs behind one arrow: each occurrence with both events and the wait between them.
CREATE OR REPLACE MACRO edge_events(p, source_activity, target_activity) AS TABLE
WITH guard AS MATERIALIZED (
    SELECT mot_check_process(p)
        AND mot_check_activity(p, source_activity)
        AND mot_check_activity(p, target_activity) AS ok,
        p AS g_process, source_activity AS g_source, target_activity AS g_target
)
SELECT e.process, e.case_id, e.pos AS source_pos, e.ts AS source_ts, e.resource AS source_resource,
    n.pos AS target_pos, n.ts AS target_ts, n.resource AS target_resource,
    epoch(n.ts) - epoch(e.ts) AS wait_s,
    mot_duration(epoch(n.ts) - epoch(e.ts)) AS wait,
    e.event_key AS source_event_key, n.event_key AS target_event_key
FROM event_log e
JOIN event_log n ON n.process = e.process AND n.case_id = e.case_id AND n.pos = e.pos + 1
CROSS JOIN guard
WHERE guard.ok AND e.process = guard.g_process
    AND e.activity = guard.g_source AND e.next_activity = guard.g_target
ORDER BY e.case_id, e.pos;
