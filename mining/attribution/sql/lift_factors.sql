-- The lift ranking of $process (dropout_attribution, written by the moments step), one row per factor.
SELECT factor_kind, activity, lift, ci_low, rank, echo_of
FROM dropout_attribution
WHERE process = $process
ORDER BY rank
