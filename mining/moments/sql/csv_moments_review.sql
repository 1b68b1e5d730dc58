-- moments_review.csv: the rows of the processes $processes, in their order (a `process` column last).
SELECT activity, n_events, round(undecided_share, 6) AS undecided_share, is_moment_of_truth, rules, process
FROM mot_activities WHERE list_contains($processes, process) AND NOT decided
ORDER BY list_position($processes, process), n_events DESC, activity
