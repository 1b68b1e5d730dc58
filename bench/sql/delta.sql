-- The two Parquet files of `rerun_delta`, from the warehouse of an end-to-end run (attached and in use).
-- /*WHOLE*/ and /*EARLY*/ are file paths, $share the delta's share of the events.

-- @section cutoff
-- The time from which the latest $share of the events happened: the delta starts there.
SELECT quantile_disc("time:timestamp", 1 - $share) FROM read_parquet(/*WHOLE*/);

-- @section early
-- The log before the delta, in the whole file's order.
COPY (SELECT * FROM read_parquet(/*WHOLE*/) WHERE "time:timestamp" < $cutoff)
TO /*EARLY*/ (FORMAT parquet, COMPRESSION zstd);

-- @section delta_events
SELECT count(*) FROM read_parquet(/*WHOLE*/) WHERE "time:timestamp" >= $cutoff;
