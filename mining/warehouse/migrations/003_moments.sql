-- Moments of truth (MOT): marks, running scores, outcomes, knock-on, drop-out funnel and attribution.
-- Rebuilt per process by mining/moments (SQL in mining/moments/sql/). Documented in docs/moments.md.

-- One row per activity: is it a moment of truth, how often, through which channel, decided by which rule.
CREATE TABLE mot_activities (
    process             VARCHAR NOT NULL,
    activity            VARCHAR NOT NULL,
    is_moment_of_truth  BOOLEAN NOT NULL,  -- in at least one lifecycle transition, >= min share of events are MOTs
    share               DOUBLE NOT NULL,   -- MOT events / all events of the activity
    channel             VARCHAR,           -- the most frequent channel of its MOT events (NULL: data does not say)
    rule                VARCHAR,           -- the rule that decided most of its events (NULL: none did)
    n_events            BIGINT NOT NULL,
    decided             BOOLEAN NOT NULL,  -- every event was decided by a rule (include or exclude)
    n_moments           BIGINT NOT NULL,   -- MOT events
    undecided_share     DOUBLE NOT NULL,   -- events no rule decided / all events
    lifecycles          VARCHAR,           -- lifecycle transitions whose events are MOTs, ', '-joined
    channels            VARCHAR,           -- channel mix of its MOT events: 'email 0.47, letter 0.30, ...'
    rules               VARCHAR,           -- every rule that decided some of its events, with counts
    PRIMARY KEY (process, activity)
);

-- One row per event of event_log; score columns are filled for MOT events only.
CREATE TABLE mot_events (
    process             VARCHAR NOT NULL,
    case_id             VARCHAR NOT NULL,
    pos                 INTEGER NOT NULL,
    event_key           VARCHAR NOT NULL,
    activity            VARCHAR NOT NULL,
    is_moment_of_truth  BOOLEAN NOT NULL,
    rule                VARCHAR,           -- the rule that decided the mark (NULL: undecided, so not an MOT)
    channel             VARCHAR,
    wait_s              DOUBLE,            -- seconds since the previous MOT of the case (or event, per config)
    score               DOUBLE,            -- experience score of this MOT, outcome signal included
    running_score       DOUBLE,            -- cumulative score of the case up to and including this MOT
    poor                BOOLEAN,           -- the signals in scoring.poor_signals sum to <= poor_threshold
    ts                  TIMESTAMPTZ NOT NULL,
    resource            VARCHAR,
    decided             BOOLEAN NOT NULL,
    mot_seq             INTEGER,           -- 1-based position among the MOTs of the case
    occurrence          INTEGER,           -- n-th occurrence of this MOT activity in the case
    ref_wait_s          DOUBLE,            -- the wait this MOT is held against (service level or quantile)
    long_wait           BOOLEAN,
    handoffs            INTEGER,           -- hand-offs since the previous MOT
    channel_switch      BOOLEAN,
    effort              BOOLEAN,           -- the customer has to act
    s_wait              DOUBLE,            -- the signals, each signed (negative = worse); score = their sum
    s_repeat            DOUBLE,
    s_channel_switch    DOUBLE,
    s_handoff           DOUBLE,
    s_effort            DOUBLE,
    s_attribute         DOUBLE,
    s_outcome           DOUBLE,
    experience_score    DOUBLE,            -- score without the outcome signal
    attribute_signals   VARCHAR            -- names of the attribute signals that fired
);  -- one row per (process, case_id, pos); no key constraint: its index costs more than the rest of the insert

-- Exactly one row per case of the process.
CREATE TABLE case_outcomes (
    process           VARCHAR NOT NULL,
    case_id           VARCHAR NOT NULL,
    outcome           VARCHAR NOT NULL,    -- 'success' | 'dropout' | 'declined' | 'open' | 'other'
    outcome_activity  VARCHAR,             -- the event that decided it (NULL: no such event)
    outcome_ts        TIMESTAMPTZ,
    outcome_pos       INTEGER,
    outcome_rule      VARCHAR,             -- the outcome rule that fired, or 'no success within N days'
    PRIMARY KEY (process, case_id)
);

CREATE TABLE case_scores (
    process        VARCHAR NOT NULL,
    case_id        VARCHAR NOT NULL,
    n_moments      INTEGER NOT NULL,
    final_score    DOUBLE,                 -- NULL when the case has no MOT
    min_score      DOUBLE,                 -- lowest running score along the way
    outcome        VARCHAR NOT NULL,
    n_poor         INTEGER NOT NULL,
    mean_score     DOUBLE,
    trajectory     DOUBLE[],               -- running score after each MOT, in order
    PRIMARY KEY (process, case_id)
);

