-- knock_on.csv: the rows of the processes $processes, in their order (a `process` column last).
SELECT from_activity, to_activity, n, n_from_poor, n_poor_poor, round(p_poor_given_poor, 6) AS p_poor_given_poor,
    round(p_poor_given_good, 6) AS p_poor_given_good, round(base_rate, 6) AS base_rate,
    round(adjusted_base_rate, 6) AS adjusted_base_rate, round(lift, 6) AS lift,
    round(adjusted_lift, 6) AS adjusted_lift,
    round(ci_low, 6) AS ci_low, round(ci_high, 6) AS ci_high, effect, process
FROM knock_on WHERE list_contains($processes, process)
ORDER BY list_position($processes, process), (from_activity = '*') DESC, from_activity, to_activity
