-- The replicated log as pm4py reads an XES file: its column names, one row per event, in source
-- order. The two case attributes of BPIC2012 come back out of the attrs JSON.
COPY (
    SELECT case_id AS "case:concept:name",
           activity AS "concept:name",
           ts AS "time:timestamp",
           resource AS "org:resource",
           lifecycle AS "lifecycle:transition",
           attrs ->> '$."case:AMOUNT_REQ"' AS "case:AMOUNT_REQ",
           attrs ->> '$."case:REG_DATE"' AS "case:REG_DATE"
    FROM events
    ORDER BY seq
) TO /*PATH*/ (FORMAT parquet, COMPRESSION zstd);
