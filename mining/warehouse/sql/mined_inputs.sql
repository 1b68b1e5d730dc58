-- The inputs a process was mined from (migration 018).

-- @section events_digest
-- Order-independent digest of the process's events: every column mining reads (load_id is not
-- read: a reload that changes nothing leaves the digest as it was).
SELECT count(*) AS n,
    coalesce(bit_xor(h), 0)::VARCHAR || ':' || coalesce(sum(h::HUGEINT), 0)::VARCHAR AS digest
FROM (
    SELECT hash(event_key, source, case_id, activity, ts, resource, lifecycle, seq, attrs) AS h
    FROM events WHERE process = $process
);

-- @section stored
SELECT fingerprint FROM mined_inputs WHERE process = $process;

-- @section stored_config
SELECT config_digest FROM mined_inputs WHERE process = $process;

-- @section forget
DELETE FROM mined_inputs WHERE process = $process;

-- @section record
INSERT OR REPLACE INTO mined_inputs VALUES ($process, $fingerprint, $config_digest, $n_events, now());
