-- Run audit: one row per pipeline run (`mot run`) or Airflow publish, besides load_audit's row per
-- load. A run is 'running' while it goes, then 'succeeded' (with the output files it published) or
-- 'failed' (with its error). A row still 'running' when the next run takes the warehouse lock was
-- left by a run that was killed or could not write its end (a full disk); that run marks it failed.
CREATE TABLE run_audit (
    run_id      BIGINT PRIMARY KEY,
    purpose     VARCHAR NOT NULL,      -- 'mot run' | 'airflow publish'
    processes   VARCHAR[] NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    ended_at    TIMESTAMPTZ,
    status      VARCHAR NOT NULL,      -- running | succeeded | failed
    error       VARCHAR,               -- one line: the error a failed run stopped with
    outputs     VARCHAR[]              -- the published output files, relative to the output folder
);
