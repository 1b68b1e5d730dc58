-- Timer-driven transitions, found in the data (docs/moments.md, "Knock-on"). For every activity
-- instance, the gap from three kinds of anchor: the previous instance of the case, the customer's
-- latest own action (a moment the effort rules mark), and the latest instance of each activity among
-- the $t_lookback instances before it (gaps from an anchor's end to the instance's time).
--   fixed_offset:   an (activity, anchor) whose gaps are, in at least $t_share of its >= $t_min_n
--                   instances, equal to their median within $t_tol seconds, that median >= $t_min_gap
--                   (shorter fixed gaps are simultaneous records, not timers);
--   calendar_batch: an activity at least $t_share of whose >= $t_min_n instances fall on a timestamp
--                   shared by >= $t_batch cases, in a log where such shared timestamps are otherwise
--                   rare (< half of the other instances: date-only logs share every timestamp).
-- An instance is flagged when its own gap matches a fixed_offset rule, or it lies on a shared batch time.
-- @section detect
-- Temporary tables from mot_inst_base only: analyse runs this section before its transaction
-- (instances.sql says why), and `store` inside it.
CREATE OR REPLACE TEMP TABLE mot_timer_inst AS
SELECT case_id, instance_pos, activity, ts, end_ts, is_moment AND coalesce(effort, false) AS customer_action
FROM mot_inst_base;

-- Window functions and an equi-join on positions, not a self-join on `j.instance_pos < i.instance_pos`:
-- that pairs every two instances of a case, quadratic in its length (a case of 200,000 events ran
-- for minutes and gigabytes here, issue 17).
CREATE OR REPLACE TEMP TABLE mot_timer_gaps AS
SELECT case_id, instance_pos, activity, '(previous instance)' AS anchor,
    epoch(ts) - epoch(lag(end_ts) OVER (PARTITION BY case_id ORDER BY instance_pos)) AS gap_s
FROM mot_timer_inst;

