-- Drop-out: where customers leave (funnel over the MOTs, places), and separately what upstream is
-- over-represented in drop-out cases (attribution). Only events before a case's outcome event
-- count as upstream, so neither the place nor the outcome itself can explain the outcome.

-- @section journey
-- Temporary tables analyse builds before the step's transaction (instances.sql says why).
CREATE OR REPLACE TEMP TABLE mot_case_outcomes AS
SELECT case_id, outcome, outcome_pos, outcome_activity, outcome_rule
FROM mot_outcomes
WHERE process = $process;

-- MOT events with their case outcome; upstream = strictly before the outcome event.
CREATE OR REPLACE TEMP TABLE mot_journey AS
-- factors: those of the moment's marking event, i.e. of its combination (mot_scored.combo_id).
SELECT s.case_id, s.pos, s.activity, s.mot_seq, s.poor, s.occurrence, s.long_wait, k.factors,
    o.outcome, o.outcome_pos,
    (o.outcome_pos IS NULL OR s.pos < o.outcome_pos) AS upstream
FROM mot_scored s
JOIN mot_combo_keys k ON k.combo_id = s.combo_id
JOIN mot_case_outcomes o ON o.case_id = s.case_id;

-- The cause: binary upstream factors per case, compared between drop-out and other cases.
CREATE OR REPLACE TEMP TABLE mot_population AS
SELECT case_id, outcome = 'dropout' AS is_dropout
FROM mot_case_outcomes
WHERE outcome = 'dropout' OR list_contains(CAST($population AS VARCHAR[]), outcome);

-- @section per_case
-- One range of cases [$lo, $hi) (NULL = open end) a run: analyse creates the tables in the first
-- range and appends to them in the others. Each holds rows per case or per (case, MOT activity):
-- over every case at once, their DISTINCT and GROUP BY ran out of memory at 10.5 M events under
-- 250-320MB (issue 20).
CREATE OR REPLACE TEMP TABLE mot_factors AS
WITH upstream AS (
    SELECT j.*, p.is_dropout
    FROM mot_journey j JOIN mot_population p USING (case_id)
    WHERE j.upstream AND ($lo IS NULL OR j.case_id >= $lo) AND ($hi IS NULL OR j.case_id < $hi)
),
factors AS (
    SELECT case_id, is_dropout, 'poor_score' AS factor_kind, activity, NULL AS value FROM upstream WHERE poor
    UNION ALL
    SELECT case_id, is_dropout, 'repeated', activity, NULL FROM upstream WHERE occurrence >= 2
    UNION ALL
    SELECT case_id, is_dropout, 'long_wait', activity, NULL FROM upstream WHERE long_wait
    UNION ALL
    SELECT case_id, is_dropout, 'attribute', activity, unnest(factors) FROM upstream
)
SELECT DISTINCT case_id, is_dropout, factor_kind, activity, value
FROM factors
WHERE list_contains(CAST($kinds AS VARCHAR[]), factor_kind);

-- Exposure: how often each MOT occurs upstream in each case. A case with four replies has four
-- chances to meet clerk X; comparing it with one-reply cases would credit the clerk with the effect
-- of the repetition. Factors are therefore compared within strata of the same occurrence count
-- (counts above $max_stratum pooled); 'repeated' factors, defined by the count, in one stratum (0).
CREATE OR REPLACE TEMP TABLE mot_occurrences AS
SELECT j.case_id, j.activity, p.is_dropout,
    CASE WHEN $baseline = 'all' THEN 0 ELSE least(count(*), $max_stratum) END AS stratum
FROM mot_journey j JOIN mot_population p USING (case_id)
WHERE j.upstream AND ($lo IS NULL OR j.case_id >= $lo) AND ($hi IS NULL OR j.case_id < $hi)
GROUP BY j.case_id, j.activity, p.is_dropout;

