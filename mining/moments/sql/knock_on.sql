-- Knock-on: P(next MOT poor | this MOT poor) against the base rate P(next MOT poor), over
-- consecutive MOTs of a case: overall (from_activity = to_activity = '*') and per pair.
-- The interval is Wilson's for p_poor_given_poor at normal quantile z. The overall row also
-- gets an adjusted base rate: what the poor-from pairs would show if only their pair mix mattered
-- (each pair's own base rate, weighted by its poor-from pairs), and adjusted_lift against it.
-- 'effect' compares the interval with the adjusted base rate ('vicious': ci_low above it,
-- 'damping': ci_high below it); for a pair row the adjusted base rate is its base rate.
-- Pairs are consecutive moment INSTANCES (a call's lifecycle events are one instance, so no pair
-- lies inside one); a pair whose second moment's wait is timer-driven (mot_events.timer) is left
-- out and counted in n_timer_excluded. With fewer than $min_pairs pairs the effect is
-- 'not measurable: n < $min_pairs' (no headline on a handful of pairs). An interval that excludes
-- the adjusted base rate while the adjusted lift stays between 1 / $min_lift and $min_lift is
-- 'small': measurable, but too weak to call a circle.
DELETE FROM knock_on WHERE process = $process;

INSERT INTO knock_on BY NAME
WITH sequence AS (
    SELECT activity AS a, lead(activity) OVER w AS b, poor AS a_poor, lead(poor) OVER w AS b_poor,
        lead(timer_wait) OVER w AS b_timer
    FROM mot_scored
    WINDOW w AS (PARTITION BY case_id ORDER BY instance_pos)
),
timer_excluded AS (
    SELECT a, b, count(*) AS n_timer_excluded FROM sequence WHERE b IS NOT NULL AND b_timer GROUP BY a, b
),
per_pair AS (
    SELECT a, b,
        count(*) AS n,
        count(*) FILTER (WHERE a_poor) AS n_from_poor,
        count(*) FILTER (WHERE a_poor AND b_poor) AS n_poor_poor,
        count(*) FILTER (WHERE NOT a_poor) AS n_from_good,
        count(*) FILTER (WHERE NOT a_poor AND b_poor) AS n_good_poor,
        count(*) FILTER (WHERE b_poor) AS n_to_poor
    FROM sequence
    WHERE b IS NOT NULL AND NOT b_timer
    GROUP BY a, b
),
overall AS (
    SELECT '*' AS a, '*' AS b,
        sum(n) AS n, sum(n_from_poor) AS n_from_poor, sum(n_poor_poor) AS n_poor_poor,
        sum(n_from_good) AS n_from_good, sum(n_good_poor) AS n_good_poor, sum(n_to_poor) AS n_to_poor,
        -- summed in a fixed order, so that the result is the same to the last bit on every run
        list_sum(list(n_from_poor * n_to_poor / n ORDER BY a, b)) / nullif(sum(n_from_poor), 0) AS adjusted
    FROM per_pair
    HAVING sum(n) > 0
),
all_rows AS (
    SELECT *, n_to_poor / n AS adjusted FROM per_pair
    UNION ALL BY NAME
    SELECT * FROM overall
),
rates AS (
    SELECT a, b, n, n_from_poor, n_poor_poor, adjusted,
        coalesce((SELECT sum(n_timer_excluded) FROM timer_excluded t WHERE (all_rows.a = '*' OR t.a = all_rows.a)
            AND (all_rows.b = '*' OR t.b = all_rows.b)), 0) AS n_timer_excluded,
        n_poor_poor / nullif(n_from_poor, 0) AS p_poor_given_poor,
        n_good_poor / nullif(n_from_good, 0) AS p_poor_given_good,
        n_to_poor / n AS base_rate,
        mot_wilson_low(n_poor_poor, n_from_poor, $z) AS ci_low,
        mot_wilson_high(n_poor_poor, n_from_poor, $z) AS ci_high
    FROM all_rows
)
SELECT $process AS process, a AS from_activity, b AS to_activity, n,
    mot_figure(p_poor_given_poor) AS p_poor_given_poor, mot_figure(base_rate) AS base_rate,
    mot_figure(p_poor_given_poor / nullif(base_rate, 0)) AS lift,
    mot_figure(ci_low) AS ci_low, mot_figure(ci_high) AS ci_high, n_from_poor, n_poor_poor,
    mot_figure(p_poor_given_good) AS p_poor_given_good,
    mot_figure(adjusted) AS adjusted_base_rate,
    mot_figure(p_poor_given_poor / nullif(adjusted, 0)) AS adjusted_lift,
    CASE WHEN n < $min_pairs THEN 'not measurable: n < ' || $min_pairs
         WHEN n_from_poor = 0 THEN 'not measurable: no poor moment'
         -- an interval that clears the base rate by a hair on 90,000 pairs is no circle: below
         -- $min_lift (either way) the effect is 'small'
         WHEN (ci_low > adjusted OR ci_high < adjusted)
              AND p_poor_given_poor < adjusted * $min_lift AND p_poor_given_poor > adjusted / $min_lift THEN 'small'
         WHEN ci_low > adjusted THEN 'vicious' WHEN ci_high < adjusted THEN 'damping' ELSE 'none' END AS effect,
    CAST(n_timer_excluded AS BIGINT) AS n_timer_excluded
FROM rates
ORDER BY (a = '*') DESC, a, b;
