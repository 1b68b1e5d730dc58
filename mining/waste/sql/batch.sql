-- The steps done in a batch: a step whose neighbour in its (activity, resource) queue -- the step of
-- the same activity by the same resource just before or just after it in time -- belongs to
-- another case and is at most $batch_window_s seconds away. Unassigned steps are never in a batch.
-- Only the batched steps are kept (waste_batch: case_id, seq); metrics.sql flags them.
--
-- A queue can hold a large share of a log (one resource doing one activity all year), and a window
-- over it holds the whole queue (BPIC2012 x400 ran out of 2.5 GB here; issue 20). So
-- mining.waste.analysis runs `slice` once per slice of time [$lo, $hi) (NULL = open end) from
-- `bounds`, with the steps up to $batch_window_s + 1 seconds either side as context: a neighbour
-- outside the context is more than $batch_window_s away, so it flags nothing, and the flags equal
-- those of one window over the whole log.

-- @section bounds
-- The start of each slice after the first: whole hours, about $chunk_steps assigned steps a slice.
WITH hours AS (
    SELECT time_bucket(INTERVAL 1 hour, ts) AS hour, count(*) AS n
    FROM waste_steps
    WHERE resource IS NOT NULL
    GROUP BY hour
),
running AS (
    SELECT hour, sum(n) OVER (ORDER BY hour) - n AS steps_before FROM hours
)
SELECT min(hour) AS lo
FROM running
GROUP BY steps_before // $chunk_steps
HAVING min(steps_before) > 0
ORDER BY lo;

-- @section slice
CREATE OR REPLACE TEMP TABLE waste_batch AS
WITH context AS (
    SELECT case_id, seq, activity, resource, ts
    FROM waste_steps
    WHERE resource IS NOT NULL
      AND ($lo IS NULL OR ts >= CAST($lo AS TIMESTAMPTZ) - to_seconds($batch_window_s + 1))
      AND ($hi IS NULL OR ts < CAST($hi AS TIMESTAMPTZ) + to_seconds($batch_window_s + 1))
),
neighbours AS (
    SELECT case_id, seq, ts,
        lag(ts) OVER q AS prev_same_ts, lag(case_id) OVER q AS prev_same_case,
        lead(ts) OVER q AS next_same_ts, lead(case_id) OVER q AS next_same_case
    FROM context
    WINDOW q AS (PARTITION BY activity, resource ORDER BY ts, case_id, seq)
)
SELECT case_id, seq
FROM neighbours
WHERE ($lo IS NULL OR ts >= $lo) AND ($hi IS NULL OR ts < $hi)
  AND (coalesce(prev_same_case <> case_id AND epoch(ts) - epoch(prev_same_ts) <= $batch_window_s, false)
    OR coalesce(next_same_case <> case_id AND epoch(next_same_ts) - epoch(ts) <= $batch_window_s, false));
