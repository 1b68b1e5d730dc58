-- Stage one batch of incoming rows (the Arrow table registered as `incoming`), parse timestamps
-- and give every row that cannot be loaded its reason. mining.warehouse.load fills in the three
-- placeholders below with expressions chosen for the batch's column types (the placeholders are
-- not named in this comment: a replacement inside a comment could carry a line break of a column
-- name out of it): ts is the event time, local_ts the wall-clock time it was read from when the
-- value had no offset (NULL otherwise), so that a local time that does not exist (a
-- daylight-saving gap) is caught rather than shifted. `__reason` is set by a reader for a row it
-- could not read at all.
CREATE OR REPLACE TEMP TABLE staged AS
WITH typed AS (
    SELECT
        __row                                  AS row_number,
        NULLIF(trim(CAST(case_id AS VARCHAR)), '')   AS case_id,
        NULLIF(trim(CAST(activity AS VARCHAR)), '')  AS activity,
        CAST(ts AS VARCHAR)                    AS ts_raw,
        /*TS*/                                 AS ts,
        /*LOCAL*/                              AS local_ts,
        NULLIF(CAST(resource AS VARCHAR), '')  AS resource,
        NULLIF(CAST(lifecycle AS VARCHAR), '') AS lifecycle,
        /*ATTRS*/                              AS attrs,
        __reason                               AS read_error
    FROM incoming
)
SELECT
    row_number, case_id, activity, ts_raw, ts, resource, lifecycle, attrs,
    CASE
        WHEN read_error IS NOT NULL THEN read_error
        WHEN case_id IS NULL THEN 'missing case id'
        WHEN activity IS NULL THEN 'missing activity'
        WHEN ts_raw IS NULL OR trim(ts_raw) = '' THEN $missing_ts
        WHEN ts IS NULL THEN 'unparseable timestamp: ' || left(ts_raw, 100)
        WHEN NOT isfinite(ts) OR year(ts) NOT BETWEEN 1 AND 9999 THEN 'timestamp out of range: ' || left(ts_raw, 100)
        WHEN local_ts IS NOT NULL AND timezone($tz, ts) <> local_ts
            THEN 'local time ' || left(ts_raw, 100) || ' does not exist in ' || $tz || ' (daylight-saving gap)'
        WHEN length(case_id) > 1000 THEN 'case id longer than 1000 characters'
        WHEN length(activity) > 1000 THEN 'activity name longer than 1000 characters'
        -- Characters XML 1.0 cannot carry would break the PNML and BPMN exports later on.
        WHEN regexp_matches(case_id, '[\x00-\x08\x0B\x0C\x0E-\x1F]') THEN 'case id contains a control character'
        WHEN regexp_matches(activity, '[\x00-\x08\x0B\x0C\x0E-\x1F]') THEN 'activity contains a control character'
        WHEN regexp_matches(coalesce(resource, '') || coalesce(lifecycle, ''), '[\x00-\x08\x0B\x0C\x0E-\x1F]')
            THEN 'resource or lifecycle contains a control character'
    END AS reason
FROM typed;
