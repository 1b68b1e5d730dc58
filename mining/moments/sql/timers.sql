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
-- Temporary tables from mot_inst_base only: analyse runs this section, `inst` and `lookback` (per
-- range of cases), `gaps`, `rules`, `slices`, `shared` (per slice of times) and `flags` before its
-- transaction (instances.sql says why), and `store` inside it.
-- Integers in place of strings: every activity and the two anchors that are no activity get the id of
-- their name (mot_timer_names: equal names, equal ids, so the pairs group exactly as their names
-- would), every case a number cid (mot_timer_cases), and every instance iid = cid * 2^32 + instance_pos,
-- so that the instance k places before another is the one of iid - k. The gaps, tens of millions of
-- rows at 10.5 M events, are then numbers only, and names come back on the few rows that pass.
CREATE OR REPLACE TEMP TABLE mot_timer_names AS
SELECT name, CAST(row_number() OVER (ORDER BY name) AS INTEGER) AS id
FROM (
    SELECT DISTINCT activity AS name FROM mot_inst_base
    UNION
    SELECT unnest(['(previous instance)', '(customer action)'])
);

CREATE OR REPLACE TEMP TABLE mot_timer_cases AS
SELECT case_id, CAST(row_number() OVER (ORDER BY case_id) AS BIGINT) AS cid
FROM mot_inst_base
WHERE instance_pos = 1;

-- One narrow row per instance, with what the gaps read from the instances before it, by window
-- functions (not a self-join on `j.instance_pos < i.instance_pos`: that pairs every two instances of
-- a case, quadratic in its length; a case of 200,000 events ran for minutes and gigabytes, issue 17):
--   prev_end_s        the end of the previous instance;
--   action_end_s      the end of the latest earlier customer action that has an end (last_value
--                     IGNORE NULLS over the earlier instances: no self-join, whose hash table ran
--                     out of memory at 10.5 M events under a 250MB limit, issue 20);
--   n_actions_before  the earlier customer actions;
--   next_pos          the next instance of the same activity (for the look-back below).
-- Times as epoch seconds (the same doubles epoch() gives where a gap is computed).
-- @section inst
-- For the cases [$lo, $hi) (NULL = open end), the later ranges appending: the windows are per case,
-- and over all 66 M instances of 100 M events they sorted and spilled everything at once (issue 20).
CREATE OR REPLACE TEMP TABLE mot_timer_inst AS
SELECT *,
    lag(end_s) OVER (PARTITION BY cid ORDER BY instance_pos) AS prev_end_s,
    last_value(CASE WHEN customer_action THEN end_s END IGNORE NULLS) OVER earlier AS action_end_s,
    count(*) FILTER (WHERE customer_action) OVER earlier AS n_actions_before,
    lead(instance_pos) OVER (PARTITION BY cid, act ORDER BY instance_pos) AS next_pos
FROM (
    SELECT c.cid, b.instance_pos, c.cid * 4294967296 + b.instance_pos AS iid, n.id AS act, b.ts,
        epoch(b.ts) AS ts_s, epoch(b.end_ts) AS end_s, b.is_moment AND coalesce(b.effort, false) AS customer_action
    FROM mot_inst_base b
    JOIN mot_timer_cases c ON c.case_id = b.case_id
    JOIN mot_timer_names n ON n.name = b.activity
    WHERE ($lo IS NULL OR b.case_id >= $lo) AND ($hi IS NULL OR b.case_id < $hi)
)
WINDOW earlier AS (PARTITION BY cid ORDER BY instance_pos ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING);

-- @section gaps
-- The gaps (instance iid of activity act, anchor, gap_s): from the previous instance of the case,
-- from the customer's latest earlier action (instances after at least one), and from the latest
-- instance of each activity among the $t_lookback instances before it.
CREATE OR REPLACE TEMP TABLE mot_timer_gaps AS
SELECT iid, act, (SELECT id FROM mot_timer_names WHERE name = '(previous instance)') AS anchor,
    ts_s - prev_end_s AS gap_s
FROM mot_timer_inst;

-- Three statements, not one UNION ALL: that held the three parts' hash joins at once (out of memory
-- under 900MB on BPIC2012 x 40, issue 19); the same rows.
INSERT INTO mot_timer_gaps
SELECT iid, act, (SELECT id FROM mot_timer_names WHERE name = '(customer action)'), ts_s - action_end_s
FROM mot_timer_inst
WHERE n_actions_before > 0;

