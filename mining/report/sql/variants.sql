-- The ten most frequent variants of $process and how much of the process they cover (view variant_coverage).
SELECT rank, n_cases, share, cumulative_share, n_events, path, median_duration_s
FROM variant_coverage
WHERE process = $process
ORDER BY rank
LIMIT 10;
