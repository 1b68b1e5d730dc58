-- Question: Where do customers drop out (the funnel of moments of truth), which upstream moments
--           and patterns are over-represented in drop-out cases (the likely causes), and which
--           cases are behind either figure?
-- Gives: view funnel, view dropout_causes, macro dropout_cases(process, activity),
--        macro dropout_factor_cases(process, factor)
-- Example:
--   SELECT step, activity, n_cases_reached, n_left_after, leave_rate
--   FROM funnel WHERE process = mot_process();
--   SELECT rank, factor, n_cases, n_dropout, confidence, lift, ci_low, ci_high
--   FROM dropout_causes WHERE process = mot_process() LIMIT 5;
--   FROM dropout_cases(mot_process(), (SELECT activity FROM funnel WHERE process = mot_process() ORDER BY n_left_after DESC, step LIMIT 1))
--   LIMIT 5;
--   FROM dropout_factor_cases(mot_process(), (SELECT factor FROM dropout_causes WHERE process = mot_process() AND rank = 1)) LIMIT 5;
--
-- From the tables mining/moments writes: dropout_funnel (the place) and dropout_attribution (the
-- cause, with lift and its interval; echo_of names an earlier factor that holds in nearly the same
-- cases, or '<MOT> repeated' when a factor at a repeated MOT is over-represented only because its
-- cases have more occurrences of that MOT; such echoes rank last). lift, base_rate, ci_low, ci_high
-- are exposure-controlled (compared within cases with the same number of occurrences of the MOT);
-- crude_lift ignores exposure. status: 'finding' (interval above 1, enough cases), 'no clear
-- effect', 'echo', 'too few cases' (below attribution.min_cases / min_dropout_cases: never a
-- finding); note says why. The drill-downs re-derive the cases from mot_events and
-- case_outcomes with the same definitions, so their counts equal the figures.

CREATE OR REPLACE VIEW funnel AS
SELECT process, step, activity, n_cases_reached, n_dropout_reached, n_left_after,
    n_dropout_events, share_of_dropouts, leave_rate
FROM dropout_funnel
ORDER BY process, step, activity;

CREATE OR REPLACE VIEW dropout_causes AS
SELECT process, rank, factor_kind, factor, activity, value, n_cases, n_dropout,
    n_reached, support, coverage, confidence, base_rate, lift, relative_risk, ci_low, ci_high,
    echo_of, status, note, crude_lift, crude_ci_low, n_strata, rr_low, rr_high
FROM dropout_attribution
ORDER BY process, rank;

-- Drop-out cases whose last moment of truth before the drop-out event is `activity`
-- (funnel.n_left_after), with their journey.
CREATE OR REPLACE MACRO dropout_cases(p, act) AS TABLE
WITH guard AS MATERIALIZED (
    SELECT mot_check_process(p) AND mot_check_activity(p, act) AS ok,
        p AS g_process, act AS g_activity
),
last_moment AS (
    SELECT m.process, m.case_id, arg_max(m.activity, m.pos) AS activity, max(m.ts) AS left_after_ts
    FROM mot_events m
    JOIN case_outcomes o USING (process, case_id)
    CROSS JOIN guard
    WHERE guard.ok AND m.process = guard.g_process AND o.outcome = 'dropout' AND m.is_moment_of_truth
        AND (o.outcome_pos IS NULL OR m.event_pos < o.outcome_pos)
    GROUP BY m.process, m.case_id
)
SELECT l.process, l.case_id, l.left_after_ts, o.outcome_activity, o.outcome_ts, o.outcome_rule,
    j.final_score, j.journey
FROM last_moment l
JOIN case_outcomes o USING (process, case_id)
LEFT JOIN mot_journeys j USING (process, case_id)
CROSS JOIN guard
WHERE guard.ok AND l.activity = guard.g_activity
ORDER BY l.case_id;

-- The cases that have one factor of dropout_causes (among the cases it was compared in), drop-outs first.
CREATE OR REPLACE MACRO dropout_factor_cases(p, f) AS TABLE
WITH guard AS MATERIALIZED (
    SELECT mot_check_process(p)
        AND mot_require(f IN (SELECT factor FROM dropout_attribution WHERE process = p)
            OR NOT EXISTS (SELECT 1 FROM dropout_attribution WHERE process = p),
            'factor ' || coalesce('''' || f || '''', 'NULL') || ' is not a factor of process '''
            || coalesce(p, 'NULL') || '''; see: SELECT factor FROM dropout_causes WHERE process = '''
            || coalesce(p, 'NULL') || '''') AS ok,
        p AS g_process, f AS g_factor
),
chosen AS (
    SELECT factor_kind, activity, value
    FROM dropout_attribution, guard
    WHERE guard.ok AND process = guard.g_process AND factor = guard.g_factor
),
-- The population the attribution compared: drop-outs plus the outcomes in its settings.
population AS (
    -- null in the settings: every outcome but 'open'
    SELECT CAST(json_extract(r.settings, '$.attribution.population') AS VARCHAR[]) AS outcomes
    FROM guard LEFT JOIN mot_runs r ON r.process = guard.g_process
),
before_outcome AS (
    SELECT m.*, e.attrs
    FROM mot_events m
    JOIN case_outcomes o USING (process, case_id)
    JOIN event_log e ON e.process = m.process AND e.case_id = m.case_id AND e.pos = m.event_pos
    CROSS JOIN guard
    CROSS JOIN population
    WHERE guard.ok AND m.process = guard.g_process AND m.is_moment_of_truth
        AND (o.outcome = 'dropout' OR list_contains(population.outcomes, o.outcome)
            OR (population.outcomes IS NULL AND o.outcome <> 'open'))
        AND (o.outcome_pos IS NULL OR m.event_pos < o.outcome_pos)
),
with_factor AS (
    SELECT b.process, b.case_id
    FROM before_outcome b, chosen k
    WHERE b.activity = k.activity
        AND CASE k.factor_kind
            WHEN 'poor_score' THEN coalesce(b.poor, false)
            WHEN 'long_wait' THEN coalesce(b.long_wait, false)
            WHEN 'repeated' THEN b.occurrence >= 2
            -- 'channel = e-mail' names the channel as mining/moments normalised it; other
            -- attributes are named as the source wrote them
            WHEN 'attribute' THEN k.value = 'channel = ' || b.channel
                OR k.value = split_part(k.value, ' = ', 1) || ' = '
                    || json_extract_string(b.attrs, '$."' || split_part(k.value, ' = ', 1) || '"')
            ELSE false END
    GROUP BY b.process, b.case_id
)
SELECT w.process, w.case_id, o.outcome, o.outcome_activity, j.final_score, j.journey
FROM with_factor w
JOIN case_outcomes o USING (process, case_id)
LEFT JOIN mot_journeys j USING (process, case_id)
CROSS JOIN guard
WHERE guard.ok
ORDER BY o.outcome <> 'dropout', w.case_id;
