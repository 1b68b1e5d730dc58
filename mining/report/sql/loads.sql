-- What was read, loaded and quarantined for $process, per source and location (table load_audit).
SELECT source, location,
    count(*) AS n_loads,
    count(*) FILTER (WHERE status <> 'committed') AS n_failed,
    coalesce(sum(rows_read), 0) AS rows_read,
    coalesce(sum(rows_loaded), 0) AS rows_loaded,
    coalesce(sum(rows_new), 0) AS rows_new,
    coalesce(sum(rows_updated), 0) AS rows_updated,
    coalesce(sum(rows_deleted), 0) AS rows_deleted,
    coalesce(sum(rows_quarantined), 0) AS rows_quarantined,
    max(error) FILTER (WHERE status <> 'committed') AS last_error,
    -- what the loads noticed without rejecting a row (merged traces, dates kept as text)
    string_agg(DISTINCT notes, chr(10) ORDER BY notes) FILTER (WHERE notes IS NOT NULL) AS notes
FROM load_audit
WHERE process = $process
GROUP BY source, location
ORDER BY source, location;
