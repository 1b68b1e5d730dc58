-- What-if removal over the step log (waste_steps, waste_cases from steps.sql; waste_mot). One
-- scenario per row of waste_scenarios(activity, scope):
--   scope 'all'      removes every instance of the activity;
--   scope 'repeats'  keeps its first instance and removes the redo cycles: from its second instance
--                    to the end of its last cycle (the last instance, then the steps right after it
--                    whose activities also ran between the first and the second instance).
-- Parameters: min_comparison_cases, anchor_share, months (NULL for a log shorter than a month), z.
--
-- Time saved is measured on a bracket around the removed steps: an anchor step before them and an
-- anchor step after them that (nearly) every affected case has and that comparison cases (without
-- the activity; for 'repeats', with exactly one instance) have too. The delay the removed steps add
-- is the mean bracket time of the affected cases less that of the comparison cases with the same
-- outcome (0 when not longer). Comparing whole brackets, not the two steps around each removed instance, keeps a step
-- that only falls into long gaps (a call made while the case waits anyway) from being credited
-- with the gap. Without anchors, or in an affected case without both anchors, only the measured
-- processing time of the removed steps is saved (0 when the log has no start events). A removed
-- step at the start or end of a case is not credited with the span it covered.
--
-- Each intermediate table is dropped after the last statement that reads it: temp tables live in
-- memory, and holding all of them to the end raised the step's peak memory (issue 20).
-- mining.waste.analysis runs the sections in order, `occ`, `controls`, `leads`, `bracket_start`,
-- `after_counts`, `lags`, `brackets` and `savings` once per range of cases [$lo, $hi) (NULL = open
-- end), the later ranges appending: what they build is per case (or a
-- count over cases, added up after), and a range's joins and aggregates stay in memory where one
-- pass over 100 M steps spilled or ran out of it (BPIC2012 x400; issue 20).

-- @section variants
-- Removal depends only on the activity sequence, so it is projected once per variant.
CREATE OR REPLACE TEMP TABLE waste_variants AS
WITH reps AS (
    SELECT variant, min(case_id) AS rep, count(*) AS n_cases FROM waste_cases GROUP BY variant
)
SELECT r.variant, r.n_cases, list(s.activity ORDER BY s.seq) AS acts
FROM reps r
JOIN waste_steps s ON s.case_id = r.rep
GROUP BY r.variant, r.n_cases;

-- Scope 'repeats': the redo cycles of each variant in which the activity repeats.
CREATE OR REPLACE TEMP TABLE waste_repeat_bounds AS
WITH affected AS (
    SELECT x.activity AS scenario, v.variant, v.acts,
        list_position(v.acts, x.activity) AS first_seq,
        len(v.acts) - list_position(list_reverse(v.acts), x.activity) + 1 AS last_seq
    FROM waste_scenarios x
    JOIN waste_variants v ON len(list_filter(v.acts, lambda a: a = x.activity)) >= 2
    WHERE x.scope = 'repeats'
),
bounded AS (
    -- once per variant, not per event: the slice copies the list
    SELECT *, list_position(acts[first_seq + 1:], scenario) + first_seq AS second_seq
    FROM affected
),
rows AS (
    SELECT a.scenario, a.variant, a.first_seq, a.last_seq, a.second_seq,
        u.seq, u.activity
    FROM bounded a,
        LATERAL (SELECT CAST(generate_subscripts(a.acts, 1) AS INTEGER) AS seq, unnest(a.acts) AS activity) u
),
body AS (
    -- the activities of the first redo cycle
    SELECT DISTINCT scenario, variant, activity
    FROM rows
    WHERE seq > first_seq AND seq < second_seq
)
SELECT r.scenario, r.variant, any_value(r.second_seq) AS r_start,
    coalesce(min(r.seq) FILTER (WHERE r.seq > r.last_seq AND r.activity <> r.scenario
                                  AND b.activity IS NULL) - 1, max(r.seq)) AS r_end
FROM rows r
LEFT JOIN body b USING (scenario, variant, activity)
GROUP BY r.scenario, r.variant;

