-- Activities of $process with events that no moment-of-truth rule decided, for review (table mot_activities).
SELECT activity, n_events, undecided_share, is_moment_of_truth, share, rules
FROM mot_activities
WHERE process = $process AND NOT decided
ORDER BY n_events DESC, activity;
