-- moments.csv: the rows of the processes $processes, in their order (a `process` column last).
SELECT activity, is_moment_of_truth, round(share, 6) AS share, channel, rule, decided, n_events,
    n_moments, round(undecided_share, 6) AS undecided_share, lifecycles, channels, rules, process
FROM mot_activities WHERE list_contains($processes, process)
ORDER BY list_position($processes, process), activity
