-- @section handoff
-- The step log of one process: the raw step log (waste_raw, raw_steps.sql) with every activity
-- replaced by its functional step (waste_units: alternatives share one name; the two halves of a
-- hand-off pair become one step, from the first one's start to the second one's end).
-- Both forms run per range of cases [$lo, $hi) (NULL = open end), the later ranges appending, as
-- waste_raw is made (raw_steps.sql says why): every window here is per case.
-- (This general form runs when a hand-off pair exists; without one, the plain form below.)
CREATE OR REPLACE TEMP TABLE waste_steps AS
WITH named AS (
    SELECT r.*, coalesce(u.unit, r.activity) AS unit, u.kind, u.member_pos, f.activity AS first_member
    FROM waste_raw r
    LEFT JOIN waste_units u USING (activity)
    LEFT JOIN waste_units f ON f.unit = u.unit AND f.member_pos = 1
    WHERE ($lo IS NULL OR r.case_id >= $lo) AND ($hi IS NULL OR r.case_id < $hi)
),
flagged AS (
    SELECT *,
        -- the second half of a hand-off pair right after its first half joins that step
        coalesce(kind = 'hand-off' AND member_pos = 2 AND prev_activity = first_member, false) AS joins_prev
    FROM named
),
grouped AS (
    SELECT *, sum(CASE WHEN joins_prev THEN 0 ELSE 1 END) OVER (PARTITION BY case_id ORDER BY seq) AS grp
    FROM flagged
),
steps AS (
    SELECT case_id, grp,
        any_value(unit) AS activity,
        max(ts) AS ts,
        min(first_ts) AS first_ts,
        arg_min(start_ts, seq) AS start_ts,
        arg_min(resource, seq) AS resource,
        CASE WHEN count(proc_s) = count(*) THEN sum(proc_s) END AS proc_s,
        arg_min(wait_s, seq) AS wait_s,
        min(seq) AS raw_seq
    FROM grouped
    GROUP BY case_id, grp
),
ordered AS (
    SELECT * EXCLUDE (grp, raw_seq),
        CAST(row_number() OVER (PARTITION BY case_id ORDER BY raw_seq) AS INTEGER) AS seq
    FROM steps
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
    proc_s,
    wait_s
FROM firsts
WINDOW w AS (PARTITION BY case_id ORDER BY seq);

-- @section plain
-- The same step log when no hand-off pair joins two instances (waste_units holds no hand-off
-- unit): every instance is a step of its own, so the grouping above is the identity and is left
-- out. Two window sorts instead of five and a GROUP BY: first_seq and occurrence share one (the
-- running min of the position in position order is the partition's min), the renumbering and every
-- lag/lead the other (the case's order). first_seq and prev_first_seq are raw positions here
-- (waste_raw.seq, the instance_pos of the prepare step, 1..n in each case, so the same numbers as
-- seq); they only take part in comparisons, which the renumbering keeps.
CREATE OR REPLACE TEMP TABLE waste_steps AS
WITH named AS (
    SELECT r.case_id, r.seq AS raw_seq, coalesce(u.unit, r.activity) AS activity,
        r.ts, r.first_ts, r.start_ts, r.resource, r.proc_s, r.wait_s
    FROM waste_raw r
    LEFT JOIN waste_units u USING (activity)
    WHERE ($lo IS NULL OR r.case_id >= $lo) AND ($hi IS NULL OR r.case_id < $hi)
),
firsts AS (
    SELECT *,
        min(raw_seq) OVER a AS first_seq,
        CAST(row_number() OVER a AS INTEGER) AS occurrence
    FROM named
    WINDOW a AS (PARTITION BY case_id, activity ORDER BY raw_seq)
)
SELECT case_id, CAST(row_number() OVER w AS INTEGER) AS seq, activity, ts, first_ts, start_ts, resource,
    first_seq, occurrence,
    lag(activity) OVER w AS prev_activity,
    lag(ts) OVER w AS prev_ts,
    lag(resource) OVER w AS prev_resource,
    lag(first_seq) OVER w AS prev_first_seq,
    lag(activity, 2) OVER w AS prev2_activity,
    lag(resource, 2) OVER w AS prev2_resource,
    lead(activity) OVER w AS next_activity,
    lead(ts) OVER w AS next_ts,
    proc_s, wait_s
FROM firsts
WINDOW w AS (PARTITION BY case_id ORDER BY raw_seq);
-- (Not sorted within a range: the window leaves each case's steps together and in order, and every
-- reader groups or orders them itself.)

-- @section cases
-- Cases on the step log: span, step-level variant, outcome (waste_outcomes, made before), for the
-- cases [$lo, $hi) (NULL = open end): the ordered string_agg cannot spill, so mining.waste.analysis
-- runs this per range of cases, the later ranges appending (at BPIC2012 x40 under 250MB the one
-- pass ran out of memory; issue 20).
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
WHERE ($lo IS NULL OR s.case_id >= $lo) AND ($hi IS NULL OR s.case_id < $hi)
GROUP BY s.case_id
ORDER BY s.case_id;

-- @section free
-- The raw step log is read by nothing after this: free its memory for the analysis (issue 20).
DROP TABLE waste_raw;
