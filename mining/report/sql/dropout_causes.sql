-- Upstream factors over-represented in the drop-out cases of $process, strongest first (view dropout_causes).
SELECT rank, factor_kind, factor, activity, n_cases, n_dropout, support, coverage, confidence, base_rate,
    lift, ci_low, ci_high, crude_lift, n_strata, status, note
FROM dropout_causes
WHERE process = $process
ORDER BY rank
LIMIT 20;
