-- Question: Which activities are done more than once in a case (rework), how much extra work is
--           that, how much of it is an immediate repeat or a ping-pong (A > B > A), and which
--           cases are behind it?
-- Gives: view rework, macro rework_cases(process, activity, min_executions := 2)
-- Example:
--   SELECT activity, n_cases, n_rework_cases, rework_case_share, extra_executions, self_loops, ping_pongs
--   FROM rework WHERE process = mot_process() LIMIT 5;
--   FROM rework_cases(mot_process(), (SELECT activity FROM rework WHERE process = mot_process() LIMIT 1), min_executions := 2)
--   LIMIT 5;
--
-- extra_executions = executions beyond the first in each case; self_loops = A directly followed
-- by A; ping_pongs = A > B > A with B different from A (counted at the second A).

CREATE OR REPLACE VIEW rework AS
WITH per_case AS (
    SELECT process, case_id, activity, count(*) AS executions
    FROM event_log
    GROUP BY process, case_id, activity
),
loops AS (
    SELECT process, activity,
        count(*) FILTER (WHERE prev_activity = activity) AS self_loops,
        count(*) FILTER (WHERE prev_activity <> activity AND prev_prev = activity) AS ping_pongs
    FROM (
        SELECT process, activity, prev_activity,
            lag(activity, 2) OVER (PARTITION BY process, case_id ORDER BY pos) AS prev_prev
        FROM event_log
    )
    GROUP BY process, activity
)
SELECT p.process, p.activity,
    count(*) AS n_cases,
    count(*) FILTER (WHERE p.executions > 1) AS n_rework_cases,
    count(*) FILTER (WHERE p.executions > 1) / count(*) AS rework_case_share,
    sum(p.executions) AS executions,
    sum(p.executions - 1) AS extra_executions,
    max(p.executions) AS max_executions,
    any_value(l.self_loops) AS self_loops,
    any_value(l.ping_pongs) AS ping_pongs
FROM per_case p
JOIN loops l USING (process, activity)
GROUP BY p.process, p.activity
ORDER BY p.process, extra_executions DESC, p.activity;

-- The cases that do an activity at least `min_executions` times, most repeats first.
CREATE OR REPLACE MACRO rework_cases(p, act, min_executions := 2) AS TABLE
WITH guard AS MATERIALIZED (
    SELECT mot_check_process(p) AND mot_check_activity(p, act)
        AND mot_require(mot_is_whole(min_executions) AND TRY_CAST(min_executions AS DOUBLE) >= 1,
            'min_executions must be a whole number of at least 1, got '
            || coalesce(CAST(min_executions AS VARCHAR), 'NULL')) AS ok,
        p AS g_process, act AS g_activity, TRY_CAST(min_executions AS DOUBLE) AS g_min
)
SELECT e.process, e.case_id,
    count(*) AS executions,
    list(e.pos ORDER BY e.pos) AS positions,
    min(e.ts) AS first_at,
    max(e.ts) AS last_at,
    any_value(c.n_events) AS case_events,
    mot_duration(any_value(c.duration_s)) AS case_duration
FROM event_log e
JOIN cases c USING (process, case_id)
CROSS JOIN guard
WHERE guard.ok AND e.process = guard.g_process AND e.activity = guard.g_activity
GROUP BY e.process, e.case_id
HAVING count(*) >= any_value(guard.g_min)
ORDER BY executions DESC, e.case_id;
