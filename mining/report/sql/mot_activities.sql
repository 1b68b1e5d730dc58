-- Which activities of $process are moments of truth, through which channel, decided by which rule (table mot_activities).
SELECT activity, is_moment_of_truth, share, channel, rule, n_events, n_moments, decided, undecided_share, rules
FROM mot_activities
WHERE process = $process
ORDER BY activity;
