-- mot_events of process $process: every event with its marks and, for moments of truth, its scores.
-- mining.moments.analysis.insert_events runs `clear` once, then `chunk` once per range of case ids
-- [$lo, $hi) (NULL = open end), in ascending order. One range's sort fits in memory where the sort
-- of all of a 10-million-event log (about 30 columns) spills to disk; the table is written in
-- (case_id, pos) order exactly as one pass would write it.

-- @section clear
DELETE FROM mot_events WHERE process = $process;

-- @section chunk
INSERT INTO mot_events BY NAME
SELECT b.process, b.case_id, b.pos, b.event_key, b.activity,
    b.is_moment AS is_moment_of_truth, b.rule, b.channel, s.wait_s, s.score, s.running_score, s.poor,
    b.ts, b.resource, b.decided, s.mot_seq, s.occurrence, s.ref_wait_s, s.long_wait, s.handoffs,
    s.channel_switch, CASE WHEN b.is_moment THEN b.effort END AS effort,
    s.s_wait, s.s_repeat, s.s_channel_switch, s.s_handoff, s.s_effort, s.s_attribute, s.s_outcome,
    s.experience_score, b.attribute_signals
FROM mot_base b
LEFT JOIN mot_scored s ON s.case_id = b.case_id AND s.pos = b.pos
WHERE ($lo IS NULL OR b.case_id >= $lo) AND ($hi IS NULL OR b.case_id < $hi)
ORDER BY b.case_id, b.pos;
