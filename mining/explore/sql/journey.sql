-- One case's journey (mining.explore.queries.journey): its events in order, each with the moment
-- of truth its activity instance is (mot_events is one row per instance; the moment sits on its
-- marking event, event_pos; NULL: not a moment), the running score after it and its wait against the expectation.

-- @section case
SELECT c.case_id, c.start_ts, c.end_ts, c.n_events, c.duration_s AS throughput_s, v.rank AS variant,
    o.outcome, o.outcome_activity, o.outcome_rule, s.final_score, s.n_moments, s.n_poor
FROM cases AS c
LEFT JOIN variants AS v ON v.process = c.process AND v.variant_id = c.variant_id
LEFT JOIN case_outcomes AS o ON o.process = c.process AND o.case_id = c.case_id
LEFT JOIN case_scores AS s ON s.process = c.process AND s.case_id = c.case_id
WHERE c.process = $process AND c.case_id = $case_id;

-- @section events
SELECT e.pos, e.activity, e.ts, e.resource, e.lifecycle, e.attrs, ei.instance_pos,
    m.is_moment_of_truth AND m.event_pos = e.pos AS is_moment_of_truth,
    CASE WHEN m.event_pos = e.pos THEN m.channel END AS channel,
    CASE WHEN m.event_pos = e.pos THEN m.score END AS score,
    CASE WHEN m.event_pos = e.pos THEN m.running_score END AS running_score,
    CASE WHEN m.event_pos = e.pos THEN m.poor END AS poor,
    CASE WHEN m.event_pos = e.pos THEN m.wait_s END AS wait_s,
    CASE WHEN m.event_pos = e.pos THEN m.ref_wait_s END AS expected_wait_s,
    CASE WHEN m.event_pos = e.pos THEN m.expectation_source END AS expectation_source,
    CASE WHEN m.event_pos = e.pos THEN m.wait_status END AS wait_status
FROM event_log AS e
LEFT JOIN event_instances AS ei ON ei.process = e.process AND ei.case_id = e.case_id AND ei.pos = e.pos
LEFT JOIN mot_events AS m
    ON m.process = e.process AND m.case_id = e.case_id AND m.pos = ei.instance_pos AND m.is_moment_of_truth
WHERE e.process = $process AND e.case_id = $case_id
ORDER BY e.pos;
