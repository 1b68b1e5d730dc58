-- dropout_removal.csv: the removal effects of the processes $processes, in their order (a `process`
-- column last); per process moments first, then poor variants, each by rank (not measurable last).
SELECT kind, rank, state, activity, measurable, reason, dropouts_avoided, ci_low, ci_high, share_of_dropouts,
    p_dropout, p_dropout_without, n_cases, n_dropout, n_cases_through, n_dropout_through,
    lift_factor, lift_rank, lift, lift_ci_low, echo_of, agreement, chain, chain_note, process
FROM dropout_removal
WHERE list_contains($processes, process)
ORDER BY list_position($processes, process), kind, rank NULLS LAST, activity
