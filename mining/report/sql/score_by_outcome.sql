-- Cases of $process per outcome with their final and lowest running scores (view score_by_outcome).
SELECT outcome, n_cases, share, mean_final_score, median_final_score, mean_min_score, mean_moments, mean_poor_moments,
    mean_moment_score
FROM score_by_outcome
WHERE process = $process
ORDER BY n_cases DESC, outcome;
