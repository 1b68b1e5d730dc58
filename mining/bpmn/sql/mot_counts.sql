-- Moment-of-truth events of $process per activity (for the as-is / to-be comparison of MOTs per case).
SELECT activity, count(*) AS n_moments
FROM mot_events
WHERE process = $process AND is_moment_of_truth
GROUP BY activity
ORDER BY activity;
