-- Running-score trajectories of a fixed sample of cases of $process: per outcome the 25 cases
-- with the smallest md5(case_id), so the sample is the same on every run (table case_scores).
WITH sample AS (
    SELECT case_id, outcome, trajectory,
        row_number() OVER (PARTITION BY outcome ORDER BY md5(case_id), case_id) AS pick
    FROM case_scores
    WHERE process = $process AND n_moments > 0
    QUALIFY pick <= 25
)
SELECT s.case_id, s.outcome, CAST(u.i AS INTEGER) AS mot_seq, s.trajectory[u.i] AS running_score
FROM sample s, LATERAL (SELECT generate_subscripts(s.trajectory, 1) AS i) u
ORDER BY s.outcome, s.case_id, mot_seq;
