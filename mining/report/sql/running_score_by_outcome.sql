-- The mean running score of $process after the n-th moment of truth, per case outcome
-- (running_score_curve of the SQL library, split by case_outcomes.outcome).
SELECT o.outcome, m.mot_seq,
    count(*) AS n_cases,
    avg(m.running_score) AS mean_running_score
FROM mot_events m
JOIN case_outcomes o USING (process, case_id)
WHERE m.process = $process AND m.is_moment_of_truth AND m.mot_seq IS NOT NULL
GROUP BY o.outcome, m.mot_seq
ORDER BY o.outcome, m.mot_seq;
