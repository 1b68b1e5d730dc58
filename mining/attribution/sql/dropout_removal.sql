-- Rebuild dropout_removal for $process from the rows computed in Python (registered as
-- mot_removal_rows); floats are rounded to 12 significant digits where they are stored (mot_figure).
DELETE FROM dropout_removal WHERE process = $process;

INSERT INTO dropout_removal BY NAME
SELECT $process AS process, kind, activity, state, measurable, reason, CAST(rank AS INTEGER) AS rank,
    mot_figure(dropouts_avoided) AS dropouts_avoided, mot_figure(ci_low) AS ci_low,
    mot_figure(ci_high) AS ci_high, mot_figure(share_of_dropouts) AS share_of_dropouts,
    mot_figure(p_dropout) AS p_dropout, mot_figure(p_dropout_without) AS p_dropout_without,
    n_cases, n_dropout, n_cases_through, n_dropout_through, lift_factor,
    CAST(lift_rank AS INTEGER) AS lift_rank, mot_figure(lift) AS lift, mot_figure(lift_ci_low) AS lift_ci_low,
    echo_of, agreement, chain, chain_note
FROM mot_removal_rows
ORDER BY kind, activity;
