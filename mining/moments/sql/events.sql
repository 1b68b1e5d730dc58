-- mot_events of process $process: every activity instance with its marks and, for moments of truth,
-- its expectation, judgement and scores (pos = instance_pos; event_pos = its marking, else first, event).
-- mining.moments.analysis.insert_events runs `clear` once, then `chunk` once per range of case ids
-- [$lo, $hi) (NULL = open end), in ascending order. One range's sort fits in memory where the sort
-- of all of a 10-million-event log (about 30 columns) spills to disk; the table is written in
-- (case_id, pos) order exactly as one pass would write it.

-- @section clear
DELETE FROM mot_events WHERE process = $process;

-- @section chunk
INSERT INTO mot_events BY NAME
SELECT b.process, b.case_id, b.instance_pos AS pos, b.event_key, b.activity,
    b.is_moment AS is_moment_of_truth, b.rule, b.channel, s.wait_s, s.score, s.running_score, s.poor,
    b.ts, b.resource, b.decided, s.mot_seq, s.occurrence, s.ref_wait_s, s.long_wait, s.handoffs,
    s.channel_switch, CASE WHEN b.is_moment THEN coalesce(b.effort, false) END AS effort,
    s.s_wait, s.s_repeat, s.s_channel_switch, s.s_handoff, s.s_effort, s.s_attribute, s.s_outcome,
    s.experience_score, b.attribute_signals,
    b.pos AS event_pos, b.n_events, s.expectation_source, s.wait_status, s.effort_units, s.effort_budget,
    s.effort_over, s.s_met, coalesce(s.timer_wait, t.timer, false) AS timer,
    coalesce(s.timer_rule, t.timer_rule, CASE WHEN s.timer_wait THEN '(timer-driven instance before it)' END) AS timer_rule
FROM mot_inst_base b
LEFT JOIN mot_scored s ON s.case_id = b.case_id AND s.instance_pos = b.instance_pos
LEFT JOIN mot_timer_flags t ON t.case_id = b.case_id AND t.instance_pos = b.instance_pos
WHERE ($lo IS NULL OR b.case_id >= $lo) AND ($hi IS NULL OR b.case_id < $hi)
ORDER BY b.case_id, b.instance_pos;
