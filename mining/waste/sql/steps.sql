-- The step log of one process ($process): one row per activity instance, in case order.
-- An instance is a terminal event (complete, or any lifecycle other than schedule / assign /
-- reassign / start / resume / suspend) together with the open events of the same activity in the
-- case since its previous terminal event; so SCHEDULE -> START -> COMPLETE is one step with a
-- queue time and a processing time. Activities that never have a terminal event (scheduled, never
-- done) count each event as an instance. Without lifecycles every event is an instance.
CREATE OR REPLACE TEMP TABLE waste_steps AS
WITH ev AS (
    SELECT case_id, pos, activity, ts, resource, lower(coalesce(lifecycle, 'complete')) AS lc
    FROM event_log
    WHERE process = $process
),
atomic_acts AS (
    SELECT activity
    FROM ev
    GROUP BY activity
    HAVING bool_and(lc IN ('schedule', 'assign', 'reassign', 'start', 'resume', 'suspend'))
),
kinds AS (
    SELECT ev.*,
        lc NOT IN ('schedule', 'assign', 'reassign', 'start', 'resume', 'suspend')
            OR activity IN (SELECT activity FROM atomic_acts) AS closes
    FROM ev
),
grouped AS (
    -- events of an activity in a case up to and including its next terminal event form one instance
    SELECT kinds.*,
        coalesce(sum(CAST(closes AS INTEGER)) OVER (
            PARTITION BY case_id, activity ORDER BY pos
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS inst
    FROM kinds
),
instances AS (
    SELECT case_id, activity,
        max(pos) FILTER (WHERE closes) AS end_pos,
        max(ts) FILTER (WHERE closes) AS ts,
        min(ts) AS first_ts,
        -- the last START before the terminal event: resumed work is timed from its last start
        max(ts) FILTER (WHERE lc = 'start') AS start_ts,
        coalesce(arg_max(resource, pos) FILTER (WHERE closes AND resource IS NOT NULL),
                 arg_max(resource, pos) FILTER (WHERE resource IS NOT NULL)) AS resource
    FROM grouped
    GROUP BY case_id, activity, inst
    HAVING bool_or(closes)
),
ordered AS (
    SELECT *,
        CAST(row_number() OVER (PARTITION BY case_id ORDER BY end_pos) AS INTEGER) AS seq
    FROM instances
),
firsts AS (
    SELECT *, min(seq) OVER (PARTITION BY case_id, activity) AS first_seq
    FROM ordered
)
SELECT case_id, seq, activity, ts, first_ts, start_ts, resource, first_seq,
    CAST(row_number() OVER (PARTITION BY case_id, activity ORDER BY seq) AS INTEGER) AS occurrence,
    lag(activity) OVER w AS prev_activity,
    lag(ts) OVER w AS prev_ts,
    lag(resource) OVER w AS prev_resource,
    lag(first_seq) OVER w AS prev_first_seq,
    lag(activity, 2) OVER w AS prev2_activity,
    lag(resource, 2) OVER w AS prev2_resource,
    lead(activity) OVER w AS next_activity,
    lead(ts) OVER w AS next_ts,
    CASE WHEN start_ts IS NOT NULL THEN epoch(ts) - epoch(start_ts) END AS proc_s,
    -- waiting: from the previous step's end to this step's start (its end when it has no start)
    greatest(0, epoch(coalesce(start_ts, ts)) - epoch(lag(ts) OVER w)) AS wait_s
FROM firsts
WINDOW w AS (PARTITION BY case_id ORDER BY seq)
ORDER BY case_id, seq;

-- Cases on the step log: span, instance-level variant, outcome (waste_outcomes, made before).
CREATE OR REPLACE TEMP TABLE waste_cases AS
SELECT s.case_id,
    min(s.first_ts) AS start_ts,
    max(s.ts) AS end_ts,
    epoch(max(s.ts)) - epoch(min(s.first_ts)) AS duration_s,
    md5(string_agg(s.activity, chr(31) ORDER BY s.seq)) AS variant,
    count(*) AS n_steps,
    any_value(o.outcome) AS outcome
FROM waste_steps s
LEFT JOIN waste_outcomes o USING (case_id)
GROUP BY s.case_id
ORDER BY s.case_id;
