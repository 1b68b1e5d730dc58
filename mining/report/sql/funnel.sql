-- The drop-out funnel of $process: cases reaching each moment of truth and leaving after it (view funnel).
SELECT step, activity, n_cases_reached, n_dropout_reached, n_left_after, n_dropout_events, share_of_dropouts, leave_rate
FROM funnel
WHERE process = $process
ORDER BY step, activity;
