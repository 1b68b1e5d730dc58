-- Merge the accepted rows of the staged batch into `events` (docs/airflow.md, "Change semantics").
-- mining.warehouse.load runs the sections in order, all in the batch's one transaction, and counts
-- what `deleted`, `updated`, `inserted` and `reconcile` changed for the load audit.
--
-- Identity: an event is its mapping ($origin: 'source.mapping' or the file path), then either the
-- mapping's declared key columns (key_text, from the stage) or its case, activity and timestamp;
-- plus its occurrence number among rows of the batch with the same identity, so true duplicates
-- inside one read are kept as separate events while a re-read finds every row already present.
-- Attributes, resource and lifecycle are not part of the identity: a changed one updates in place.

-- @section accept
-- Only the columns the sections below read are kept (not the raw time, reason or identity text):
-- the table is a copy of the whole batch.
CREATE OR REPLACE TEMP TABLE accepted AS
WITH identified AS (
    SELECT * EXCLUDE (ts_raw, reason),
        concat_ws(chr(31), $process, $source, $origin,
                  coalesce(key_text, concat_ws(chr(31), case_id, activity, strftime(ts, '%Y-%m-%dT%H:%M:%S.%f')))
        ) AS identity
    FROM staged
    WHERE reason IS NULL
)
SELECT * EXCLUDE (identity),
    md5(identity || '#' || row_number() OVER (PARTITION BY identity ORDER BY row_number)) AS event_key
FROM identified;

-- @section deleted
-- Rows the source marks deleted (the mapping's deleted_column) remove their event.
DELETE FROM events
WHERE source = $source AND event_key IN (SELECT event_key FROM accepted WHERE deleted);

-- @section updated
-- Rows whose event is present with other values change it in place; the event keeps its place in
-- the source order (seq), and load_id says which load changed it last.
UPDATE events AS e
SET case_id = a.case_id, activity = a.activity, ts = a.ts, resource = a.resource,
    lifecycle = a.lifecycle, attrs = a.attrs, load_id = $load_id
FROM accepted AS a
WHERE e.source = $source AND e.event_key = a.event_key AND NOT a.deleted
  AND (e.case_id <> a.case_id OR e.activity <> a.activity OR e.ts <> a.ts
       OR e.resource IS DISTINCT FROM a.resource OR e.lifecycle IS DISTINCT FROM a.lifecycle
       OR CAST(e.attrs AS VARCHAR) IS DISTINCT FROM CAST(a.attrs AS VARCHAR));

-- @section inserted
INSERT INTO events
SELECT a.event_key, $process, $source, a.case_id, a.activity, a.ts, a.resource, a.lifecycle,
       $load_id * 4294967296 + a.row_number, $load_id, a.attrs
FROM accepted a
WHERE NOT a.deleted AND NOT EXISTS (
    SELECT 1 FROM events e WHERE e.source = $source AND e.event_key = a.event_key
)
ORDER BY a.row_number;

-- @section reconcile
-- Only for a complete read of a mapping with `reconcile: full` (and for every file, read whole):
-- the read is the truth, so the mapping's events it no longer holds are removed. An event belongs
-- to the mapping whose loads wrote it (load_audit.location of its load_id).
DELETE FROM events AS e
WHERE e.source = $source
  AND e.load_id IN (SELECT load_id FROM load_audit WHERE source = $source AND location = $origin)
  AND NOT EXISTS (SELECT 1 FROM accepted a WHERE NOT a.deleted AND a.event_key = e.event_key);