-- Per affected variant: the removed region [r_start, r_end], what was removed, what remains.
CREATE OR REPLACE TEMP TABLE waste_variant_region AS
WITH mot_list AS (
    SELECT coalesce(list(activity ORDER BY activity) FILTER (WHERE is_mot), []) AS mots FROM waste_mot
),
regions AS (
    -- scope 'all' removes every instance of the scenario activity: what is removed is that
    -- activity n times, so only what is kept needs a list
    SELECT x.activity AS scenario, x.scope, v.variant,
        list_position(v.acts, x.activity) AS r_start,
        len(v.acts) - list_position(list_reverse(v.acts), x.activity) + 1 AS r_end,
        list_filter(v.acts, lambda a: a <> x.activity) AS kept_acts,
        len(v.acts) - len(kept_acts) AS n_removed,
        CASE WHEN list_contains(m.mots, x.activity) THEN n_removed ELSE 0 END AS mots_removed
    FROM waste_scenarios x
    JOIN waste_variants v ON list_contains(v.acts, x.activity)
    CROSS JOIN mot_list m
    WHERE x.scope = 'all'
    UNION ALL
    SELECT b.scenario, 'repeats', v.variant, b.r_start, b.r_end,
        list_concat(v.acts[:b.r_start - 1], v.acts[b.r_end + 1:]),
        b.r_end - b.r_start + 1,
        len(list_filter(v.acts[b.r_start:b.r_end], lambda a: list_contains(m.mots, a)))
    FROM waste_repeat_bounds b
    JOIN waste_variants v USING (variant)
    CROSS JOIN mot_list m
)
-- Positions as INTEGER, the type of waste_steps.seq, so that joins on them are plain equi-joins.
SELECT r.scenario, r.scope, r.variant, CAST(r.r_start AS INTEGER) AS r_start, CAST(r.r_end AS INTEGER) AS r_end,
    r.n_removed, r.mots_removed,
    CASE WHEN len(r.kept_acts) > 0 THEN md5(array_to_string(r.kept_acts, chr(31))) END AS variant_after
FROM regions r;
DROP TABLE waste_repeat_bounds;

-- @section occ
-- First instance of every activity in every case.
CREATE OR REPLACE TEMP TABLE waste_occ AS
SELECT case_id, activity, min(seq) AS first_seq, min(ts) AS first_ts, count(*) AS n
FROM waste_steps
WHERE ($lo IS NULL OR case_id >= $lo) AND ($hi IS NULL OR case_id < $hi)
GROUP BY case_id, activity;

-- The removed region of every affected case, with its times.
-- A case's steps are numbered 1..n, so its times as a list are looked up by position (two joins
-- with waste_steps made the planner pair every two steps of a case first).
CREATE OR REPLACE TEMP TABLE waste_region AS
WITH times AS (
    SELECT case_id, list(ts ORDER BY seq) AS ts_by_seq FROM waste_steps
    WHERE ($lo IS NULL OR case_id >= $lo) AND ($hi IS NULL OR case_id < $hi)
    GROUP BY case_id
)
SELECT r.scenario, r.scope, c.case_id, r.r_start, r.r_end,
    t.ts_by_seq[r.r_start] AS r_start_ts, t.ts_by_seq[r.r_end] AS r_end_ts
FROM waste_variant_region r
JOIN (
    SELECT case_id, variant FROM waste_cases
    WHERE ($lo IS NULL OR case_id >= $lo) AND ($hi IS NULL OR case_id < $hi)
) c USING (variant)
JOIN times t ON t.case_id = c.case_id;

-- @section milestones
-- Milestones: activities that happen once in (nearly) every case that has them. Only they serve as
-- anchors; the first call after a region, of a step that is called again and again, marks nothing.
CREATE OR REPLACE TEMP TABLE waste_milestones AS
SELECT activity
FROM waste_occ
GROUP BY activity
HAVING count(*) FILTER (WHERE n >= 2) <= (1 - $anchor_share) * count(*);

