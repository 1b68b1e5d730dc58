-- The distinct journeys of $process and their case counts: every case of case_outcomes with its
-- moments of truth in order (a case without moments has empty lists). Only these columns of the
-- moments step are read: case_outcomes.outcome; mot_events.is_moment_of_truth, mot_seq, activity,
-- poor. A moment whose poor flag is NULL (not judged) counts as not poor.
-- Grouped here rather than in Python: one row per distinct journey comes back, not one per moment.
WITH per_case AS (
    SELECT o.case_id,
        any_value(o.outcome) AS outcome,
        coalesce(list(e.activity ORDER BY e.mot_seq NULLS FIRST, e.activity)
            FILTER (WHERE e.activity IS NOT NULL), []) AS activities,
        coalesce(list(coalesce(e.poor, false) ORDER BY e.mot_seq NULLS FIRST, e.activity)
            FILTER (WHERE e.activity IS NOT NULL), []) AS poor
    FROM case_outcomes o
    LEFT JOIN mot_events e
        ON e.process = o.process AND e.case_id = o.case_id AND e.is_moment_of_truth
    WHERE o.process = $process
    GROUP BY o.case_id
)
SELECT outcome, activities, poor, count(*) AS n_cases
FROM per_case
GROUP BY ALL
ORDER BY ALL
