-- Why rows of $process were quarantined: rejected rows per reason, with the first one as an example
-- (tables quarantine and load_audit).
SELECT q.reason,
    count(*) AS n_rows,
    first(q.location || ', row ' || q.row_number ORDER BY q.location, q.row_number) AS example
FROM quarantine q
JOIN load_audit a USING (load_id)
WHERE a.process = $process
GROUP BY q.reason
ORDER BY n_rows DESC, q.reason;