-- The anchor before: for 'repeats' the activity's own first instance; for 'all' the milestone
-- whose first instance precedes the removed region in at least anchor_share of the affected cases,
-- that at least min_comparison_cases comparison cases have too, and that is nearest in time.
-- Only milestones can be the anchor: the first instances of the others are left out before the
-- joins (which pair every affected or comparison case with each of its activities). A view: with
-- it as a table, the leads built next ran out of memory at BPIC2012 x40 under 250MB.
CREATE OR REPLACE TEMP VIEW waste_milestone_occ AS
SELECT o.case_id, o.activity, o.first_seq, o.first_ts
FROM waste_occ o SEMI JOIN waste_milestones ms ON ms.activity = o.activity;

-- @section controls
-- Comparison cases: without the activity (scope 'all'), or with exactly one instance ('repeats').
CREATE OR REPLACE TEMP TABLE waste_controls AS
SELECT x.activity AS scenario, x.scope, c.case_id
FROM waste_scenarios x
CROSS JOIN (
    SELECT case_id FROM waste_cases WHERE ($lo IS NULL OR case_id >= $lo) AND ($hi IS NULL OR case_id < $hi)
) c
LEFT JOIN (
    SELECT case_id, activity, n FROM waste_occ WHERE ($lo IS NULL OR case_id >= $lo) AND ($hi IS NULL OR case_id < $hi)
) o ON o.case_id = c.case_id AND o.activity = x.activity
WHERE (x.scope = 'all' AND o.case_id IS NULL) OR (x.scope = 'repeats' AND o.n = 1);

-- For the candidate anchors before (`candidates` adds the ranges up): the comparison cases that
-- have each milestone, and the affected cases that have it before the removed region.
CREATE OR REPLACE TEMP TABLE waste_control_counts AS
SELECT w.scenario, w.scope, o.activity, count(*) AS n
FROM waste_controls w
JOIN waste_milestone_occ o USING (case_id)
WHERE w.scope = 'all' AND o.activity <> w.scenario
  AND ($lo IS NULL OR w.case_id >= $lo) AND ($hi IS NULL OR w.case_id < $hi)
  AND ($lo IS NULL OR o.case_id >= $lo) AND ($hi IS NULL OR o.case_id < $hi)
GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE waste_before_counts AS
SELECT r.scenario, r.scope, o.activity, count(*) AS n
FROM waste_region r
JOIN waste_milestone_occ o ON o.case_id = r.case_id AND o.first_seq < r.r_start
WHERE r.scope = 'all' AND o.activity <> r.scenario
  AND ($lo IS NULL OR r.case_id >= $lo) AND ($hi IS NULL OR r.case_id < $hi)
  AND ($lo IS NULL OR o.case_id >= $lo) AND ($hi IS NULL OR o.case_id < $hi)
GROUP BY ALL;

-- @section candidates
-- The candidates that pass the thresholds are counted first; only their leads are kept as rows, so
-- that their medians come from exact_quantile (quantiles.sql: median() cannot spill) over as few
-- rows as possible.
CREATE OR REPLACE TEMP TABLE waste_anchor_candidates AS
WITH n_affected AS (
    SELECT scenario, scope, count(*) AS n FROM waste_region GROUP BY ALL
),
n_controls AS (
    SELECT scenario, scope, activity, sum(n) AS n FROM waste_control_counts GROUP BY ALL
),
counted AS (
    SELECT scenario, scope, activity, sum(n) AS n FROM waste_before_counts GROUP BY ALL
)
SELECT c.scenario, c.scope, c.activity
FROM counted c
JOIN n_affected a USING (scenario, scope)
JOIN n_controls k USING (scenario, scope, activity)
WHERE c.n >= $anchor_share * a.n AND k.n >= $min_comparison_cases;
DROP TABLE waste_control_counts;
DROP TABLE waste_before_counts;

-- @section leads
-- The leads of the cases [$lo, $hi) (NULL = open end), the later ranges appending: every affected
-- case times every milestone before its region held more than 2.5 GB in one pass (BPIC2012 x400).
CREATE OR REPLACE TEMP TABLE waste_leads AS
SELECT {'scenario': r.scenario, 'scope': r.scope, 'activity': o.activity} AS g,
    epoch(r.r_start_ts) - epoch(o.first_ts) AS v
