-- The run audit (migration 016): a run's start, its end, and the rows earlier runs left open.

-- @section start
INSERT INTO run_audit (run_id, purpose, processes, started_at, status)
SELECT coalesce(max(run_id), 0) + 1, $purpose, $processes, now(), 'running' FROM run_audit
RETURNING run_id;

-- @section interrupted
-- Only called under the warehouse lock: no other run can be 'running' now, so an open row is dead.
UPDATE run_audit
SET status = 'failed', error = 'interrupted: the run ended without recording its end (killed, or the disk was full)'
WHERE status = 'running';

-- @section finish
UPDATE run_audit SET ended_at = now(), status = $status, error = $error, outputs = $outputs
WHERE run_id = $run_id;

-- @section last_outputs
-- The files the last finished run published, when it succeeded (after a failed run, the tables may
-- be newer than the files: a run killed while exporting had mined them).
SELECT status, outputs FROM run_audit WHERE status <> 'running' ORDER BY run_id DESC LIMIT 1;

-- @section events
-- A process's events, and what its loads read and quarantined (for 'no events to mine').
SELECT
    (SELECT count(*) FROM events WHERE process = $p) AS n_events,
    coalesce(sum(rows_read), 0) AS n_read,
    coalesce(sum(rows_quarantined), 0) AS n_quarantined
FROM load_audit WHERE process = $p AND status = 'committed';

-- @section reasons
-- The commonest quarantine reasons of a process, the quoted value after ': ' and numbers folded.
SELECT regexp_replace(split_part(q.reason, ': ', 1), '[0-9]+', 'N', 'g') AS kind, count(*) AS n
FROM quarantine AS q JOIN load_audit AS a USING (load_id)
WHERE a.process = $p
GROUP BY kind ORDER BY n DESC, kind LIMIT 3;
