-- The distinct combinations of the fields the rules read among the events of process $process.
-- paths: JSON paths of the event attributes the rules read (mining.moments.analysis.json_path).
-- The rules run once per combination in Python (mining/moments/rules.py), not once per event.
-- No per-event table is kept: marks.sql recomputes each event's key and joins the few
-- combinations, which at 10 M events is far cheaper than joining two event-sized tables.
CREATE OR REPLACE TEMP TABLE mot_combos AS
SELECT mot_combo_hash(activity, resource, lifecycle, vals) AS combo,
    any_value(activity) AS activity,
    any_value(resource) AS resource,
    any_value(lifecycle) AS lifecycle,
    any_value(vals) AS vals,
    count(*) AS n_events
FROM (
    SELECT activity, resource, lifecycle, mot_combo_vals(attrs, $paths) AS vals
    FROM event_log
    WHERE process = $process
)
GROUP BY combo
ORDER BY combo;