FROM waste_region r
JOIN waste_milestone_occ o ON o.case_id = r.case_id AND o.first_seq < r.r_start
SEMI JOIN waste_anchor_candidates c ON c.scenario = r.scenario AND c.scope = r.scope AND c.activity = o.activity
WHERE r.scope = 'all' AND o.activity <> r.scenario
  AND ($lo IS NULL OR r.case_id >= $lo) AND ($hi IS NULL OR r.case_id < $hi)
  AND ($lo IS NULL OR o.case_id >= $lo) AND ($hi IS NULL OR o.case_id < $hi);

-- @section anchor_before
CREATE OR REPLACE TEMP TABLE waste_anchor_before AS
SELECT c.scenario, c.scope, c.activity AS anchor
FROM waste_anchor_candidates c
LEFT JOIN exact_quantile('waste_leads', 0.5) m ON m.g = {'scenario': c.scenario, 'scope': c.scope, 'activity': c.activity}
QUALIFY row_number() OVER (PARTITION BY c.scenario, c.scope ORDER BY m.value, c.activity) = 1
UNION ALL
SELECT DISTINCT scenario, scope, scenario FROM waste_region WHERE scope = 'repeats';

-- @section bracket_start
-- Where the bracket starts in each affected and each comparison case, and after which step the
-- anchor after is looked for (per range of cases, appending).
CREATE OR REPLACE TEMP TABLE waste_bracket_start AS
SELECT r.scenario, r.scope, r.case_id, TRUE AS affected, o.first_ts AS x_ts,
    r.r_end AS after_seq, r.r_end_ts AS after_ts
FROM waste_region r
JOIN waste_anchor_before b USING (scenario, scope)
JOIN waste_occ o ON o.case_id = r.case_id AND o.activity = b.anchor AND o.first_seq < r.r_start
WHERE ($lo IS NULL OR r.case_id >= $lo) AND ($hi IS NULL OR r.case_id < $hi) AND ($lo IS NULL OR o.case_id >= $lo) AND ($hi IS NULL OR o.case_id < $hi)
UNION ALL
SELECT w.scenario, w.scope, w.case_id, FALSE, o.first_ts, o.first_seq, o.first_ts
FROM waste_controls w
JOIN waste_anchor_before b USING (scenario, scope)
JOIN waste_occ o ON o.case_id = w.case_id AND o.activity = b.anchor
WHERE ($lo IS NULL OR w.case_id >= $lo) AND ($hi IS NULL OR w.case_id < $hi) AND ($lo IS NULL OR o.case_id >= $lo) AND ($hi IS NULL OR o.case_id < $hi);

-- @section after_steps
DROP TABLE waste_occ;
DROP TABLE waste_leads;
DROP TABLE waste_anchor_candidates;
DROP VIEW waste_milestone_occ;

-- The first instance of every other milestone after that step (only milestones can be the anchor
-- after, so the other activities are left out here already). The milestones of each case are
-- gathered once (a milestone mostly happens once in a case), so each bracket joins one row per
-- milestone rather than one per instance, and the earliest time after the step is picked from the
-- few instances instead of grouping millions of wide rows. A view, not a table: its rows (every
-- bracket, comparison cases included, times every milestone after it) are the most of the run,
-- and as a table they ran out of memory at BPIC2012 x40 under 250MB; its three readers below each
-- keep only what they need (counts, the affected cases' lags, the chosen anchor's times).
CREATE OR REPLACE TEMP VIEW waste_after_steps AS
WITH milestone_steps AS (
    SELECT s.case_id, s.activity, count(*) AS n, max(s.seq) AS last_seq, min(s.ts) AS min_ts,
        list({'seq': s.seq, 'ts': s.ts}) AS instances
    FROM waste_steps s
    SEMI JOIN waste_milestones m ON m.activity = s.activity
    GROUP BY s.case_id, s.activity
)
SELECT b.scenario, b.scope, b.case_id, b.affected, b.x_ts, b.after_ts, o.activity,
    CASE WHEN o.n = 1 THEN o.min_ts
         ELSE list_min([x.ts FOR x IN o.instances IF x.seq > b.after_seq]) END AS y_ts
