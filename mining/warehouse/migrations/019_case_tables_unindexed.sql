-- The per-case result tables (case_outcomes, case_scores, case_effort) lose their primary keys
-- (issue 20). A key is an ART index DuckDB holds in memory and cannot evict: at BPIC2012 x40
-- (523,480 cases) each of these indexes took 46-51 MB of the DuckDB limit while the ranged writes
-- of case_scores ran, so at 100 M events (5.2 M cases) the three would hold about 1.5 GB of a 2.5 GB
-- limit. Each table still has exactly one row per (process, case_id): the SQL that writes it groups
-- by case, and tests/test_moments_real_logs.py checks it on BPIC2012 and the running example. The
-- tables are copied, so a warehouse keeps its rows. (The definitions restate 003/007 and 010's
-- polarity column without the key: a migration cannot reuse an earlier one's text.)
CREATE TABLE case_outcomes_019 (
    process           VARCHAR NOT NULL,
    case_id           VARCHAR NOT NULL,
    outcome           VARCHAR NOT NULL,    -- 'success' | 'dropout' | 'declined' | 'open' | 'other'
    outcome_activity  VARCHAR,             -- the event that decided it (NULL: no such event)
    outcome_ts        TIMESTAMPTZ,
    outcome_pos       INTEGER,
    outcome_rule      VARCHAR,             -- the outcome rule that fired, or 'no success within N days'
    polarity          VARCHAR              -- 'positive' | 'negative' | 'neutral'; NULL for 'open' and 'other'
);  -- one row per (process, case_id)
INSERT INTO case_outcomes_019 SELECT * FROM case_outcomes;
DROP TABLE case_outcomes;
ALTER TABLE case_outcomes_019 RENAME TO case_outcomes;

CREATE TABLE case_scores_019 (
    process        VARCHAR NOT NULL,
    case_id        VARCHAR NOT NULL,
    n_moments      INTEGER NOT NULL,
    final_score    DOUBLE,                 -- NULL when the case has no MOT
    min_score      DOUBLE,                 -- lowest running score along the way
    outcome        VARCHAR NOT NULL,
    n_poor         INTEGER NOT NULL,
    mean_score     DOUBLE,
    trajectory     DOUBLE[]                -- running score after each MOT, in order
);  -- one row per (process, case_id)
INSERT INTO case_scores_019 SELECT * FROM case_scores;
DROP TABLE case_scores;
ALTER TABLE case_scores_019 RENAME TO case_scores;

CREATE TABLE case_effort_019 (
    process             VARCHAR NOT NULL,
    case_id             VARCHAR NOT NULL,
    n_moments           INTEGER NOT NULL,   -- moments of truth of the case
    n_customer_actions  INTEGER NOT NULL,   -- moments at which the customer had to act
    n_channels          INTEGER NOT NULL,   -- distinct channels of its moments
    n_channel_switches  INTEGER NOT NULL,   -- moments on another channel than the moment before
    customer_wait_s     DOUBLE,             -- waits before its moments, summed (NULL: none measured)
    high_effort         BOOLEAN NOT NULL    -- n_customer_actions >= effort.high_effort_actions
);  -- one row per (process, case_id)
INSERT INTO case_effort_019 SELECT * FROM case_effort;
DROP TABLE case_effort;
ALTER TABLE case_effort_019 RENAME TO case_effort;
