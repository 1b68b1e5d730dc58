-- Knock-on of poor moments of truth in $process: P(next poor | this poor) against the base rate,
-- overall ('*') and per pair of consecutive moments (view knock_on_effects).
SELECT from_activity, to_activity, n, n_from_poor, n_poor_poor, p_poor_given_poor, p_poor_given_good,
    base_rate, lift, ci_low, ci_high, effect, n_timer_excluded
FROM knock_on_effects
WHERE process = $process
ORDER BY from_activity <> '*', effect <> 'vicious', lift DESC NULLS LAST, from_activity, to_activity;