FROM waste_bracket_start b
JOIN milestone_steps o ON o.case_id = b.case_id AND o.last_seq > b.after_seq
WHERE o.activity <> b.scenario;

-- The anchor after: the milestone present after the removed region in at least anchor_share of the affected
-- cases that have the anchor before, and after the anchor before in at least min_comparison_cases
-- comparison cases; the nearest in time.
-- Counted first (per range of cases, `after_counts`, added up in `after_candidates`); only the
-- candidates that pass the thresholds get their median lag, from exact_quantile (quantiles.sql:
-- median() cannot spill). The ranged readers of the view filter its cases, which the filter carries
-- into its grouping of waste_steps.
-- @section after_counts
CREATE OR REPLACE TEMP TABLE waste_after_counts AS
SELECT scenario, scope, activity,
    count(*) FILTER (WHERE affected) AS n_affected,
    count(*) FILTER (WHERE NOT affected) AS n_controls
FROM waste_after_steps
WHERE ($lo IS NULL OR case_id >= $lo) AND ($hi IS NULL OR case_id < $hi)
GROUP BY ALL;

-- @section after_candidates
CREATE OR REPLACE TEMP TABLE waste_anchor_candidates AS
WITH n_bracketed AS (
    SELECT scenario, scope, count(*) AS n FROM waste_bracket_start WHERE affected GROUP BY ALL
),
counted AS (
    SELECT scenario, scope, activity, sum(n_affected) AS n_affected, sum(n_controls) AS n_controls
    FROM waste_after_counts
    GROUP BY ALL
)
SELECT c.scenario, c.scope, c.activity
FROM counted c
JOIN n_bracketed n USING (scenario, scope)
WHERE c.n_affected >= $anchor_share * n.n AND c.n_controls >= $min_comparison_cases;
DROP TABLE waste_after_counts;

-- @section lags
CREATE OR REPLACE TEMP TABLE waste_lags AS
SELECT {'scenario': s.scenario, 'scope': s.scope, 'activity': s.activity} AS g, epoch(s.y_ts) - epoch(s.after_ts) AS v
FROM waste_after_steps s
SEMI JOIN waste_anchor_candidates c ON c.scenario = s.scenario AND c.scope = s.scope AND c.activity = s.activity
WHERE s.affected AND ($lo IS NULL OR s.case_id >= $lo) AND ($hi IS NULL OR s.case_id < $hi);

-- @section anchor_after
CREATE OR REPLACE TEMP TABLE waste_anchor_after AS
SELECT c.scenario, c.scope, c.activity AS anchor
FROM waste_anchor_candidates c
LEFT JOIN exact_quantile('waste_lags', 0.5) m ON m.g = {'scenario': c.scenario, 'scope': c.scope, 'activity': c.activity}
QUALIFY row_number() OVER (PARTITION BY c.scenario, c.scope ORDER BY m.value, c.activity) = 1;
DROP TABLE waste_lags;
DROP TABLE waste_anchor_candidates;

-- @section brackets
-- Bracket times of the affected and the comparison cases, with the case outcome (per range).
CREATE OR REPLACE TEMP TABLE waste_brackets AS
SELECT s.scenario, s.scope, s.case_id, s.affected, coalesce(c.outcome, '(none)') AS outcome,
    epoch(s.y_ts) - epoch(s.x_ts) AS span_s
FROM waste_after_steps s
JOIN waste_anchor_after a ON a.scenario = s.scenario AND a.scope = s.scope AND a.anchor = s.activity
JOIN waste_cases c ON c.case_id = s.case_id
WHERE ($lo IS NULL OR s.case_id >= $lo) AND ($hi IS NULL OR s.case_id < $hi) AND ($lo IS NULL OR c.case_id >= $lo) AND ($hi IS NULL OR c.case_id < $hi);

