-- Rebuild the prepared mining tables of one process ($process) from `events`.
-- Event order inside a case: timestamp, then source order (seq), as pm4py orders a log.
-- mining.warehouse.prepare runs the sections in order: `digests` and `changed` once, then either
-- `clear` (every case) or `clear_changed` (the cases whose events changed since the last prepare),
-- `chunks` once, `chunk` once per range of case ids [$lo, $hi) (NULL = open end), then `finish`
-- and `record`. Working through the cases in ranges keeps the window sort of a 10-million-event log
-- to one range's size; the ranges ascend, so a full rebuild writes the tables in case_id order
-- exactly as one pass would. When only the changed cases are rebuilt, the CHANGED marker in
-- `chunk` (and in instances.sql) becomes a filter to them, and their rows are appended after the
-- kept ones.

-- @section digests
-- Every case's digest now: bit_xor and sum of its events' hashes over every column prepare reads
-- (and seq, which orders equal timestamps); load_id is not read.
CREATE OR REPLACE TEMP TABLE prepare_digests AS
SELECT case_id, count(*) AS n_events, bit_xor(h) AS digest_xor, sum(h::HUGEINT) AS digest_sum
FROM (
    SELECT case_id, hash(event_key, source, case_id, activity, ts, resource, lifecycle, seq, attrs) AS h
    FROM events WHERE process = $process
)
GROUP BY case_id;

-- @section changed
-- The cases whose digest differs from the one their rows were built from: new, changed and gone.
CREATE OR REPLACE TEMP TABLE prepare_changed AS
SELECT case_id
FROM prepare_digests d
FULL JOIN (SELECT * FROM prepared_cases WHERE process = $process) p USING (case_id)
WHERE d.n_events IS DISTINCT FROM p.n_events
   OR d.digest_xor IS DISTINCT FROM p.digest_xor
   OR d.digest_sum IS DISTINCT FROM p.digest_sum;

-- @section counts
SELECT (SELECT count(*) FROM prepare_changed), (SELECT count(*) FROM prepare_digests);

-- @section clear_changed
DELETE FROM event_log WHERE process = $process AND case_id IN (SELECT case_id FROM prepare_changed);
DELETE FROM cases WHERE process = $process AND case_id IN (SELECT case_id FROM prepare_changed);
DELETE FROM variants WHERE process = $process;
DELETE FROM dfg_edges WHERE process = $process;
DELETE FROM activity_stats WHERE process = $process;

-- @section clear
DELETE FROM event_log WHERE process = $process;
DELETE FROM cases WHERE process = $process;
DELETE FROM variants WHERE process = $process;
DELETE FROM dfg_edges WHERE process = $process;
DELETE FROM activity_stats WHERE process = $process;

-- @section chunks
-- The first case id of each of $chunks ranges of about equal case counts (the first range's
-- lower bound is dropped by the caller: it is open).
SELECT min(case_id) AS lo
FROM (
    SELECT case_id, ntile($chunks) OVER (ORDER BY case_id) AS chunk
    FROM (SELECT DISTINCT case_id FROM events WHERE process = $process)
)
GROUP BY chunk
ORDER BY lo;

-- @section chunk
INSERT INTO event_log
SELECT process, case_id,
    CAST(row_number() OVER w AS INTEGER) AS pos,
    event_key, activity, ts, resource, lifecycle, source,
    lag(activity) OVER w AS prev_activity,
    lag(ts) OVER w AS prev_ts,
    lead(activity) OVER w AS next_activity,
    lead(ts) OVER w AS next_ts,
    attrs
FROM events
WHERE process = $process
  AND ($lo IS NULL OR case_id >= $lo) AND ($hi IS NULL OR case_id < $hi) /*CHANGED*/
WINDOW w AS (PARTITION BY case_id ORDER BY ts, seq)
ORDER BY case_id, pos;

-- The variant id is the md5 of the activities joined by chr(31) in event order; the sequence is
-- sorted inside each case's list (short) instead of by an ordered aggregate over all events.
INSERT INTO cases
SELECT process, case_id,
    CAST(count(*) AS INTEGER) AS n_events,
    min(ts) AS start_ts,
    max(ts) AS end_ts,
    epoch(max(ts)) - epoch(min(ts)) AS duration_s,
    arg_min(activity, pos) AS first_activity,
    arg_max(activity, pos) AS last_activity,
    md5(array_to_string(
        list_transform(list_sort(list(struct_pack(p := pos, a := activity))), lambda e: e.a), chr(31)
    )) AS variant_id
