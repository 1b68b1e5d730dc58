-- waste.csv: the ranking, the evidence, the components and the what-if figures of the processes
-- $processes, in their order (a `process` column last, as in the other CSV files of a run). The c_*
-- columns are mining.waste.score.COMPONENTS (tests/test_waste_tiny.py checks that they agree);
-- NULL = not measurable, the reason in not_measurable.
SELECT activity, functional_step, rank, recommendation, scope, evidence, not_measurable, waste_score, explanation,
    is_moment_of_truth, reason, merge_into,
    c_no_decision, c_optional, c_no_outcome_effect, c_rework, c_redundancy, c_delay, c_handoff, c_customer_effort,
    frequency, cases, rework_rate, median_wait_s, decides_nothing, decision_value, n_reached, n_with, n_without,
    rate_diff_pp, rate_diff_ci_low_pp, rate_diff_ci_high_pp, whatif_scope, whatif_cases_affected, whatif_steps_removed,
    whatif_mean_throughput_s_saved, whatif_case_hours_saved, whatif_saving_method, whatif_hours_saved_per_month,
    whatif_work_hours_saved_per_month, whatif_mots_saved_per_case, whatif_variants_before, whatif_variants_after,
    whatif_delay_s, whatif_anchor_before, whatif_anchor_after, impact_rank, process
FROM waste_activities
WHERE list_contains($processes, process)
ORDER BY list_position($processes, process), rank, activity
