-- Moments of truth per activity of $process (tables of mining/moments, migration 003):
-- the activity-level mark, and the running-score impact of its MOT events. An MOT event's score
-- is what it adds to the case's running score, so the impact is the mean score per occurrence.
SELECT a.activity,
    a.is_moment_of_truth,
    a.share,
    a.channel,
    a.rule,
    e.n_scored,
    e.score_mean,
    e.poor_share
FROM mot_activities a
LEFT JOIN (
    SELECT activity,
        count(score) AS n_scored,
        avg(score) AS score_mean,
        avg(CASE WHEN poor THEN 1.0 ELSE 0.0 END) FILTER (WHERE poor IS NOT NULL) AS poor_share
    FROM mot_events
    WHERE process = $process AND is_moment_of_truth AND score IS NOT NULL
    GROUP BY activity
) e USING (activity)
WHERE a.process = $process
ORDER BY a.activity;
