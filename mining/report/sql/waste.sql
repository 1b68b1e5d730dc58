-- Recommendation, scope, evidence, not-measurable reasons, score and what-if removal of every activity of $process (table waste_activities).
SELECT rank, activity, functional_step, recommendation, scope, evidence, not_measurable, waste_score, explanation,
    reason, merge_into, is_moment_of_truth,
    c_no_decision, c_optional, c_no_outcome_effect, c_rework, c_redundancy, c_delay, c_handoff, c_customer_effort,
    frequency, cases, whatif_scope, whatif_cases_affected, whatif_steps_removed, whatif_mean_throughput_s_saved,
    whatif_case_hours_saved, whatif_saving_method, whatif_hours_saved_per_month, whatif_work_hours_saved_per_month,
    whatif_mots_saved_per_case, whatif_variants_before, whatif_variants_after, impact_rank
FROM waste_activities
WHERE process = $process
ORDER BY rank, activity;
