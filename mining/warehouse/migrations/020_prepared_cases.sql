-- What each case's prepared rows were built from (mining/warehouse/prepare.py, issue 20): the
-- digest of its events, so that `prepare` rebuilds only the cases whose events changed (new cases,
-- later events of open cases, corrected or deleted events) and keeps the others' rows as they are.
-- A case's rows in event_log, cases, activity_instances and event_instances depend on its own
-- events alone; the process-wide tables (variants, dfg_edges, activity_stats) are rebuilt each time.
-- ``prepared_settings`` holds the digest of the mining code and the instance settings the rows were
-- built under: when it differs, every case is rebuilt.
CREATE TABLE prepared_cases (
    process     VARCHAR NOT NULL,
    case_id     VARCHAR NOT NULL,
    n_events    BIGINT NOT NULL,
    digest_xor  UBIGINT NOT NULL,   -- bit_xor and sum of the events' hashes: order-free, and
    digest_sum  HUGEINT NOT NULL    -- together they change when an event is added, removed or edited
);  -- one row per (process, case_id)

CREATE TABLE prepared_settings (
    process     VARCHAR PRIMARY KEY,
    settings    VARCHAR NOT NULL
);
