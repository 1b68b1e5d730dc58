-- Question: What did the customer go through in each case: which moments of truth, in which
--           order, through which channel, how each one scored and how the case ended?
-- Gives: view mot_journeys, macro mot_journey(process, case_id)
-- Example:
--   SELECT case_id, outcome, n_moments, n_poor, final_score, journey
--   FROM mot_journeys WHERE process = mot_process() ORDER BY final_score LIMIT 5;
--   FROM mot_journey(mot_process(), (SELECT min(case_id) FROM mot_journeys WHERE process = mot_process()));
--
-- From mot_events, case_scores and case_outcomes (mining/moments). The journey text lists each
-- moment of truth (one activity instance) as 'activity [channel] score'; a '!' marks a poor one
-- (its expectation was missed).

CREATE OR REPLACE VIEW mot_journeys AS
WITH moments AS (
    SELECT process, case_id,
        string_agg(activity || coalesce(' [' || channel || ']', '') || ' '
            || printf('%+.2f', coalesce(score, 0)) || CASE WHEN poor THEN ' !' ELSE '' END,
            ' > ' ORDER BY pos) AS journey,
        list(activity ORDER BY pos) AS moments
    FROM mot_events
    WHERE is_moment_of_truth
    GROUP BY process, case_id
)
SELECT s.process, s.case_id, s.outcome, o.outcome_activity, o.outcome_ts,
    s.n_moments, s.n_poor, s.final_score, s.min_score, s.mean_score,
    m.journey, m.moments
FROM case_scores s
LEFT JOIN case_outcomes o USING (process, case_id)
LEFT JOIN moments m USING (process, case_id)
ORDER BY s.process, s.case_id;

-- Every activity instance of one case (pos = instance_pos) with its moment-of-truth mark, its
-- expectation and how it was judged, the score signals and the running score.
CREATE OR REPLACE MACRO mot_journey(p, c) AS TABLE
WITH guard AS MATERIALIZED (
    SELECT mot_check_process(p) AND mot_check_case(p, c) AS ok,
        p AS g_process, CAST(c AS VARCHAR) AS g_case
)
SELECT m.process, m.case_id, m.pos, m.ts, m.activity, m.resource, m.is_moment_of_truth,
    m.mot_seq, m.channel, m.rule,
    m.wait_s, mot_duration(m.wait_s) AS wait, mot_duration(m.ref_wait_s) AS wait_budget,
    m.expectation_source, m.wait_status, m.effort_units, m.effort_budget, m.timer, m.timer_rule,
    m.score, m.running_score, m.poor, m.s_met,
    m.s_wait, m.s_repeat, m.s_channel_switch, m.s_handoff, m.s_effort, m.s_attribute, m.s_outcome,
    m.attribute_signals,
    coalesce(ei.instance_pos = m.pos, false) AS decides_outcome
FROM mot_events m
LEFT JOIN case_outcomes o USING (process, case_id)
LEFT JOIN event_instances ei ON ei.process = m.process AND ei.case_id = m.case_id AND ei.pos = o.outcome_pos
CROSS JOIN guard
WHERE guard.ok AND m.process = guard.g_process AND m.case_id = guard.g_case
ORDER BY m.pos;
