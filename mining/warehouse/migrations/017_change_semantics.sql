-- Change semantics of delta loads (docs/airflow.md, "Change semantics").
-- A load now says how many events it changed in place and how many it removed (soft deletes and
-- full reconciliation), never silently.
ALTER TABLE load_audit ADD COLUMN rows_updated BIGINT;
ALTER TABLE load_audit ADD COLUMN rows_deleted BIGINT;

-- An event is identified by its mapping (the load location: 'source.mapping' or the file path),
-- case, activity and timestamp plus its occurrence among equal ones, no longer by its whole
-- content; existing events get that identity here, computed as mining/warehouse/sql/merge_events.sql
-- computes it. Their mapping is the location of the load that wrote them (events written by hand,
-- without a load, count as their source's). A mapping that declares `key` columns gets its keyed
-- identity at its next full read with `reconcile: full` (its events under the old identity go).
UPDATE events SET event_key = n.new_key
FROM (
    SELECT e.source, e.event_key AS old_key,
        md5(concat_ws(chr(31), e.process, e.source, coalesce(a.location, e.source), e.case_id, e.activity,
                      strftime(e.ts, '%Y-%m-%dT%H:%M:%S.%f'))
            || '#' || row_number() OVER (
                PARTITION BY e.process, e.source, coalesce(a.location, e.source), e.case_id, e.activity, e.ts
                ORDER BY e.seq)) AS new_key
    FROM events e LEFT JOIN load_audit a ON a.load_id = e.load_id
) AS n
WHERE events.source = n.source AND events.event_key = n.old_key;