-- Three statements, not one UNION ALL: that held the three parts' windows and hash joins at once
-- (out of memory under 900MB on BPIC2012 x 40, issue 19); the same rows in the same order.
INSERT INTO mot_timer_gaps
-- the latest earlier customer action with an end (as arg_max, which skips NULLs): its position by a
-- running max, then its end by an equi-join (last_value IGNORE NULLS over the same frame rescans it)
SELECT i.case_id, i.instance_pos, i.activity, '(customer action)', epoch(i.ts) - epoch(j.end_ts)
FROM (
    SELECT case_id, instance_pos, activity, ts,
        max(CASE WHEN customer_action AND end_ts IS NOT NULL THEN instance_pos END) OVER earlier AS action_pos,
        count(*) FILTER (WHERE customer_action) OVER earlier AS n_actions_before
    FROM mot_timer_inst
    WINDOW earlier AS (PARTITION BY case_id ORDER BY instance_pos ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
) i
LEFT JOIN mot_timer_inst j ON j.case_id = i.case_id AND j.instance_pos = i.action_pos
WHERE i.n_actions_before > 0;

INSERT INTO mot_timer_gaps
-- the $t_lookback instances before each: an equi-join on (case, position - distance), linear in the
-- case length (the distance computed in a subquery: in the join condition, DuckDB joined on the case only).
-- Of each activity only the latest of them counts: the one whose next instance of the same activity
-- (next_pos) is not before the instance. A filter, not a GROUP BY ... arg_max(end_ts, instance_pos):
-- that hash aggregate over ~lookback rows per instance needed the memory (out of memory under 900MB
-- on BPIC2012 x 40, issue 19); same rows (end_ts = coalesce(end_ts, ts) is never NULL).
SELECT i.case_id, i.instance_pos, i.activity, j.activity, epoch(i.ts) - epoch(j.end_ts)
FROM (
    SELECT t.*, t.instance_pos - CAST(k.back AS INTEGER) AS back_pos
    FROM mot_timer_inst t
    CROSS JOIN range(1, $t_lookback + 1) AS k(back)
) i
JOIN (
    SELECT case_id, instance_pos, activity, end_ts,
        lead(instance_pos) OVER (PARTITION BY case_id, activity ORDER BY instance_pos) AS next_pos
    FROM mot_timer_inst
) j ON j.case_id = i.case_id AND j.instance_pos = i.back_pos
WHERE j.next_pos IS NULL OR j.next_pos >= i.instance_pos;

-- The (activity, anchor) pairs that can pass: at least $t_min_n gaps, and at least $t_share of them
-- in two adjacent buckets of width w = greatest(4 $t_tol, 1 s) (the gaps within $t_tol of any median
-- span at most two such buckets), so the exact median below is sought only for them. A GROUP BY on a
-- few buckets per pair, where sorting every distinct gap of every pair made the step slower on BPIC2012.
CREATE OR REPLACE TEMP TABLE mot_timer_candidates AS
WITH buckets AS (
    SELECT activity, anchor, floor(gap_s / greatest(4 * $t_tol, 1.0)) AS bucket, count(*) AS n
    FROM mot_timer_gaps
    WHERE gap_s IS NOT NULL
    GROUP BY activity, anchor, bucket
),
pairs AS (
    SELECT b.activity, b.anchor, b.n, b.n + coalesce(c.n, 0) AS n_pair
    FROM buckets b
    LEFT JOIN buckets c ON c.activity = b.activity AND c.anchor = b.anchor AND c.bucket = b.bucket + 1
)
SELECT activity, anchor
FROM pairs
GROUP BY activity, anchor
HAVING sum(n) >= $t_min_n AND max(n_pair) >= $t_share * sum(n);

-- The gaps of those pairs counted per (activity, anchor, gap): the median and the gaps within $t_tol
-- of it are read from these counts, not from the gaps. quantile_disc over mot_timer_gaps held every
-- gap of an (activity, anchor) in memory (it cannot spill: out of memory under 900MB on BPIC2012 x 40,
-- issue 20); a GROUP BY with a count spills, and the gaps of a timer repeat.
CREATE OR REPLACE TEMP TABLE mot_timer_gap_counts AS
SELECT g.activity, g.anchor, g.gap_s, count(*) AS n
FROM mot_timer_gaps g
JOIN mot_timer_candidates c ON c.activity = g.activity AND c.anchor = g.anchor
WHERE g.gap_s IS NOT NULL
GROUP BY g.activity, g.anchor, g.gap_s;

-- The median as quantile_disc(gap_s, 0.5) takes it: the ceil(n / 2)-th smallest gap, i.e. the
-- smallest gap whose running count reaches (n + 1) // 2.
CREATE OR REPLACE TEMP TABLE mot_timer_offsets AS
WITH running AS (
    SELECT activity, anchor, gap_s,
        sum(n) OVER (PARTITION BY activity, anchor ORDER BY gap_s ROWS UNBOUNDED PRECEDING) AS upto,
        sum(n) OVER (PARTITION BY activity, anchor) AS total
    FROM mot_timer_gap_counts
),
typical AS (
    SELECT activity, anchor, CAST(total AS BIGINT) AS n, min(gap_s) AS gap_s
    FROM running
    WHERE upto >= (total + 1) // 2
    GROUP BY activity, anchor, total
),
counted AS (
    SELECT t.activity, t.anchor, t.n, t.gap_s,
        CAST(coalesce(sum(g.n) FILTER (WHERE abs(g.gap_s - t.gap_s) <= $t_tol), 0) AS BIGINT) AS n_equal
    FROM typical t
    JOIN mot_timer_gap_counts g ON g.activity = t.activity AND g.anchor = t.anchor
    GROUP BY t.activity, t.anchor, t.n, t.gap_s
)
SELECT activity, anchor, 'fixed_offset' AS kind, gap_s, n, n_equal, n_equal / n AS share
FROM counted
WHERE n >= $t_min_n AND n_equal >= $t_share * n AND gap_s >= $t_min_gap;

CREATE OR REPLACE TEMP TABLE mot_timer_shared AS
SELECT i.case_id, i.instance_pos, i.activity,
    count(DISTINCT i.case_id) OVER (PARTITION BY i.activity, i.ts) >= $t_batch AS shared
FROM mot_timer_inst i;

CREATE OR REPLACE TEMP TABLE mot_timer_batches AS
WITH per_activity AS (
    SELECT activity, count(*) AS n, count(*) FILTER (WHERE shared) AS n_equal FROM mot_timer_shared GROUP BY activity
),
totals AS (
    SELECT sum(n) AS n, sum(n_equal) AS n_equal FROM per_activity
)
SELECT a.activity, '(calendar)' AS anchor, 'calendar_batch' AS kind, CAST(NULL AS DOUBLE) AS gap_s,
    a.n, a.n_equal, a.n_equal / a.n AS share
FROM per_activity a, totals t
WHERE a.n >= $t_min_n AND a.n_equal >= $t_share * a.n
    AND (t.n_equal - a.n_equal) < 0.5 * nullif(t.n - a.n, 0);

-- The instances whose wait is set by a timer, with the first rule (by anchor name) that flags them.
CREATE OR REPLACE TEMP TABLE mot_timer_flags AS
SELECT case_id, instance_pos, true AS timer, min(rule) AS timer_rule
FROM (
    SELECT g.case_id, g.instance_pos,
        CASE WHEN o.gap_s % 86400 = 0 THEN printf('%s + %g d', o.anchor, o.gap_s / 86400)
             ELSE printf('%s + %g h', o.anchor, round(o.gap_s / 3600, 2)) END AS rule
    FROM mot_timer_gaps g
    JOIN mot_timer_offsets o ON o.activity = g.activity AND o.anchor = g.anchor AND abs(g.gap_s - o.gap_s) <= $t_tol
    UNION ALL
    SELECT s.case_id, s.instance_pos, '(calendar batch)'
    FROM mot_timer_shared s
    JOIN mot_timer_batches b USING (activity)
    WHERE s.shared
)
GROUP BY case_id, instance_pos;

-- The gaps are not needed after this (only mot_timer_flags is read on): their tables (tens of
-- millions of rows on BPIC2012 x 40) would otherwise hold memory through the steps that follow.
DROP TABLE mot_timer_gap_counts;
DROP TABLE mot_timer_candidates;
DROP TABLE mot_timer_gaps;
DROP TABLE mot_timer_shared;
DROP TABLE mot_timer_inst;

-- @section store
DELETE FROM mot_timers WHERE process = $process;

INSERT INTO mot_timers BY NAME
SELECT $process AS process, activity, anchor, kind, mot_figure(gap_s) AS gap_s, n, n_equal, mot_figure(share) AS share
FROM (SELECT * FROM mot_timer_offsets UNION ALL SELECT * FROM mot_timer_batches)
ORDER BY activity, anchor;
