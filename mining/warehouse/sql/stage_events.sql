-- Stage one batch of incoming rows (the Arrow table registered as `incoming`), parse timestamps
-- and give every row that cannot be loaded its reason. mining.warehouse.load fills in the three
-- placeholders below with expressions chosen for the batch's column types (the placeholders are
-- not named in this comment: a replacement inside a comment could carry a line break of a column
-- name out of it): ts is the event time, local_ts the wall-clock time it was read from when the
-- value had no offset (NULL otherwise), so that a local time that does not exist (a
-- daylight-saving gap) is caught rather than shifted. `__reason` is set by a reader for a row it
-- could not read at all. Two more placeholders give the mapping's declared key (its columns' values
-- joined, NULL when one is missing or no key is declared) and its soft-delete flag (false without one).
-- The last one is the offset a text value ends in, in minutes (after a time of day, so a date's
-- '-01' is none); a typed time has none to check (its zone, if any, is UTC), so it is NULL there.
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
        /*KEY*/                                AS key_text,
        /*DELETED*/                            AS deleted,
        __reason                               AS read_error,
        /*OFFSET*/                             AS offset_minutes
    FROM incoming
)
SELECT
    row_number, case_id, activity, ts_raw, ts, resource, lifecycle, attrs, key_text, deleted,
    CASE
        WHEN read_error IS NOT NULL THEN read_error
        WHEN $keyed AND key_text IS NULL THEN 'missing value in a key column (' || $key_names || ')'
        WHEN case_id IS NULL THEN 'missing case id'
        WHEN activity IS NULL THEN 'missing activity'
        WHEN ts_raw IS NULL OR trim(ts_raw) = '' THEN $missing_ts
        -- A date of the era before year 1, written as text ('0044-03-15 BC').
        WHEN ts IS NULL AND regexp_matches(trim(ts_raw), '\sB\.?C\.?E?\.?$', 'i')
            THEN 'timestamp out of range: ' || left(ts_raw, 100)
        WHEN ts IS NULL THEN 'unparseable timestamp: ' || left(ts_raw, 100)
        -- DuckDB takes '+25:00' and shifts the time by it; XML Schema and real zones stop at 14 hours.
        WHEN offset_minutes > 14 * 60 THEN 'time zone offset out of range (beyond ±14:00): ' || left(ts_raw, 100)
        -- Compared as instants, not by year(): year() of a BC date is positive (44 for 44 BC).
        -- connectorx hands PostgreSQL's infinity over as the extreme dates of its date library.
        WHEN NOT isfinite(ts) OR epoch_us(ts) NOT BETWEEN -62135596800000000 AND 253402300799999999
            THEN 'timestamp out of range: ' || CASE
                WHEN ts_raw LIKE '262142-12-31 23:59:59.999999%' THEN 'infinity'
                WHEN ts_raw LIKE '262144-01-01 (BC) 00:00:00%' THEN '-infinity'
                ELSE left(ts_raw, 100) END
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
