-- Activity instances of the cases [$lo, $hi) of $process (NULL = open), from event_log.
-- An event's activity name is its classifier fields joined with '+' ($classifier). Its phase is
-- 'schedule' or 'start' when its lowercased lifecycle is in $schedule / $start (only when $pair is
-- true: with the lifecycle in the classifier every event is its own instance), else 'close'.
-- Per case and name, the events up to and including a closing event form one instance, except
-- that a second start before the close begins a new instance (the first one was left open).

-- @section clear
DELETE FROM activity_instances WHERE process = $process;
DELETE FROM event_instances WHERE process = $process;

-- @section clear_changed
-- Only the cases prepare rebuilds (prepare.sql, `changed`).
DELETE FROM activity_instances WHERE process = $process AND case_id IN (SELECT case_id FROM prepare_changed);
DELETE FROM event_instances WHERE process = $process AND case_id IN (SELECT case_id FROM prepare_changed);

-- @section chunk
CREATE OR REPLACE TEMP TABLE mot_inst_events AS
WITH named AS (
    SELECT case_id, pos, ts, resource, lifecycle,
        CASE WHEN len(CAST($classifier AS VARCHAR[])) = 1 AND CAST($classifier AS VARCHAR[])[1] = 'activity'
             THEN activity
             ELSE array_to_string(list_transform(CAST($classifier AS VARCHAR[]), lambda f:
                 CASE f WHEN 'activity' THEN activity
                        WHEN 'lifecycle' THEN coalesce(lifecycle, '')
                        WHEN 'resource' THEN coalesce(resource, '')
                        ELSE coalesce(json_extract_string(attrs, '$."' || replace(f, '"', '\"') || '"'), '') END), '+')
        END AS name,
        CASE WHEN NOT $pair THEN 'close'
             WHEN list_contains(CAST($schedule AS VARCHAR[]), lower(lifecycle)) THEN 'schedule'
             WHEN list_contains(CAST($start AS VARCHAR[]), lower(lifecycle)) THEN 'start'
             ELSE 'close' END AS phase,
        CASE WHEN CAST($start_key AS VARCHAR) IS NOT NULL
             THEN TRY_CAST(json_extract_string(attrs, '$."' || CAST($start_key AS VARCHAR) || '"') AS TIMESTAMPTZ)
        END AS interval_start
    FROM event_log
    WHERE process = $process
      AND ($lo IS NULL OR case_id >= $lo) AND ($hi IS NULL OR case_id < $hi) /*CHANGED*/
),
-- One sort for both marks: the closes before the event (each close ends an instance) and the phase
-- of the last start or close before it (a start after a start begins a new instance: the first one
-- was abandoned); then one running count of those restarts.
marked AS (
    SELECT *,
        coalesce(sum(CASE WHEN phase = 'close' THEN 1 ELSE 0 END) OVER before, 0) AS closes_before,
        last_value(CASE WHEN phase <> 'schedule' THEN phase END IGNORE NULLS) OVER before AS previous
    FROM named
    WINDOW before AS (PARTITION BY case_id, name ORDER BY pos ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
)
SELECT * EXCLUDE (closes_before, previous),
    sum(CASE WHEN phase = 'start' AND previous = 'start' THEN 1 ELSE 0 END) OVER (
        PARTITION BY case_id, name ORDER BY pos
    ) + closes_before AS round
FROM marked;

CREATE OR REPLACE TEMP TABLE mot_inst AS
WITH grouped AS (
    SELECT case_id, name, round,
        CAST(count(*) AS INTEGER) AS n_events,
        CAST(min(pos) AS INTEGER) AS first_pos,
        CAST(max(pos) AS INTEGER) AS last_pos,
        min(ts) AS first_ts,
        min(ts) FILTER (WHERE phase = 'schedule') AS schedule_ts,
        coalesce(min(ts) FILTER (WHERE phase = 'start'), min(interval_start) FILTER (WHERE interval_start <= ts)) AS start_ts,
        max(ts) FILTER (WHERE phase = 'close') AS end_ts,
        coalesce(arg_min(resource, pos) FILTER (WHERE phase = 'start'),
                 arg_max(resource, pos) FILTER (WHERE phase = 'close'),
                 arg_min(resource, pos)) AS resource,
        list(lifecycle ORDER BY pos) AS lifecycles,
        bool_or(phase = 'close') AS closed
    FROM mot_inst_events
    GROUP BY case_id, name, round
),
timed AS (
    SELECT *, coalesce(start_ts, end_ts, first_ts) AS ts FROM grouped
)
-- (ts, first_pos) orders a case's instances totally: one sort for the position and the end before.
SELECT *,
    CAST(row_number() OVER in_case AS INTEGER) AS instance_pos,
    max(coalesce(end_ts, ts)) OVER (in_case ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end_ts
FROM timed
WINDOW in_case AS (PARTITION BY case_id ORDER BY ts, first_pos);

INSERT INTO activity_instances
SELECT $process, case_id, instance_pos, name, n_events, first_pos, last_pos, ts, schedule_ts, start_ts, end_ts,
    (epoch_us(start_ts) - epoch_us(schedule_ts)) / 1e6 AS queue_s,
    (epoch_us(end_ts) - epoch_us(start_ts)) / 1e6 AS service_s,
    CASE WHEN prev_end_ts IS NOT NULL THEN greatest(0, epoch_us(ts) - epoch_us(prev_end_ts)) / 1e6 END AS idle_s,
    resource, lifecycles, closed
FROM mot_inst
ORDER BY case_id, instance_pos;

INSERT INTO event_instances
SELECT $process, e.case_id, e.pos, i.instance_pos
FROM mot_inst_events e
JOIN mot_inst i ON i.case_id = e.case_id AND i.name = e.name AND i.round = e.round
ORDER BY e.case_id, e.pos;

DROP TABLE mot_inst_events;
DROP TABLE mot_inst;
