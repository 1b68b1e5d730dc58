-- What each step records as its result: attributes of the step's closing event that are not on
-- every event of the log (so not case attributes or channels) and that the step fills in at least
-- 95% of its instances; their values against the case outcome (decided cases), for the test that
-- the outcome does not depend on them. Parameter: process.
WITH closing AS (
    SELECT i.case_id, coalesce(u.unit, i.activity) AS activity, e.attrs
    FROM activity_instances i
    JOIN event_log e ON e.process = i.process AND e.case_id = i.case_id AND e.pos = i.last_pos
    LEFT JOIN waste_units u ON u.activity = i.activity
    WHERE i.process = $process AND e.attrs IS NOT NULL
),
fields AS (
    SELECT c.case_id, c.activity, k.key,
        json_extract_string(c.attrs, '$."' || replace(k.key, '"', '\"') || '"') AS value
    FROM closing c, LATERAL (SELECT unnest(json_keys(c.attrs)) AS key) k
),
everywhere AS (
    SELECT key FROM fields GROUP BY key
    HAVING count(value) = (SELECT count(*) FROM closing)
),
instances AS (SELECT activity, count(*) AS n FROM closing GROUP BY activity),
result_fields AS (
    SELECT f.activity, f.key
    FROM fields f JOIN instances i USING (activity)
    WHERE f.key NOT IN (SELECT key FROM everywhere)
    GROUP BY f.activity, f.key
    HAVING count(f.value) >= 0.95 * any_value(i.n)
)
SELECT f.activity, f.key, f.value, c.outcome, count(*) AS n
FROM fields f
JOIN result_fields r USING (activity, key)
JOIN waste_cases c ON c.case_id = f.case_id
WHERE f.value IS NOT NULL AND c.outcome IS NOT NULL AND c.outcome <> 'open'
GROUP BY ALL
ORDER BY f.activity, f.key, f.value, c.outcome;