FROM event_log
WHERE process = $process
  AND ($lo IS NULL OR case_id >= $lo) AND ($hi IS NULL OR case_id < $hi) /*CHANGED*/
GROUP BY process, case_id
ORDER BY case_id;

-- @section finish
INSERT INTO variants
WITH counts AS (
    SELECT variant_id, count(*) AS n_cases, min(case_id) AS example_case
    FROM cases WHERE process = $process GROUP BY variant_id
),
sequences AS (
    SELECT c.variant_id, list(e.activity ORDER BY e.pos) AS activities
    FROM counts c JOIN event_log e ON e.process = $process AND e.case_id = c.example_case
    GROUP BY c.variant_id
)
SELECT $process, variant_id, activities,
    CAST(len(activities) AS INTEGER) AS n_events,
    n_cases,
    n_cases / sum(n_cases) OVER () AS share,
    CAST(row_number() OVER (ORDER BY n_cases DESC, variant_id) AS INTEGER) AS rank
FROM counts JOIN sequences USING (variant_id)
ORDER BY rank;

-- Durations need every event pair. They are summed as whole microseconds, so the mean does not
-- depend on the order in which parallel threads add them up. How many cases show an edge follows
-- from the variants (each case of a variant has its sequence), which spares a
-- count(DISTINCT case_id) over all events.
INSERT INTO dfg_edges
WITH waits AS (
    SELECT activity, next_activity, epoch_us(next_ts) - epoch_us(ts) AS wait_us
    FROM event_log
    WHERE process = $process AND next_activity IS NOT NULL
),
durations AS (
    SELECT activity, next_activity,
        count(*) AS frequency,
        sum(wait_us) / (count(*) * 1000000.0) AS mean_s,
        median(wait_us) / 1000000.0 AS median_s,
        min(wait_us) / 1000000.0 AS min_s,
        max(wait_us) / 1000000.0 AS max_s
    FROM waits
    GROUP BY activity, next_activity
),
variant_edges AS (
    SELECT DISTINCT variant_id, n_cases, edge
    FROM (
        SELECT variant_id, n_cases, unnest(list_zip(activities[:-2], activities[2:])) AS edge
        FROM variants
        WHERE process = $process AND len(activities) >= 2
    )
),
edge_cases AS (
    SELECT edge[1] AS activity, edge[2] AS next_activity, sum(n_cases) AS n_cases
    FROM variant_edges
    GROUP BY ALL
)
SELECT $process, d.activity, d.next_activity, d.frequency, CAST(e.n_cases AS BIGINT),
    d.mean_s, d.median_s, d.min_s, d.max_s
FROM durations d JOIN edge_cases e USING (activity, next_activity)
ORDER BY d.activity, d.next_activity;

-- Every figure here is a count over cases of the same sequence, so the variants give them all.
INSERT INTO activity_stats
WITH occurrences AS (
    SELECT variant_id, n_cases, activities[1] AS first_activity, activities[-1] AS last_activity,
        unnest(activities) AS activity
    FROM variants
    WHERE process = $process
),
per_variant AS (
    SELECT activity, variant_id,
        any_value(n_cases) AS n_cases,
        count(*) AS occurrences,
        any_value(first_activity) = activity AS starts,
        any_value(last_activity) = activity AS ends
    FROM occurrences
    GROUP BY activity, variant_id
)
SELECT $process, activity,
    CAST(sum(n_cases * occurrences) AS BIGINT) AS frequency,
    CAST(sum(n_cases) AS BIGINT) AS n_cases,
    CAST(coalesce(sum(n_cases) FILTER (WHERE starts), 0) AS BIGINT) AS n_start,
    CAST(coalesce(sum(n_cases) FILTER (WHERE ends), 0) AS BIGINT) AS n_end
FROM per_variant
GROUP BY activity
ORDER BY activity;

-- @section record
-- The digests the rows now stand on, and the settings they were built under.
DELETE FROM prepared_cases WHERE process = $process AND ($all OR case_id IN (SELECT case_id FROM prepare_changed));
INSERT INTO prepared_cases
SELECT $process, case_id, n_events, digest_xor, digest_sum
FROM prepare_digests
WHERE $all OR case_id IN (SELECT case_id FROM prepare_changed)
ORDER BY case_id;
INSERT OR REPLACE INTO prepared_settings VALUES ($process, $settings);
DROP TABLE prepare_digests;
DROP TABLE prepare_changed;
