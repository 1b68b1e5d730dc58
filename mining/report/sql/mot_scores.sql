-- Each moment of truth of $process: how often, main channel, mean score and share of poor ones (view mot_scores).
SELECT activity, n_moments, n_cases, main_channel, mean_score, mean_experience_score, n_poor, poor_share, median_wait,
    expectation_source, wait_budget, n_wait_missed, n_effort_over, n_timer_driven
FROM mot_scores
WHERE process = $process
ORDER BY poor_share DESC, activity;
