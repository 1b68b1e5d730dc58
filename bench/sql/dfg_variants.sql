-- DFG and variants of one process ($process) as an analyst asks the warehouse for them: from the
-- prepared tables (the ordered event log and the cases with their variant), counted again.
SELECT activity, next_activity, count(*) AS frequency
FROM event_log
WHERE process = $process AND next_activity IS NOT NULL
GROUP BY activity, next_activity
ORDER BY activity, next_activity;

SELECT v.activities, c.n_cases
FROM (SELECT variant_id, count(*) AS n_cases FROM cases WHERE process = $process GROUP BY variant_id) c
JOIN variants v ON v.process = $process AND v.variant_id = c.variant_id
ORDER BY c.n_cases DESC, v.variant_id;
