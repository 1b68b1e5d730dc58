-- Each moment of truth of $process: how often, main channel, mean score and share of poor ones (view mot_scores).
SELECT activity, n_moments, n_cases, main_channel, mean_score, mean_experience_score, n_poor, poor_share, median_wait
FROM mot_scores
WHERE process = $process
ORDER BY poor_share DESC, activity;
