-- The running score of $process after the n-th moment of truth: mean, 10th-90th percentile (view running_score_curve).
SELECT mot_seq, n_cases, mean_running_score, p10_running_score, median_running_score, p90_running_score, poor_share
FROM running_score_curve
WHERE process = $process
ORDER BY mot_seq;
