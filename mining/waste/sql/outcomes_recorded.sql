-- Case outcomes as the moments-of-truth analysis recorded them (case_outcomes).
CREATE OR REPLACE TEMP TABLE waste_outcomes AS
SELECT case_id, outcome, outcome_activity
FROM case_outcomes
WHERE process = $process
ORDER BY case_id;
