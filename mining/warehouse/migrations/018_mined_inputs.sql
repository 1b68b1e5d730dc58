-- What each process was last mined from (mining/warehouse/fingerprints.py): a digest of its events,
-- of the configuration and of the mining code. A run whose digest for a process equals the stored
-- one leaves that process's tables as they are: they are what mining it again would write. The row
-- is removed before a process is mined and written after its last step succeeded, so a run that
-- failed half-way never leaves a digest beside half-written tables. ``config_digest`` (configuration
-- and code alone) lets `mot run` skip reading a file whose content hash (its watermark) is unchanged:
-- the same file read with the same settings gives the same events.
CREATE TABLE mined_inputs (
    process     VARCHAR PRIMARY KEY,
    fingerprint VARCHAR NOT NULL,
    config_digest VARCHAR NOT NULL,
    n_events    BIGINT NOT NULL,
    mined_at    TIMESTAMPTZ NOT NULL
);
