-- Moments of truth per activity of $process when mot_events is not there (no scores).
SELECT activity, is_moment_of_truth, share, channel, rule,
    CAST(NULL AS BIGINT) AS n_scored, CAST(NULL AS DOUBLE) AS score_mean, CAST(NULL AS DOUBLE) AS poor_share
FROM mot_activities
WHERE process = $process
ORDER BY activity;
