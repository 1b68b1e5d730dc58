-- Activity instances (mining/warehouse/sql/instances.sql): one occurrence of an activity, its
-- lifecycle events merged. `activity` is the classifier's name of it. Times: schedule_ts (first
-- schedule event), start_ts (first start event, or the interval's start attribute), end_ts (the
-- closing event; NULL when the instance never closed), ts = when it happened to the case
-- (start, else end, else its first event). queue_s = start - schedule, service_s = end - start,
-- idle_s = ts - the latest end of the case's earlier instances (NULL for the first).
CREATE TABLE activity_instances (
    process        VARCHAR NOT NULL,
    case_id        VARCHAR NOT NULL,
    instance_pos   INTEGER NOT NULL,   -- 1-based, in order of ts then first event
    activity       VARCHAR NOT NULL,
    n_events       INTEGER NOT NULL,
    first_pos      INTEGER NOT NULL,   -- event_log.pos of its first and last event
    last_pos       INTEGER NOT NULL,
    ts             TIMESTAMPTZ NOT NULL,
    schedule_ts    TIMESTAMPTZ,
    start_ts       TIMESTAMPTZ,
    end_ts         TIMESTAMPTZ,
    queue_s        DOUBLE,
    service_s      DOUBLE,
    idle_s         DOUBLE,
    resource       VARCHAR,            -- of its start event, else its closing event, else its first
    lifecycles     VARCHAR[],          -- its events' transitions in order
    closed         BOOLEAN NOT NULL
);

-- Which instance each event of event_log belongs to.
CREATE TABLE event_instances (
    process        VARCHAR NOT NULL,
    case_id        VARCHAR NOT NULL,
    pos            INTEGER NOT NULL,
    instance_pos   INTEGER NOT NULL
);
