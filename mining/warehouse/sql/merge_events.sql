-- Merge the accepted rows of the staged batch into `events`.
-- The event key is the md5 of the event's content plus its occurrence number among identical
-- rows of the batch, so a reload finds every row already present (idempotent) while true
-- duplicates inside one source are kept.
CREATE OR REPLACE TEMP TABLE accepted AS
WITH hashed AS (
    SELECT *,
        md5(concat_ws(chr(31), $process, $source, case_id, activity,
                      strftime(ts, '%Y-%m-%dT%H:%M:%S.%f'),
                      coalesce(resource, chr(0)), coalesce(lifecycle, chr(0)),
                      coalesce(CAST(attrs AS VARCHAR), chr(0)))) AS content_hash
    FROM staged
    WHERE reason IS NULL
)
SELECT *,
    md5(content_hash || '#' || row_number() OVER (PARTITION BY content_hash ORDER BY row_number)) AS event_key
FROM hashed;

INSERT INTO events
SELECT a.event_key, $process, $source, a.case_id, a.activity, a.ts, a.resource, a.lifecycle,
       $load_id * 4294967296 + a.row_number, $load_id, a.attrs
FROM accepted a
WHERE NOT EXISTS (
    SELECT 1 FROM events e WHERE e.source = $source AND e.event_key = a.event_key
)
ORDER BY a.row_number;
