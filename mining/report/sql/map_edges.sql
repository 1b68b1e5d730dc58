-- The directly-follows arrows of $process with frequency and median wait (view dfg).
SELECT source_activity, target_activity, frequency, n_cases, median_s
FROM dfg
WHERE process = $process
ORDER BY source_activity, target_activity;
