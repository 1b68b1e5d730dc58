-- The directly-follows arrows of $process with frequency, cases and waits (view dfg).
SELECT source_activity, target_activity, frequency, n_cases, median_s, mean_s, max_s
FROM dfg
WHERE process = $process
ORDER BY source_activity, target_activity;
