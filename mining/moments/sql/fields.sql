-- The distinct combinations of the fields the rules read among the events of process $process.
-- paths: JSON paths of the event attributes the rules read (mining.moments.analysis.json_path).
-- The rules run once per combination in Python (mining/moments/rules.py), not once per event.
-- Grouped by the fields themselves and hashed (the key `combo`) once per combination, not once per
-- event: to_json and md5 per event cost more than the JSON extraction (2.1 s of 2.6 s for the key
-- at 2.6 M events). instances.sql joins the events to the combinations on the same fields.
-- `combo_id` numbers the combinations in key order (an integer the per-event tables carry).
CREATE OR REPLACE TEMP TABLE mot_combos AS
SELECT mot_combo_hash(activity, resource, lifecycle, vals) AS combo, activity, resource, lifecycle, vals, n_events,
    CAST(row_number() OVER (ORDER BY mot_combo_hash(activity, resource, lifecycle, vals)) AS INTEGER) AS combo_id
FROM (
    SELECT activity, resource, lifecycle, mot_combo_vals(attrs, $paths) AS vals, count(*) AS n_events
    FROM event_log
    WHERE process = $process
    GROUP BY activity, resource, lifecycle, vals
)
ORDER BY combo;
