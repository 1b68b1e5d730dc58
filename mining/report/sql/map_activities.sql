-- The activities of $process: how often, in how many cases, how often first or last (view activities).
SELECT activity, frequency, n_cases, n_start, n_end
FROM activities
WHERE process = $process
ORDER BY activity;