-- Per (MOT activity, case): its first place in the case's journey, and whether a drop-out case
-- reached it (at or before its outcome event); per drop-out case: the last MOT upstream. Read by the
-- funnel and the places in `store`.
CREATE OR REPLACE TEMP TABLE mot_first_seen AS
SELECT activity, case_id, min(mot_seq) AS first_seq,
    bool_or(outcome = 'dropout' AND (outcome_pos IS NULL OR pos <= outcome_pos)) AS dropout_reached
FROM mot_journey
WHERE ($lo IS NULL OR case_id >= $lo) AND ($hi IS NULL OR case_id < $hi)
GROUP BY activity, case_id;

CREATE OR REPLACE TEMP TABLE mot_last_before AS
SELECT case_id, arg_max(activity, pos) AS activity
FROM mot_journey
WHERE outcome = 'dropout' AND upstream AND ($lo IS NULL OR case_id >= $lo) AND ($hi IS NULL OR case_id < $hi)
GROUP BY case_id;

-- @section exposure
-- Cases that reached each MOT activity upstream: a factor at MOT X is compared with the other cases
-- that reached X (baseline 'reached'), so that late MOTs do not look protective merely because
-- customers who left early never got there; baseline 'all' compares with the whole population.
-- The cases that reached X are the rows of mot_occurrences of X (one per case and MOT activity).
CREATE OR REPLACE TEMP TABLE mot_exposure AS
WITH total AS (
    SELECT count(*) AS n, count(*) FILTER (WHERE is_dropout) AS d FROM mot_population
)
SELECT r.activity,
    CASE WHEN $baseline = 'all' THEN any_value(t.n) ELSE count(*) END AS n_reached,
    CASE WHEN $baseline = 'all' THEN any_value(t.d) ELSE count(*) FILTER (WHERE r.is_dropout) END AS d_reached,
    any_value(t.n) AS n_all,
    any_value(t.d) AS d_all
FROM mot_occurrences r CROSS JOIN total t
GROUP BY r.activity;

-- Cases and drop-outs per (MOT, stratum); stratum 0 = every case that reached the MOT (or, with
-- baseline 'all', the whole population).
CREATE OR REPLACE TEMP TABLE mot_strata AS
SELECT activity, stratum, count(*) AS n_s, count(*) FILTER (WHERE is_dropout) AS d_s
FROM mot_occurrences
WHERE stratum > 0
GROUP BY activity, stratum
UNION ALL
SELECT e.activity, 0, e.n_reached, e.d_reached FROM mot_exposure e;

-- @section store
DELETE FROM dropout_funnel WHERE process = $process;

