-- Question: Does a poor moment of truth make the next one more likely to be poor (a vicious
--           circle), overall and per pair of consecutive moments, and which cases show it?
-- Gives: view knock_on_effects, macro knock_on_pairs(process, from_activity, to_activity)
-- Example:
--   SELECT from_activity, to_activity, n, n_from_poor, p_poor_given_poor, base_rate, lift, ci_low, ci_high, effect
--   FROM knock_on_effects WHERE process = mot_process() LIMIT 10;
--   FROM knock_on_pairs(mot_process(), '*', '*') WHERE from_poor AND to_poor LIMIT 5;
--
-- From the knock_on table (mining/moments): P(next MOT poor | this MOT poor) against the base
-- rate, with a Wilson interval; effect is 'vicious' when the interval lies above the base rate,
-- 'not measurable: n < 30' on fewer pairs (scoring.knock_on_min_pairs). Pairs are consecutive moment
-- instances; a pair whose second moment waited on a timer (mot_events.timer) is left out and
-- counted in n_timer_excluded.
-- The overall row has from_activity = to_activity = '*'; the drill-down accepts '*' for any.

CREATE OR REPLACE VIEW knock_on_effects AS
SELECT process, from_activity, to_activity, n, n_from_poor, n_poor_poor,
    p_poor_given_poor, p_poor_given_good, base_rate, lift, ci_low, ci_high, effect, n_timer_excluded
FROM knock_on
ORDER BY process, from_activity <> '*', effect <> 'vicious', lift DESC NULLS LAST, from_activity, to_activity;

-- Consecutive moment-of-truth pairs behind one knock_on row, each with whether either side was poor.
CREATE OR REPLACE MACRO knock_on_pairs(p, from_act, to_act) AS TABLE
WITH guard AS MATERIALIZED (
    SELECT mot_check_process(p)
        AND (from_act = '*' OR mot_check_activity(p, from_act))
        AND (to_act = '*' OR mot_check_activity(p, to_act)) AS ok,
        p AS g_process, from_act AS g_from, to_act AS g_to
),
pairs AS (
    SELECT process, case_id, pos AS from_pos, activity AS from_activity, poor AS from_poor,
        score AS from_score,
        lead(pos) OVER w AS to_pos, lead(activity) OVER w AS to_activity,
        lead(poor) OVER w AS to_poor, lead(score) OVER w AS to_score, lead(timer) OVER w AS to_timer
    FROM mot_events, guard
    WHERE guard.ok AND process = guard.g_process AND is_moment_of_truth
    WINDOW w AS (PARTITION BY process, case_id ORDER BY pos)
)
SELECT pairs.*
FROM pairs, guard
WHERE guard.ok AND to_pos IS NOT NULL AND NOT to_timer
    AND (guard.g_from = '*' OR from_activity = guard.g_from)
    AND (guard.g_to = '*' OR to_activity = guard.g_to)
ORDER BY case_id, from_pos;
