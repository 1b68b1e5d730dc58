-- The findings of the run (mining.explore.queries.findings), as the analyses stored them for the
-- whole process: the filters do not change them (drill into their cases with /api/cases).

-- @section waste
SELECT rank, activity, functional_step, functional_kind, recommendation, scope, evidence,
    CAST(not_measurable AS VARCHAR) AS not_measurable, waste_score, explanation, reason, merge_into,
    is_moment_of_truth, frequency, cases, whatif_scope, whatif_cases_affected, whatif_steps_removed,
    whatif_mean_throughput_s_saved, whatif_case_hours_saved, whatif_saving_method, whatif_mots_saved_per_case,
    whatif_variants_before, whatif_variants_after, impact_rank
FROM waste_activities
WHERE process = $process
ORDER BY rank, activity;

-- @section dropout_places
SELECT rank, activity, after_activity, n_dropout, share
FROM dropout_places
WHERE process = $process
ORDER BY rank;

-- @section dropout_causes
SELECT rank, factor_kind, factor, activity, value, n_cases, n_dropout, support, coverage, confidence, base_rate,
    lift, ci_low, ci_high, relative_risk, status, note, echo_of
FROM dropout_attribution
WHERE process = $process
ORDER BY rank
LIMIT 50;

-- @section dropout_removal
SELECT kind, activity, state, measurable, reason, rank, dropouts_avoided, ci_low, ci_high, share_of_dropouts,
    n_cases_through, n_dropout_through, lift_factor, lift_rank, agreement, chain, chain_note
FROM dropout_removal
WHERE process = $process
ORDER BY kind, rank NULLS LAST, activity;

-- @section knock_on
SELECT from_activity, to_activity, n, n_from_poor, n_poor_poor, p_poor_given_poor, p_poor_given_good, base_rate,
    lift, ci_low, ci_high, effect, n_timer_excluded
FROM knock_on
WHERE process = $process
ORDER BY from_activity <> '*', effect <> 'vicious', lift DESC NULLS LAST, from_activity, to_activity;

-- @section funnel
SELECT step, activity, n_cases_reached, n_dropout_reached, n_left_after, n_dropout_events, share_of_dropouts,
    leave_rate
FROM dropout_funnel
WHERE process = $process
ORDER BY step, activity;

-- @section status
SELECT outcomes_defined, reason FROM outcome_status WHERE process = $process;
