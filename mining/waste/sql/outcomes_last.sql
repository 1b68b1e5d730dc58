-- Without recorded outcomes, a case's outcome class is its last activity.
CREATE OR REPLACE TEMP TABLE waste_outcomes AS
SELECT case_id, last_activity AS outcome, last_activity AS outcome_activity
FROM cases
WHERE process = $process
ORDER BY case_id;
