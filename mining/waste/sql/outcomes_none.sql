-- Without recorded outcomes (the moments step has not run for the process) no case has an outcome:
-- every outcome-based figure is 'not measurable: no outcome defined'.
CREATE OR REPLACE TEMP TABLE waste_outcomes AS
SELECT case_id, CAST(NULL AS VARCHAR) AS outcome, CAST(NULL AS VARCHAR) AS outcome_activity
FROM cases
WHERE process = $process
ORDER BY case_id;
