-- Outcomes with names and polarity, the explicit "no outcome defined" state, and exposure control
-- in the drop-out attribution (mining/moments/sql/outcomes.sql and dropout.sql; docs/moments.md).

-- The polarity of the case's outcome kind: 'positive' | 'negative' | 'neutral'; NULL for 'open' and 'other'.
ALTER TABLE case_outcomes ADD COLUMN polarity VARCHAR;

-- One row per outcome kind in force for the process (the built-in three and the user's own), with its cases.
CREATE TABLE outcome_kinds (
    process     VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,          -- 'success' | 'declined' | 'dropout' | a kind of moments.outcomes.kinds
    polarity    VARCHAR NOT NULL,          -- 'positive' | 'negative' | 'neutral'
    builtin     BOOLEAN NOT NULL,
    n_rules     INTEGER NOT NULL,          -- rules in force for it (config or built-in words)
    n_cases     BIGINT NOT NULL,           -- cases with this outcome (drop-outs by the time limit included)
    PRIMARY KEY (process, kind)
);

-- One row per process: can anything that needs an outcome be measured? Analyses test
-- outcomes_defined and print reason ("not measurable: no outcome defined ...") when it is false.
CREATE TABLE outcome_status (
    process           VARCHAR PRIMARY KEY,
    outcomes_defined  BOOLEAN NOT NULL,    -- some case has an outcome kind (not 'open', not 'other')
    reason            VARCHAR,             -- why not, as a sentence; NULL when defined
    rule_source       VARCHAR NOT NULL,    -- 'config' | 'config and built-in words' | 'built-in words' | 'none'
    n_cases           BIGINT NOT NULL,
    n_decided         BIGINT NOT NULL,     -- cases with an outcome kind
    n_open            BIGINT NOT NULL,
    n_other           BIGINT NOT NULL,
    n_kinds_observed  INTEGER NOT NULL,    -- distinct kinds among the cases (1: one outcome class, nothing to compare)
    n_positive        BIGINT NOT NULL,
    n_negative        BIGINT NOT NULL,
    n_neutral         BIGINT NOT NULL,
    n_dropout         BIGINT NOT NULL
);

-- Drop-out attribution with exposure control: a factor at a repeated MOT is compared within cases
-- with the same number of occurrences of that MOT. lift, base_rate, ci_low and ci_high are now the
-- stratified figures (equal to the old ones for a MOT that occurs once per case); the crude ones stay.
ALTER TABLE dropout_attribution ADD COLUMN crude_lift DOUBLE;      -- confidence / P(drop-out | reached), ignoring exposure
ALTER TABLE dropout_attribution ADD COLUMN crude_ci_low DOUBLE;
ALTER TABLE dropout_attribution ADD COLUMN n_strata INTEGER;       -- occurrence-count strata with factor cases
ALTER TABLE dropout_attribution ADD COLUMN rr_low DOUBLE;          -- Mantel-Haenszel interval of relative_risk
ALTER TABLE dropout_attribution ADD COLUMN rr_high DOUBLE;
ALTER TABLE dropout_attribution ADD COLUMN status VARCHAR;         -- 'finding' | 'no clear effect' | 'echo' | 'too few cases'
ALTER TABLE dropout_attribution ADD COLUMN note VARCHAR;           -- why, in words
