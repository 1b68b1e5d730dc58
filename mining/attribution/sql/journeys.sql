-- The journeys of $process: every case of case_outcomes with its moments of truth in order
-- (a case without moments has one row with a NULL activity). Only these columns of the moments
-- step are read: case_outcomes.outcome; mot_events.is_moment_of_truth, mot_seq, activity, poor.
-- A moment whose poor flag is NULL (not judged) counts as not poor.
SELECT o.case_id, o.outcome, e.activity, coalesce(e.poor, false) AS poor
FROM case_outcomes o
LEFT JOIN mot_events e
    ON e.process = o.process AND e.case_id = o.case_id AND e.is_moment_of_truth
WHERE o.process = $process
ORDER BY o.case_id, e.mot_seq NULLS FIRST, e.activity