INSERT INTO dropout_funnel BY NAME
-- The median first place of each activity is read from counts per (activity, place), as median()
-- takes it (the mean of the two middle values): median() holds every value of a group in memory and
-- cannot spill, and at 100 M events a group holds millions of cases (issue 20). Distinct cases are
-- counted on distinct (activity, case) rows: a GROUP BY spills, count(DISTINCT) keeps a set per group.
WITH place_counts AS (
    SELECT activity, first_seq, count(*) AS n FROM mot_first_seen GROUP BY activity, first_seq
),
running AS (
    SELECT activity, first_seq,
        sum(n) OVER (PARTITION BY activity ORDER BY first_seq ROWS UNBOUNDED PRECEDING) AS upto,
        sum(n) OVER (PARTITION BY activity) AS total
    FROM place_counts
),
journey_order AS (
    SELECT activity, CAST(total AS BIGINT) AS n_cases_reached,
        (min(first_seq) FILTER (WHERE upto >= (total - 1) // 2 + 1)
            + min(first_seq) FILTER (WHERE upto >= total // 2 + 1)) / 2 AS median_seq
    FROM running GROUP BY activity, total
),
dropout_reached AS (
    SELECT activity, count(*) AS n FROM mot_first_seen WHERE dropout_reached GROUP BY activity
),
left_after AS (
    SELECT activity, count(*) AS n FROM mot_last_before GROUP BY activity
),
dropout_events AS (
    SELECT outcome_activity AS activity, count(*) AS n
    FROM mot_case_outcomes
    WHERE outcome = 'dropout' AND outcome_activity IS NOT NULL
    GROUP BY outcome_activity
),
total AS (
    SELECT count(*) AS n FROM mot_case_outcomes WHERE outcome = 'dropout'
)
SELECT $process AS process, j.activity,
    CAST(row_number() OVER (ORDER BY j.median_seq, j.activity) AS INTEGER) AS step,
    j.n_cases_reached,
    coalesce(r.n, 0) AS n_dropout_reached,
    coalesce(l.n, 0) AS n_left_after,
    coalesce(d.n, 0) AS n_dropout_events,
    coalesce(l.n, 0) / nullif(t.n, 0) AS share_of_dropouts,
    coalesce(l.n, 0) / j.n_cases_reached AS leave_rate
FROM journey_order j
CROSS JOIN total t
LEFT JOIN dropout_reached r USING (activity)
LEFT JOIN left_after l USING (activity)
LEFT JOIN dropout_events d USING (activity)
ORDER BY step;

DELETE FROM dropout_places WHERE process = $process;

-- The place: the drop-out event (or the time-limit rule) and the last MOT before it.
INSERT INTO dropout_places BY NAME
WITH dropouts AS (
    SELECT case_id, coalesce(outcome_activity, '(' || outcome_rule || ')') AS activity
    FROM mot_case_outcomes
    WHERE outcome = 'dropout'
),
places AS (
    SELECT d.activity, l.activity AS after_activity, count(*) AS n_dropout
    FROM dropouts d LEFT JOIN mot_last_before l USING (case_id)
    GROUP BY d.activity, l.activity
)
SELECT $process AS process, activity, after_activity, n_dropout,
    n_dropout / sum(n_dropout) OVER () AS share,
    CAST(row_number() OVER (ORDER BY n_dropout DESC, activity, after_activity NULLS FIRST) AS INTEGER) AS rank
FROM places
ORDER BY rank;

CREATE OR REPLACE TEMP TABLE mot_factor_stats AS
WITH counted AS (
    SELECT factor_kind, activity, value,
        CASE factor_kind
            WHEN 'poor_score' THEN 'poor score at ' || activity
            WHEN 'repeated' THEN activity || ' repeated'
            WHEN 'long_wait' THEN 'long wait before ' || activity
            ELSE activity || ': ' || value
        END AS factor,
        count(*) AS n_cases,
        count(*) FILTER (WHERE is_dropout) AS n_dropout,
        -- the set of its cases, order-free: an ordered string_agg of every case id held each factor's
        -- cases in memory (millions at 100 M events, issue 20); equal sets, equal fingerprints
        {'xor': bit_xor(hash(case_id)), 'sum': sum(hash(case_id))} AS case_set
    FROM mot_factors
    GROUP BY factor_kind, activity, value
),
distinct_factors AS (
    -- 'poor score at X' is left out where it holds in exactly the cases of 'long wait before X'.
    SELECT c.* FROM counted c
    WHERE NOT (c.factor_kind = 'poor_score' AND EXISTS (
        SELECT 1 FROM counted w
        WHERE w.factor_kind = 'long_wait' AND w.activity = c.activity AND w.case_set = c.case_set))
),
-- factor cases per stratum of their MOT's occurrence count
factor_strata AS (
    SELECT f.factor_kind, f.activity, f.value,
        CASE WHEN f.factor_kind = 'repeated' THEN 0 ELSE o.stratum END AS stratum,
        count(*) AS n1, count(*) FILTER (WHERE f.is_dropout) AS a
    FROM mot_factors f
    JOIN mot_occurrences o ON o.case_id = f.case_id AND o.activity = f.activity
    GROUP BY ALL
),
stratified AS (
    SELECT fs.factor_kind, fs.activity, fs.value,
        -- expected drop-outs among the factor's cases at their strata's own drop-out rates
        sum(fs.n1 * st.d_s / st.n_s) AS expected,
        count(*) FILTER (WHERE fs.n1 < st.n_s) AS n_strata,
        -- Mantel-Haenszel risk ratio (factor vs. no factor within each stratum), Greenland-Robins variance
        sum(fs.a * (st.n_s - fs.n1) / st.n_s) AS mh_r,
        sum((st.d_s - fs.a) * fs.n1 / st.n_s) AS mh_s,
        sum(fs.n1 * (st.n_s - fs.n1) * st.d_s / (st.n_s * st.n_s) - fs.a * (st.d_s - fs.a) / st.n_s) AS mh_v
    FROM factor_strata fs
    JOIN mot_strata st ON st.activity = fs.activity AND st.stratum = fs.stratum
    GROUP BY ALL
)
SELECT c.*, e.n_all, e.d_all, e.n_reached, e.d_reached, f.step,
    c.n_dropout / c.n_cases AS confidence,
    e.d_reached / e.n_reached AS crude_base_rate,
    x.expected / c.n_cases AS base_rate,
    x.n_strata, x.mh_r, x.mh_s, x.mh_v,
    mot_wilson_low(c.n_dropout, c.n_cases, $z) AS p_low,
    mot_wilson_high(c.n_dropout, c.n_cases, $z) AS p_high,
    c.n_cases >= $min_cases AND c.n_dropout >= $min_dropout AS enough
FROM distinct_factors c
JOIN mot_exposure e USING (activity)
JOIN stratified x
  ON x.factor_kind = c.factor_kind AND x.activity = c.activity AND x.value IS NOT DISTINCT FROM c.value
JOIN dropout_funnel f ON f.process = $process AND f.activity = c.activity
-- a factor needs a comparison group (some exposed cases without it, and some drop-outs) and at
-- least one drop-out; below min_cases / min_dropout it is listed, never a finding
WHERE e.d_reached > 0 AND c.n_cases < e.n_reached AND c.n_dropout > 0 AND x.expected > 0;

-- @section echo_pairs
-- Echoes: a factor that holds in nearly the same cases (Jaccard >= echo_jaccard) as a factor at
-- an earlier MOT of the journey carries no information of its own: a reply by letter echoes a
-- request by letter. It is named after the earliest such factor and ranked after the others.
-- The cases two factors share are counted per range of cases [$lo, $hi) (NULL = open end): analyse
-- creates the table in the first range and appends to it in the others. Over every case at once,
-- the self-join by case ran out of memory at 10.5 M events under 320MB (issue 20).
CREATE OR REPLACE TEMP TABLE mot_echo_pairs AS
WITH kept AS (
    SELECT f.case_id, s.factor, s.step, s.n_cases
    FROM mot_factors f
    JOIN mot_factor_stats s
      ON s.factor_kind = f.factor_kind AND s.activity = f.activity AND s.value IS NOT DISTINCT FROM f.value
    WHERE s.enough AND ($lo IS NULL OR f.case_id >= $lo) AND ($hi IS NULL OR f.case_id < $hi)
)
SELECT a.factor, b.factor AS upstream, any_value(a.n_cases) AS n_a, any_value(b.n_cases) AS n_b,
    any_value(b.step) AS upstream_step, count(*) AS n_shared
FROM kept a JOIN kept b ON a.case_id = b.case_id AND b.step < a.step
GROUP BY a.factor, b.factor;

-- @section attribution
CREATE OR REPLACE TEMP TABLE mot_echoes AS
WITH shared AS (
    SELECT factor, upstream, any_value(n_a) AS n_a, any_value(n_b) AS n_b,
        any_value(upstream_step) AS upstream_step, CAST(sum(n_shared) AS BIGINT) AS n_shared
    FROM mot_echo_pairs
    GROUP BY factor, upstream
)
SELECT factor, first(upstream ORDER BY upstream_step, upstream) AS echo_of
FROM shared
WHERE n_shared / (n_a + n_b - n_shared) >= $echo_jaccard
GROUP BY factor;

DELETE FROM dropout_attribution WHERE process = $process;

INSERT INTO dropout_attribution BY NAME
WITH judged AS (
    SELECT s.*, e.echo_of AS jaccard_echo,
        s.confidence / s.base_rate AS lift_s,
        s.p_low / s.base_rate AS ci_low_s,
        s.p_high / s.base_rate AS ci_high_s,
        s.confidence / s.crude_base_rate AS crude_lift_s,
        s.p_low / s.crude_base_rate AS crude_ci_low_s,
        CASE WHEN s.mh_r > 0 AND s.mh_s > 0 THEN s.mh_r / s.mh_s END AS rr,
        CASE WHEN s.mh_r > 0 AND s.mh_s > 0 AND s.mh_v > 0 THEN sqrt(s.mh_v / (s.mh_r * s.mh_s)) END AS rr_se
    FROM mot_factor_stats s
    LEFT JOIN mot_echoes e USING (factor)
),
labelled AS (
    SELECT *,
        -- exposure echo: over-represented only because its cases have more occurrences of the MOT
        enough AND jaccard_echo IS NULL AND n_strata > 1 AND crude_ci_low_s > 1 AND ci_low_s <= 1 AS exposure_echo
    FROM judged
)
SELECT $process AS process, factor_kind, factor, activity, value, n_cases, n_dropout,
    mot_figure(n_dropout / n_all) AS support,
    mot_figure(n_dropout / d_all) AS coverage,
    mot_figure(confidence) AS confidence, mot_figure(base_rate) AS base_rate,
    mot_figure(lift_s) AS lift,
    mot_figure(rr) AS relative_risk,
    mot_figure(ci_low_s) AS ci_low,
    mot_figure(ci_high_s) AS ci_high,
    n_reached,
    CASE WHEN jaccard_echo IS NOT NULL THEN jaccard_echo
         WHEN exposure_echo THEN activity || ' repeated' END AS echo_of,
    mot_figure(crude_lift_s) AS crude_lift,
    mot_figure(crude_ci_low_s) AS crude_ci_low,
    CAST(n_strata AS INTEGER) AS n_strata,
    mot_figure(exp(ln(rr) - $z * rr_se)) AS rr_low,
    mot_figure(exp(ln(rr) + $z * rr_se)) AS rr_high,
    CASE WHEN NOT enough THEN 'too few cases'
         WHEN jaccard_echo IS NOT NULL OR exposure_echo THEN 'echo'
         WHEN ci_low_s > 1 THEN 'finding'
         ELSE 'no clear effect' END AS status,
    CASE WHEN NOT enough THEN 'too few cases: ' || n_cases || ' cases (minimum ' || $min_cases || '), '
             || n_dropout || ' drop-outs (minimum ' || $min_dropout || ')'
         WHEN jaccard_echo IS NOT NULL THEN 'holds in nearly the same cases as ' || jaccard_echo
         WHEN exposure_echo THEN 'an echo of how often ' || activity || ' happens: crude lift '
             || printf('%.2f', crude_lift_s) || ' (lower bound ' || printf('%.2f', crude_ci_low_s)
             || '), within cases with the same number of ' || activity || ' lift '
             || printf('%.2f', lift_s) || ' (' || printf('%.2f', ci_low_s) || '-' || printf('%.2f', ci_high_s) || ')'
         WHEN ci_low_s > 1 THEN 'over-represented in drop-outs'
             || CASE WHEN n_strata > 1 THEN ' within cases with the same number of ' || activity ELSE '' END
         WHEN ci_high_s < 1 THEN 'under-represented in drop-outs'
         ELSE 'interval includes 1' END AS note,
    CAST(row_number() OVER (
        ORDER BY NOT enough, jaccard_echo IS NOT NULL OR exposure_echo, ci_low_s DESC, lift_s DESC, factor
    ) AS INTEGER) AS rank
FROM labelled
ORDER BY rank;
