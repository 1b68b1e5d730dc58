-- Removal effects of $process (table dropout_removal): per moment and per poor variant, the drop-outs
-- that would not happen without it, beside the rank of the matching factor in the lift ranking.
SELECT kind, rank, state, activity, measurable, reason, dropouts_avoided, ci_low, ci_high, share_of_dropouts,
    p_dropout, p_dropout_without, n_cases, n_dropout, n_dropout_through, lift_factor, lift_rank, lift,
    echo_of, agreement, chain, chain_note
FROM dropout_removal
WHERE process = $process
ORDER BY kind DESC, rank NULLS LAST, activity;
