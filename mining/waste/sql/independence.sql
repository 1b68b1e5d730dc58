-- Who did each step (its first instance in the case) against the case outcome, over decided cases:
-- the contingency table of the test that the outcome does not depend on the step's resource.
SELECT s.activity, s.resource, c.outcome, count(*) AS n
FROM waste_steps s
JOIN waste_cases c USING (case_id)
WHERE s.occurrence = 1 AND s.resource IS NOT NULL AND c.outcome IS NOT NULL AND c.outcome <> 'open'
GROUP BY ALL
ORDER BY s.activity, s.resource, c.outcome;
