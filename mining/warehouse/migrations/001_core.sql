-- Core event warehouse: events, load audit, quarantine.
-- Column vocabulary follows DESIGN.md: case_id, activity, ts (TIMESTAMPTZ, UTC), resource, lifecycle.

CREATE TABLE events (
    event_key   VARCHAR NOT NULL,     -- md5 of content + occurrence number: stable across reloads
    process     VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,
    case_id     VARCHAR NOT NULL,
    activity    VARCHAR NOT NULL,
    ts          TIMESTAMPTZ NOT NULL,
    resource    VARCHAR,
    lifecycle   VARCHAR,
    seq         BIGINT NOT NULL,      -- source order; breaks ties of equal timestamps like pm4py does
    load_id     BIGINT NOT NULL,
    attrs       JSON                  -- every other source column, by its source name
);

CREATE TABLE load_audit (
    load_id           BIGINT PRIMARY KEY,
    process           VARCHAR NOT NULL,
    source            VARCHAR NOT NULL,
    location          VARCHAR NOT NULL,  -- file path or source/mapping name; never credentials
    started_at        TIMESTAMPTZ NOT NULL,
    finished_at       TIMESTAMPTZ,
    rows_read         BIGINT,
    rows_loaded       BIGINT,            -- accepted rows: rows_new + rows already in the warehouse
    rows_new          BIGINT,
    rows_quarantined  BIGINT,
    watermark_before  VARCHAR,
    watermark_after   VARCHAR,
    duration_s        DOUBLE,
    status            VARCHAR NOT NULL,  -- committed | failed
    error             VARCHAR            -- why a failed load failed
);

CREATE TABLE quarantine (
    load_id     BIGINT NOT NULL,
    source      VARCHAR NOT NULL,
    location    VARCHAR NOT NULL,
    row_number  BIGINT NOT NULL,   -- 1-based position of the row in what the source returned
    reason      VARCHAR NOT NULL,
    raw         JSON               -- the rejected row as read
);

CREATE TABLE watermarks (
    source      VARCHAR NOT NULL,
    mapping     VARCHAR NOT NULL,
    value       VARCHAR NOT NULL,
    load_id     BIGINT NOT NULL,
    PRIMARY KEY (source, mapping)
);
