-- Prepared tables for mining; rebuilt from events by mining/warehouse/sql/prepare.sql.

CREATE TABLE event_log (
    process        VARCHAR NOT NULL,
    case_id        VARCHAR NOT NULL,
    pos            INTEGER NOT NULL,   -- 1-based position of the event in its case
    event_key      VARCHAR NOT NULL,
    activity       VARCHAR NOT NULL,
    ts             TIMESTAMPTZ NOT NULL,
    resource       VARCHAR,
    lifecycle      VARCHAR,
    source         VARCHAR NOT NULL,
    prev_activity  VARCHAR,            -- NULL for the first event of a case
    prev_ts        TIMESTAMPTZ,
    next_activity  VARCHAR,            -- NULL for the last event of a case
    next_ts        TIMESTAMPTZ,
    attrs          JSON
);

CREATE TABLE cases (
    process         VARCHAR NOT NULL,
    case_id         VARCHAR NOT NULL,
    n_events        INTEGER NOT NULL,
    start_ts        TIMESTAMPTZ NOT NULL,
    end_ts          TIMESTAMPTZ NOT NULL,
    duration_s      DOUBLE NOT NULL,
    first_activity  VARCHAR NOT NULL,
    last_activity   VARCHAR NOT NULL,
    variant_id      VARCHAR NOT NULL
);

CREATE TABLE variants (
    process      VARCHAR NOT NULL,
    variant_id   VARCHAR NOT NULL,     -- md5 of the activity sequence: stable across runs
    activities   VARCHAR[] NOT NULL,
    n_events     INTEGER NOT NULL,
    n_cases      BIGINT NOT NULL,
    share        DOUBLE NOT NULL,
    rank         INTEGER NOT NULL      -- 1 = most frequent; ties broken by variant_id
);

CREATE TABLE dfg_edges (
    process          VARCHAR NOT NULL,
    source_activity  VARCHAR NOT NULL,
    target_activity  VARCHAR NOT NULL,
    frequency        BIGINT NOT NULL,
    n_cases          BIGINT NOT NULL,
    mean_s           DOUBLE NOT NULL,
    median_s         DOUBLE NOT NULL,
    min_s            DOUBLE NOT NULL,
    max_s            DOUBLE NOT NULL
);

CREATE TABLE activity_stats (
    process      VARCHAR NOT NULL,
    activity     VARCHAR NOT NULL,
    frequency    BIGINT NOT NULL,
    n_cases      BIGINT NOT NULL,
    n_start      BIGINT NOT NULL,   -- cases that start with it
    n_end        BIGINT NOT NULL    -- cases that end with it
);

CREATE TABLE model_runs (
    process          VARCHAR NOT NULL,
    model_id         VARCHAR NOT NULL,   -- hash of algorithm, parameters and the log's variants
    algorithm        VARCHAR NOT NULL,
    parameters       JSON NOT NULL,
    n_places         INTEGER,
    n_transitions    INTEGER,
    n_arcs           INTEGER,
    fitness          DOUBLE,             -- token-based replay log fitness
    avg_trace_fitness DOUBLE,
    fit_cases_share  DOUBLE,
    precision        DOUBLE,             -- token-based ETConformance precision
    process_tree     VARCHAR,            -- NULL for models that are not trees
    pnml             VARCHAR NOT NULL,
    PRIMARY KEY (process, algorithm)
);
