-- The fields the rules read, per event of process process, and their distinct combinations.
-- paths: JSON paths of the event attributes the rules read (mining.moments.analysis.json_path).
-- The rules run once per combination in Python (mining/moments/rules.py), not once per event.
CREATE OR REPLACE TEMP TABLE mot_fields AS
SELECT case_id, pos, activity, resource, lifecycle, vals,
    md5(to_json(list_concat(list_value(activity, resource, lifecycle), vals))) AS combo
FROM (
    SELECT case_id, pos, activity, resource, lifecycle,
        json_extract_string(coalesce(attrs, '{}'::JSON), CAST($paths AS VARCHAR[])) AS vals
    FROM event_log
    WHERE process = $process
);

CREATE OR REPLACE TEMP TABLE mot_combos AS
SELECT combo,
    any_value(activity) AS activity,
    any_value(resource) AS resource,
    any_value(lifecycle) AS lifecycle,
    any_value(vals) AS vals,
    count(*) AS n_events
FROM mot_fields
GROUP BY combo
ORDER BY combo;