-- @section lookback
-- One range of cases [$lo, $hi) (NULL = open end) a statement: analyse runs it for each range.
-- The $t_lookback instances before each, of each activity only the latest: instance j is the anchor
-- of instance i of its case when j is among the $t_lookback instances before i and j's activity
-- does not occur again before i (next_pos: its next instance, which takes over from there; the
-- next instance itself still reads j). The instances before each are gathered by a window over
-- the case (a list over the preceding rows), not by a join on instance ids: that join's hash table
-- ran out of memory at 10.5 M events under a 250MB limit (issue 20), where a window only sorts,
-- which spills. Not a GROUP BY ... arg_max(end_ts, instance_pos) over the
-- look-back pairs either: that hash aggregate needed the memory (issue 19). The same rows.
INSERT INTO mot_timer_gaps
SELECT iid, act, anchor.act, ts_s - anchor.end_s
FROM (
    SELECT iid, act, ts_s, instance_pos, unnest(before) AS anchor
    FROM (
        SELECT iid, act, ts_s, instance_pos,
            list({'act': act, 'end_s': end_s, 'next_pos': next_pos}) OVER (
                PARTITION BY cid ORDER BY instance_pos ROWS BETWEEN $t_lookback PRECEDING AND 1 PRECEDING
            ) AS before
        FROM mot_timer_inst
        WHERE ($lo IS NULL OR cid >= (SELECT min(cid) FROM mot_timer_cases WHERE case_id >= $lo))
            AND ($hi IS NULL OR cid < (SELECT min(cid) FROM mot_timer_cases WHERE case_id >= $hi))
    )
)
WHERE anchor.next_pos IS NULL OR instance_pos <= anchor.next_pos;

-- @section rules
-- The (activity, anchor) pairs that can pass: at least $t_min_n gaps, and at least $t_share of them
-- in two adjacent buckets of width w = greatest(4 $t_tol, 1 s) (the gaps within $t_tol of any median
-- span at most two such buckets), so the exact median below is sought only for them. A GROUP BY on a
-- few buckets per pair, where sorting every distinct gap of every pair made the step slower on BPIC2012.
CREATE OR REPLACE TEMP TABLE mot_timer_candidates AS
WITH buckets AS (
    SELECT act, anchor, floor(gap_s / greatest(4 * $t_tol, 1.0)) AS bucket, count(*) AS n
    FROM mot_timer_gaps
    WHERE gap_s IS NOT NULL
    GROUP BY act, anchor, bucket
),
pairs AS (
    SELECT b.act, b.anchor, b.n, b.n + coalesce(c.n, 0) AS n_pair
    FROM buckets b
    LEFT JOIN buckets c ON c.act = b.act AND c.anchor = b.anchor AND c.bucket = b.bucket + 1
)
SELECT act, anchor
FROM pairs
GROUP BY act, anchor
HAVING sum(n) >= $t_min_n AND max(n_pair) >= $t_share * sum(n);

-- The gaps of those pairs counted per (activity, anchor, gap): the median and the gaps within $t_tol
-- of it are read from these counts, not from the gaps. quantile_disc over mot_timer_gaps held every
-- gap of an (activity, anchor) in memory (it cannot spill: out of memory under 900MB on BPIC2012 x 40,
-- issue 20); a GROUP BY with a count spills, and the gaps of a timer repeat.
CREATE OR REPLACE TEMP TABLE mot_timer_gap_counts AS
SELECT g.act, g.anchor, g.gap_s, count(*) AS n
FROM mot_timer_gaps g
JOIN mot_timer_candidates c ON c.act = g.act AND c.anchor = g.anchor
WHERE g.gap_s IS NOT NULL
GROUP BY g.act, g.anchor, g.gap_s;

-- The median as quantile_disc(gap_s, 0.5) takes it: the ceil(n / 2)-th smallest gap, i.e. the
-- smallest gap whose running count reaches (n + 1) // 2. Names back on the rules that pass.
CREATE OR REPLACE TEMP TABLE mot_timer_offsets AS
WITH running AS (
    SELECT act, anchor, gap_s,
        sum(n) OVER (PARTITION BY act, anchor ORDER BY gap_s ROWS UNBOUNDED PRECEDING) AS upto,
        sum(n) OVER (PARTITION BY act, anchor) AS total
    FROM mot_timer_gap_counts
),
typical AS (
    SELECT act, anchor, CAST(total AS BIGINT) AS n, min(gap_s) AS gap_s
    FROM running
    WHERE upto >= (total + 1) // 2
    GROUP BY act, anchor, total
),
counted AS (
    SELECT t.act, t.anchor, t.n, t.gap_s,
        CAST(coalesce(sum(g.n) FILTER (WHERE abs(g.gap_s - t.gap_s) <= $t_tol), 0) AS BIGINT) AS n_equal
    FROM typical t
    JOIN mot_timer_gap_counts g ON g.act = t.act AND g.anchor = t.anchor
    GROUP BY t.act, t.anchor, t.n, t.gap_s
)
SELECT a.name AS activity, o.name AS anchor, 'fixed_offset' AS kind, c.gap_s, c.n, c.n_equal,
    c.n_equal / c.n AS share, c.act, c.anchor AS anchor_id
FROM counted c
JOIN mot_timer_names a ON a.id = c.act
JOIN mot_timer_names o ON o.id = c.anchor
WHERE c.n >= $t_min_n AND c.n_equal >= $t_share * c.n AND c.gap_s >= $t_min_gap;