-- P(next MOT poor | this MOT poor) against the base rate, overall (from_activity = '*') and per
-- pair of consecutive MOTs.
CREATE TABLE knock_on (
    process              VARCHAR NOT NULL,
    from_activity        VARCHAR NOT NULL,
    to_activity          VARCHAR NOT NULL,
    n                    BIGINT NOT NULL,  -- consecutive MOT pairs
    p_poor_given_poor    DOUBLE,
    base_rate            DOUBLE,           -- P(next MOT poor) over all n pairs
    lift                 DOUBLE,           -- p_poor_given_poor / base_rate
    ci_low               DOUBLE,           -- Wilson interval of p_poor_given_poor
    ci_high              DOUBLE,
    n_from_poor          BIGINT NOT NULL,  -- pairs whose first MOT is poor
    n_poor_poor          BIGINT NOT NULL,
    p_poor_given_good    DOUBLE,
    adjusted_base_rate   DOUBLE,           -- overall row: base rate expected from the pair mix of the poor-from pairs
    adjusted_lift        DOUBLE,           -- p_poor_given_poor / adjusted_base_rate
    effect               VARCHAR NOT NULL, -- 'vicious' (ci_low > adjusted base), 'damping' (ci_high < it), 'none'
    PRIMARY KEY (process, from_activity, to_activity)
);

-- Where customers drop out: one row per MOT activity, in journey order.
CREATE TABLE dropout_funnel (
    process             VARCHAR NOT NULL,
    activity            VARCHAR NOT NULL,
    step                INTEGER NOT NULL,  -- journey order (median position of its first occurrence)
    n_cases_reached     BIGINT NOT NULL,   -- cases with this MOT
    n_dropout_reached   BIGINT NOT NULL,   -- drop-out cases with this MOT before they left
    n_left_after        BIGINT NOT NULL,   -- drop-out cases whose last MOT before leaving is this one
    n_dropout_events    BIGINT NOT NULL,   -- drop-out cases whose drop-out event is this activity
    share_of_dropouts   DOUBLE,            -- n_left_after / all drop-out cases
    leave_rate          DOUBLE,            -- n_left_after / n_cases_reached
    PRIMARY KEY (process, activity)
);

-- The place: drop-out activity and the MOT just before it.
CREATE TABLE dropout_places (
    process         VARCHAR NOT NULL,
    activity        VARCHAR NOT NULL,      -- the drop-out event, or '(no success within N days)'
    after_activity  VARCHAR,               -- the last MOT before it (NULL: none)
    n_dropout       BIGINT NOT NULL,
    share           DOUBLE NOT NULL,       -- of all drop-out cases
    rank            INTEGER NOT NULL
);

-- The cause: upstream factors over-represented in drop-out cases (only events before the outcome).
CREATE TABLE dropout_attribution (
    process        VARCHAR NOT NULL,
    factor_kind    VARCHAR NOT NULL,       -- 'poor_score' | 'repeated' | 'long_wait' | 'attribute'
    factor         VARCHAR NOT NULL,       -- readable: 'Documents requested: channel = letter'
    activity       VARCHAR NOT NULL,
    value          VARCHAR,                -- attribute factors: 'channel = letter'
    n_cases        BIGINT NOT NULL,        -- cases with the factor (of the population in attribution.population)
    n_dropout      BIGINT NOT NULL,        -- drop-out cases with the factor
    support        DOUBLE NOT NULL,        -- P(factor and drop-out) over the population
    coverage       DOUBLE NOT NULL,        -- share of drop-out cases with the factor
    confidence     DOUBLE NOT NULL,        -- P(drop-out | factor)
    base_rate      DOUBLE NOT NULL,        -- P(drop-out | reached the factor's MOT), or P(drop-out) with baseline 'all'
    lift           DOUBLE NOT NULL,        -- confidence / base_rate
    relative_risk  DOUBLE,                 -- P(drop-out | factor) / P(drop-out | reached, no factor)
    ci_low         DOUBLE NOT NULL,        -- lift interval: Wilson interval of confidence / base_rate
    ci_high        DOUBLE NOT NULL,
    rank           INTEGER NOT NULL,       -- 1 = strongest: highest ci_low, then lift; echoes last
    n_reached      BIGINT NOT NULL,        -- cases the factor is compared within
    echo_of        VARCHAR,                -- an earlier factor that holds in nearly the same cases
    PRIMARY KEY (process, factor_kind, factor)
);

-- The settings each process was analysed with, for tracing every figure back to its config.
CREATE TABLE mot_runs (
    process     VARCHAR PRIMARY KEY,
    settings    JSON NOT NULL,
    n_events    BIGINT NOT NULL,
    n_moments   BIGINT NOT NULL,
    n_cases     BIGINT NOT NULL
);