-- @section delay
DROP VIEW waste_after_steps;
DROP TABLE waste_milestones;
DROP TABLE waste_bracket_start;

-- How much longer the bracket takes with the removed steps than without: the delay they add.
-- Like is compared with like: within each outcome class that has at least min_comparison_cases
-- comparison cases, weighted by the affected cases of the class. (A step that marks one outcome's
-- path has no comparison cases with that outcome, so it gets no delay: its cases differ from the
-- others in more than the step.) The difference counts as a delay only when its confidence
-- interval (normal approximation, z) lies above 0.
CREATE OR REPLACE TEMP TABLE waste_delay AS
WITH strata AS (
    SELECT scenario, scope, outcome,
        count(*) FILTER (WHERE affected) AS n_with,
        count(*) FILTER (WHERE NOT affected) AS n_without,
        avg(span_s) FILTER (WHERE affected) AS mean_with_s,
        avg(span_s) FILTER (WHERE NOT affected) AS mean_without_s,
        coalesce(var_samp(span_s) FILTER (WHERE affected), 0) AS var_with,
        coalesce(var_samp(span_s) FILTER (WHERE NOT affected), 0) AS var_without
    FROM waste_brackets
    GROUP BY scenario, scope, outcome
    HAVING count(*) FILTER (WHERE affected) > 0 AND count(*) FILTER (WHERE NOT affected) >= $min_comparison_cases
),
pooled AS (
    SELECT k.scenario, k.scope,
        sum(k.n_with) AS n_with,
        sum(k.n_without) AS n_without,
        sum(k.n_with * k.mean_with_s) / sum(k.n_with) AS mean_with_s,
        -- the comparison cases' bracket time at the affected cases' mix of outcomes
        sum(k.n_with * k.mean_without_s) / sum(k.n_with) AS mean_without_s,
        sqrt(sum(k.n_with * k.n_with * (k.var_with / k.n_with + k.var_without / k.n_without)))
            / sum(k.n_with) AS se_s,
        list(k.outcome ORDER BY k.outcome) AS outcomes_compared
    FROM strata k
    GROUP BY k.scenario, k.scope
)
SELECT p.scenario, p.scope, b.anchor AS anchor_before, a.anchor AS anchor_after,
    p.n_with, p.n_without, p.mean_with_s, p.mean_without_s, p.outcomes_compared,
    p.mean_with_s - p.mean_without_s AS diff_s,
    p.mean_with_s - p.mean_without_s - $z * p.se_s AS diff_ci_low_s,
    p.mean_with_s - p.mean_without_s + $z * p.se_s AS diff_ci_high_s,
    -- only a delay the interval confirms is saved
    CASE WHEN p.mean_with_s - p.mean_without_s - $z * p.se_s > 0 THEN p.mean_with_s - p.mean_without_s ELSE 0 END
        AS delay_s
FROM pooled p
JOIN waste_anchor_before b USING (scenario, scope)
JOIN waste_anchor_after a USING (scenario, scope);
DROP TABLE waste_anchor_before;
DROP TABLE waste_anchor_after;

-- The comparison cases of each scenario.
CREATE OR REPLACE TEMP TABLE waste_n_controls AS
SELECT x.activity AS scenario, x.scope, count(w.case_id) AS n
FROM waste_scenarios x
LEFT JOIN waste_controls w ON w.scenario = x.activity AND w.scope = x.scope
GROUP BY ALL;
DROP TABLE waste_controls;