-- @section slices
-- The (activity, time)s shared by >= $t_batch cases are counted in $slices slices of (activity,
-- time)s, those with hash(act, ts) % $slices = $slice each: over every instance at once, the GROUP BY
-- holds a group per distinct time (about one per instance), and at 100 M events it ran out of
-- DuckDB's 2.5 GB growing one hash table by 256 MiB (issue 20). The instances are written once in
-- slice order, so that a slice reads its own row groups only (a slice that filtered every instance
-- by its hash took 19 s at 100 M events, 33 times over).
CREATE OR REPLACE TEMP TABLE mot_timer_times AS
SELECT CAST(hash(act, ts) % $slices AS INTEGER) AS slice, act, ts, cid
FROM mot_timer_inst
ORDER BY slice;

-- @section shared
-- One slice a run: analyse runs it for each, the first creating the table and the others appending
-- to it. Distinct cases are counted only where there are $t_batch instances at all (not a
-- count(DISTINCT) window over every instance).
CREATE OR REPLACE TEMP TABLE mot_timer_shared AS
WITH sliced AS (
    SELECT act, ts, cid FROM mot_timer_times WHERE slice = $slice
),
crowded AS (
    SELECT act, ts FROM sliced GROUP BY act, ts HAVING count(*) >= $t_batch
)
SELECT i.act, i.ts, count(*) AS n
FROM sliced i
JOIN crowded c ON c.act = i.act AND c.ts = i.ts
GROUP BY i.act, i.ts
HAVING count(DISTINCT i.cid) >= $t_batch;
-- @section flags
CREATE OR REPLACE TEMP TABLE mot_timer_batches AS
WITH per_activity AS (
    SELECT i.act, i.n, CAST(coalesce(s.n_equal, 0) AS BIGINT) AS n_equal
    FROM (SELECT act, count(*) AS n FROM mot_timer_inst GROUP BY act) i
    LEFT JOIN (SELECT act, sum(n) AS n_equal FROM mot_timer_shared GROUP BY act) s ON s.act = i.act
),
totals AS (
    SELECT sum(n) AS n, sum(n_equal) AS n_equal FROM per_activity
)
SELECT x.name AS activity, '(calendar)' AS anchor, 'calendar_batch' AS kind, CAST(NULL AS DOUBLE) AS gap_s,
    a.n, a.n_equal, a.n_equal / a.n AS share, a.act
FROM per_activity a
CROSS JOIN totals t
JOIN mot_timer_names x ON x.id = a.act
WHERE a.n >= $t_min_n AND a.n_equal >= $t_share * a.n
    AND (t.n_equal - a.n_equal) < 0.5 * nullif(t.n - a.n, 0);

-- The instances whose wait is set by a timer, with the first rule (by anchor name) that flags them.
CREATE OR REPLACE TEMP TABLE mot_timer_flags AS
SELECT c.case_id, CAST(f.iid % 4294967296 AS INTEGER) AS instance_pos, true AS timer, f.timer_rule
FROM (
    SELECT iid, min(rule) AS timer_rule
    FROM (
        SELECT g.iid,
            CASE WHEN o.gap_s % 86400 = 0 THEN printf('%s + %g d', o.anchor, o.gap_s / 86400)
                 ELSE printf('%s + %g h', o.anchor, round(o.gap_s / 3600, 2)) END AS rule
        FROM mot_timer_gaps g
        JOIN mot_timer_offsets o ON o.act = g.act AND o.anchor_id = g.anchor AND abs(g.gap_s - o.gap_s) <= $t_tol
        UNION ALL
        SELECT i.iid, '(calendar batch)'
        FROM mot_timer_inst i
        JOIN mot_timer_batches b ON b.act = i.act
        JOIN mot_timer_shared s ON s.act = i.act AND s.ts = i.ts
    )
    GROUP BY iid
) f
JOIN mot_timer_cases c ON c.cid = f.iid // 4294967296;

-- The gaps are not needed after this (only mot_timer_flags is read on): their tables (tens of
-- millions of rows on BPIC2012 x 40) would otherwise hold memory through the steps that follow.
DROP TABLE mot_timer_gap_counts;
DROP TABLE mot_timer_candidates;
DROP TABLE mot_timer_gaps;
DROP TABLE mot_timer_shared;
DROP TABLE mot_timer_times;
DROP TABLE mot_timer_inst;
DROP TABLE mot_timer_cases;
DROP TABLE mot_timer_names;

-- @section store
DELETE FROM mot_timers WHERE process = $process;

INSERT INTO mot_timers BY NAME
SELECT $process AS process, activity, anchor, kind, mot_figure(gap_s) AS gap_s, n, n_equal, mot_figure(share) AS share
FROM (
    SELECT activity, anchor, kind, gap_s, n, n_equal, share FROM mot_timer_offsets
    UNION ALL
    SELECT activity, anchor, kind, gap_s, n, n_equal, share FROM mot_timer_batches
)
ORDER BY activity, anchor;
