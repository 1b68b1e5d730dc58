-- Question: Which steps are the best candidates for removal or repair (waste score, with the
--           recommendation, its reason and what removing it would save), and which cases carry
--           a given step?
-- Gives: view waste_ranking, macro waste_cases(process, activity)
-- Example:
--   SELECT rank, activity, waste_score, recommendation, hours_saved_per_month, explanation
--   FROM waste_ranking WHERE process = mot_process() LIMIT 5;
--   FROM waste_cases(mot_process(), (SELECT activity FROM waste_ranking WHERE process = mot_process() AND repeat_rate > 0 ORDER BY rank LIMIT 1))
--   WHERE repeated LIMIT 5;
--
-- From waste_activities (mining/waste; docs/waste.md explains the evidence rules, the score and its
-- components). Steps are activity instances (activity_instances: SCHEDULE / START / COMPLETE of one
-- activity are one step); alternatives and hand-off pairs are judged as one functional step, whose
-- figures every member row carries. waste_cases counts the instances of one activity per case.

CREATE OR REPLACE VIEW waste_ranking AS
SELECT process, rank, activity, functional_step, recommendation, scope, evidence, not_measurable,
    waste_score, reason, merge_into, is_moment_of_truth, explanation,
    c_no_decision, c_optional, c_no_outcome_effect, c_rework, c_redundancy, c_delay, c_handoff,
    c_customer_effort,
    frequency, cases, case_share, repeat_rate, rework_rate, pingpong_rate, handoff_rate,
    mot_duration(median_wait_s) AS median_wait,
    whatif_scope, whatif_cases_affected, whatif_steps_removed,
    mot_duration(whatif_mean_throughput_s_saved) AS throughput_saved_per_case,
    whatif_case_hours_saved AS case_hours_saved,
    whatif_hours_saved_per_month AS hours_saved_per_month,
    whatif_work_hours_saved_per_month AS work_hours_saved_per_month,
    impact_rank
FROM waste_activities
ORDER BY process, rank, activity;

-- The cases with at least one step of `activity`: how many steps, whether it repeats, the wait
-- before its first step and how long the whole case took.
CREATE OR REPLACE MACRO waste_cases(p, act) AS TABLE
WITH guard AS MATERIALIZED (
    SELECT mot_check_process(p) AND mot_check_activity(p, act) AS ok,
        p AS g_process, act AS g_activity
)
SELECT i.process, i.case_id,
    count(*) AS steps,
    count(*) > 1 AS repeated,
    min(i.ts) AS first_step_at,
    mot_duration(arg_min(i.idle_s, i.instance_pos)) AS wait_before_first,
    any_value(c.n_events) AS case_events,
    mot_duration(any_value(c.duration_s)) AS case_duration,
    any_value(o.outcome) AS outcome
FROM activity_instances i
CROSS JOIN guard
JOIN cases c USING (process, case_id)
LEFT JOIN case_outcomes o USING (process, case_id)
WHERE guard.ok AND i.process = guard.g_process AND i.activity = guard.g_activity
GROUP BY i.process, i.case_id
ORDER BY steps DESC, i.case_id;
