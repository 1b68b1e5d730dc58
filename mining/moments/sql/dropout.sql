-- Drop-out: where customers leave (funnel over the MOTs, places), and separately what upstream is
-- over-represented in drop-out cases (attribution). Only events before a case's outcome event
-- count as upstream, so neither the place nor the outcome itself can explain the outcome.

CREATE OR REPLACE TEMP TABLE mot_case_outcomes AS
SELECT case_id, outcome, outcome_pos, outcome_activity, outcome_rule
FROM case_outcomes
WHERE process = $process;

-- MOT events with their case outcome; upstream = strictly before the outcome event.
CREATE OR REPLACE TEMP TABLE mot_journey AS
SELECT s.case_id, s.pos, s.activity, s.mot_seq, s.poor, s.occurrence, s.long_wait, b.factors,
    o.outcome, o.outcome_pos,
    (o.outcome_pos IS NULL OR s.pos < o.outcome_pos) AS upstream
FROM mot_scored s
JOIN mot_base b ON b.case_id = s.case_id AND b.pos = s.pos
JOIN mot_case_outcomes o ON o.case_id = s.case_id;

DELETE FROM dropout_funnel WHERE process = $process;

INSERT INTO dropout_funnel BY NAME
WITH first_seen AS (
    SELECT activity, case_id, min(mot_seq) AS first_seq FROM mot_journey GROUP BY activity, case_id
),
journey_order AS (
    SELECT activity, median(first_seq) AS median_seq, count(*) AS n_cases_reached
    FROM first_seen GROUP BY activity
),
dropout_reached AS (
    SELECT activity, count(DISTINCT case_id) AS n
    FROM mot_journey
    WHERE outcome = 'dropout' AND (outcome_pos IS NULL OR pos <= outcome_pos)
    GROUP BY activity
),
last_before AS (
    SELECT case_id, arg_max(activity, pos) AS activity
    FROM mot_journey
    WHERE outcome = 'dropout' AND upstream
    GROUP BY case_id
),
left_after AS (
    SELECT activity, count(*) AS n FROM last_before GROUP BY activity
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
last_before AS (
    SELECT case_id, arg_max(activity, pos) AS after_activity
    FROM mot_journey
    WHERE outcome = 'dropout' AND upstream
    GROUP BY case_id
),
places AS (
    SELECT d.activity, l.after_activity, count(*) AS n_dropout
    FROM dropouts d LEFT JOIN last_before l USING (case_id)
    GROUP BY d.activity, l.after_activity
)
SELECT $process AS process, activity, after_activity, n_dropout,
    n_dropout / sum(n_dropout) OVER () AS share,
    CAST(row_number() OVER (ORDER BY n_dropout DESC, activity, after_activity NULLS FIRST) AS INTEGER) AS rank
FROM places
ORDER BY rank;

-- The cause: binary upstream factors per case, compared between drop-out and other cases.
CREATE OR REPLACE TEMP TABLE mot_population AS
SELECT case_id, outcome = 'dropout' AS is_dropout
FROM mot_case_outcomes
WHERE outcome = 'dropout' OR list_contains(CAST($population AS VARCHAR[]), outcome);

CREATE OR REPLACE TEMP TABLE mot_factors AS
WITH upstream AS (
    SELECT j.*, p.is_dropout
    FROM mot_journey j JOIN mot_population p USING (case_id)
    WHERE j.upstream
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

-- Cases that reached each MOT activity upstream: a factor at MOT X is compared with the other cases
-- that reached X (baseline 'reached'), so that late MOTs do not look protective merely because
-- customers who left early never got there; baseline 'all' compares with the whole population.
CREATE OR REPLACE TEMP TABLE mot_exposure AS
WITH reached AS (
    SELECT DISTINCT j.case_id, p.is_dropout, j.activity
    FROM mot_journey j JOIN mot_population p USING (case_id)
    WHERE j.upstream
),
total AS (
    SELECT count(*) AS n, count(*) FILTER (WHERE is_dropout) AS d FROM mot_population
)
SELECT r.activity,
    CASE WHEN $baseline = 'all' THEN any_value(t.n) ELSE count(*) END AS n_reached,
    CASE WHEN $baseline = 'all' THEN any_value(t.d) ELSE count(*) FILTER (WHERE r.is_dropout) END AS d_reached,
    any_value(t.n) AS n_all,
    any_value(t.d) AS d_all
FROM reached r CROSS JOIN total t
GROUP BY r.activity;

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
        md5(string_agg(case_id, ',' ORDER BY case_id)) AS case_set
    FROM mot_factors
    GROUP BY factor_kind, activity, value
),
distinct_factors AS (
    -- 'poor score at X' is left out where it holds in exactly the cases of 'long wait before X'.
    SELECT c.* FROM counted c
    WHERE NOT (c.factor_kind = 'poor_score' AND EXISTS (
        SELECT 1 FROM counted w
        WHERE w.factor_kind = 'long_wait' AND w.activity = c.activity AND w.case_set = c.case_set))
)
SELECT c.*, e.n_all, e.d_all, e.n_reached, e.d_reached, f.step,
    c.n_dropout / c.n_cases AS confidence,
    e.d_reached / e.n_reached AS base_rate,
    mot_wilson_low(c.n_dropout, c.n_cases, $z) AS p_low,
    mot_wilson_high(c.n_dropout, c.n_cases, $z) AS p_high,
    (e.d_reached - c.n_dropout) / nullif(e.n_reached - c.n_cases, 0) AS p_without
FROM distinct_factors c
JOIN mot_exposure e USING (activity)
JOIN dropout_funnel f ON f.process = $process AND f.activity = c.activity
-- a factor needs a comparison group: some exposed cases without it, and some drop-outs
WHERE e.d_reached > 0 AND c.n_cases < e.n_reached
    AND c.n_cases >= $min_cases AND c.n_dropout >= $min_dropout;

-- Echoes: a factor that holds in nearly the same cases (Jaccard >= echo_jaccard) as a factor at
-- an earlier MOT of the journey carries no information of its own: a reply by letter echoes a
-- request by letter. It is named after the earliest such factor and ranked after the others.
CREATE OR REPLACE TEMP TABLE mot_echoes AS
WITH kept AS (
    SELECT f.case_id, s.factor, s.step, s.n_cases
    FROM mot_factors f
    JOIN mot_factor_stats s
      ON s.factor_kind = f.factor_kind AND s.activity = f.activity AND s.value IS NOT DISTINCT FROM f.value
),
shared AS (
    SELECT a.factor, b.factor AS upstream, any_value(a.n_cases) AS n_a, any_value(b.n_cases) AS n_b,
        any_value(b.step) AS upstream_step, count(*) AS n_shared
    FROM kept a JOIN kept b ON a.case_id = b.case_id AND b.step < a.step
    GROUP BY a.factor, b.factor
)
SELECT factor, first(upstream ORDER BY upstream_step, upstream) AS echo_of
FROM shared
WHERE n_shared / (n_a + n_b - n_shared) >= $echo_jaccard
GROUP BY factor;

DELETE FROM dropout_attribution WHERE process = $process;

INSERT INTO dropout_attribution BY NAME
SELECT $process AS process, s.factor_kind, s.factor, s.activity, s.value, s.n_cases, s.n_dropout,
    mot_figure(s.n_dropout / s.n_all) AS support,
    mot_figure(s.n_dropout / s.d_all) AS coverage,
    mot_figure(s.confidence) AS confidence, mot_figure(s.base_rate) AS base_rate,
    mot_figure(s.confidence / s.base_rate) AS lift,
    mot_figure(s.confidence / nullif(s.p_without, 0)) AS relative_risk,
    mot_figure(s.p_low / s.base_rate) AS ci_low,
    mot_figure(s.p_high / s.base_rate) AS ci_high,
    s.n_reached, e.echo_of,
    CAST(row_number() OVER (
        ORDER BY e.echo_of IS NOT NULL, s.p_low / s.base_rate DESC, s.confidence / s.base_rate DESC, s.factor
    ) AS INTEGER) AS rank
FROM mot_factor_stats s
LEFT JOIN mot_echoes e USING (factor)
ORDER BY rank;