-- @section savings
-- Per affected case (per range of cases, appending): the delay (at most the case's own bracket
-- time) when the case has both anchors and its outcome class was compared, else the measured
-- processing time of its removed steps.
CREATE OR REPLACE TEMP TABLE waste_case_savings AS
WITH removed_time AS (
    SELECT r.scenario, r.scope, r.case_id,
        sum(s.proc_s) AS proc_removed_s,
        count(s.proc_s) AS n_timed_removed,
        -- the removed steps' own span (the wait before each and its work), for steps inside the case
        sum(CASE WHEN s.prev_activity IS NOT NULL AND s.next_activity IS NOT NULL
                 THEN coalesce(s.wait_s, 0) + coalesce(s.proc_s, 0) ELSE 0 END) AS span_removed_s
    FROM waste_region r
    -- scope 'all': every instance of the activity lies in [r_start, r_end] (its first to its
    -- last), so an equi-join on the activity finds them without pairing every step of the case
    JOIN waste_steps s ON s.case_id = r.case_id AND s.activity = r.scenario
    WHERE r.scope = 'all' AND ($lo IS NULL OR r.case_id >= $lo) AND ($hi IS NULL OR r.case_id < $hi) AND ($lo IS NULL OR s.case_id >= $lo) AND ($hi IS NULL OR s.case_id < $hi)
    GROUP BY ALL
    UNION ALL
    SELECT r.scenario, r.scope, r.case_id,
        sum(s.proc_s), count(s.proc_s),
        sum(CASE WHEN s.prev_activity IS NOT NULL AND s.next_activity IS NOT NULL
                 THEN coalesce(s.wait_s, 0) + coalesce(s.proc_s, 0) ELSE 0 END)
    FROM waste_region r
    JOIN waste_steps s ON s.case_id = r.case_id AND s.seq BETWEEN r.r_start AND r.r_end
    WHERE r.scope = 'repeats' AND ($lo IS NULL OR r.case_id >= $lo) AND ($hi IS NULL OR r.case_id < $hi) AND ($lo IS NULL OR s.case_id >= $lo) AND ($hi IS NULL OR s.case_id < $hi)
    GROUP BY ALL
)
-- removed_time has one row per row of waste_region (each region holds at least one step), so it
-- stands for the region here rather than being joined back to it
SELECT r.scenario, r.scope, r.case_id, c.duration_s, r.proc_removed_s, r.n_timed_removed,
    CASE WHEN d.delay_s > 0 AND list_contains(d.outcomes_compared, k.outcome) THEN 'bracket'
         WHEN n.n < $min_comparison_cases AND r.scope = 'all' THEN 'own_span'
         ELSE 'service_time' END AS method,
    least(c.duration_s,
          CASE WHEN d.delay_s > 0 AND list_contains(d.outcomes_compared, k.outcome)
               THEN least(d.delay_s, greatest(k.span_s, 0))
               -- no case without the step to compare with: a step in (nearly) every case is credited
               -- with its own span, the queue before it and its work (docs/waste.md)
               WHEN n.n < $min_comparison_cases AND r.scope = 'all' THEN r.span_removed_s
               ELSE coalesce(r.proc_removed_s, 0) END) AS saved_s
FROM removed_time r
JOIN (SELECT * FROM waste_cases WHERE ($lo IS NULL OR case_id >= $lo) AND ($hi IS NULL OR case_id < $hi)) c USING (case_id)
JOIN waste_n_controls n USING (scenario, scope)
LEFT JOIN waste_delay d USING (scenario, scope)
LEFT JOIN (SELECT * FROM waste_brackets WHERE affected AND ($lo IS NULL OR case_id >= $lo) AND ($hi IS NULL OR case_id < $hi)) k
    ON k.scenario = r.scenario AND k.scope = r.scope AND k.case_id = r.case_id;

-- @section result
DROP TABLE waste_n_controls;
DROP TABLE waste_region;
DROP TABLE waste_brackets;

CREATE OR REPLACE TEMP TABLE waste_whatif_result AS
WITH totals AS (
    SELECT count(*) AS n_cases,
        avg(duration_s) AS mean_throughput_s,
        count(DISTINCT variant) AS variants_before
    FROM waste_cases
),
mots AS (
    SELECT count(*) FILTER (WHERE m.is_mot) AS n_mots, bool_or(m.is_mot IS NOT NULL) AS known
    FROM waste_steps s LEFT JOIN waste_mot m USING (activity)
),
removed AS (
    SELECT r.scenario, r.scope,
        sum(v.n_cases) AS cases_affected,
        sum(r.n_removed * v.n_cases) AS steps_removed,
        sum(r.mots_removed * v.n_cases) AS mots_removed
    FROM waste_variant_region r JOIN waste_variants v USING (variant)
    GROUP BY r.scenario, r.scope
),
variants_after AS (
    -- unaffected variants stay; affected ones become their projection (empty ones disappear)
    SELECT x.activity AS scenario, x.scope, count(DISTINCT coalesce(r.variant_after, v.variant))
        FILTER (WHERE r.variant IS NULL OR r.variant_after IS NOT NULL) AS n
    FROM waste_scenarios x
    CROSS JOIN waste_variants v
    LEFT JOIN waste_variant_region r ON r.scenario = x.activity AND r.scope = x.scope AND r.variant = v.variant
    GROUP BY x.activity, x.scope
),
saved AS (
    SELECT scenario, scope,
        sum(saved_s) AS total_saved_s,
        sum(proc_removed_s) AS proc_removed_s,
        sum(n_timed_removed) AS n_timed_removed,
        count(*) FILTER (WHERE saved_s > 0) AS cases_shortened,
        CASE WHEN count(DISTINCT method) = 1 THEN any_value(method)
             ELSE string_agg(DISTINCT method, '+' ORDER BY method) END AS saving_method
    FROM waste_case_savings
    GROUP BY scenario, scope
)
SELECT x.activity, x.scope, t.n_cases,
    CAST(coalesce(r.cases_affected, 0) AS BIGINT) AS cases_affected,
    CAST(coalesce(r.steps_removed, 0) AS BIGINT) AS steps_removed,
    t.mean_throughput_s AS mean_throughput_before_s,
    t.mean_throughput_s - coalesce(s.total_saved_s, 0) / t.n_cases AS mean_throughput_after_s,
    coalesce(s.total_saved_s, 0) / t.n_cases AS mean_throughput_s_saved,
    coalesce(s.total_saved_s, 0) / 3600 AS case_hours_saved,
    -- per month only from a log that spans at least a month ($months is NULL otherwise)
    coalesce(s.total_saved_s, 0) / 3600 / CAST($months AS DOUBLE) AS hours_saved_per_month,
    CASE WHEN coalesce(s.n_timed_removed, 0) > 0 THEN s.proc_removed_s / 3600 END AS work_hours_saved,
    CASE WHEN coalesce(s.n_timed_removed, 0) > 0 THEN s.proc_removed_s / 3600 / CAST($months AS DOUBLE) END
        AS work_hours_saved_per_month,
    s.saving_method,
    CAST(coalesce(s.cases_shortened, 0) AS BIGINT) AS cases_shortened,
    CASE WHEN m.known THEN m.n_mots / t.n_cases END AS mots_per_case_before,
    CASE WHEN m.known THEN (m.n_mots - coalesce(r.mots_removed, 0)) / t.n_cases END AS mots_per_case_after,
    CASE WHEN m.known THEN coalesce(r.mots_removed, 0) / t.n_cases END AS mots_saved_per_case,
    t.variants_before,
    CAST(va.n AS BIGINT) AS variants_after,
    d.anchor_before, d.anchor_after,
    d.n_with AS bracket_cases_with, d.n_without AS bracket_cases_without,
    d.mean_with_s AS bracket_mean_with_s, d.mean_without_s AS bracket_mean_without_s,
    d.diff_s AS bracket_diff_s, d.diff_ci_low_s AS bracket_diff_ci_low_s,
    d.diff_ci_high_s AS bracket_diff_ci_high_s, d.delay_s
FROM waste_scenarios x
CROSS JOIN totals t
CROSS JOIN mots m
LEFT JOIN removed r ON r.scenario = x.activity AND r.scope = x.scope
LEFT JOIN saved s ON s.scenario = x.activity AND s.scope = x.scope
LEFT JOIN variants_after va ON va.scenario = x.activity AND va.scope = x.scope
LEFT JOIN waste_delay d ON d.scenario = x.activity AND d.scope = x.scope
ORDER BY x.activity, x.scope;
DROP TABLE waste_variants;
DROP TABLE waste_variant_region;
DROP TABLE waste_delay;
DROP TABLE waste_case_savings;
