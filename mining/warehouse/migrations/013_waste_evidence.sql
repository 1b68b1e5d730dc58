-- Waste with evidence (issue 16): every recommendation names its scope and evidence, components
-- that cannot be measured are NULL with a reason, per-month figures only from logs spanning a
-- month, functional steps (alternatives, hand-off pairs). The tables are rebuilt by every run, so
-- they are dropped and created again. Documented in docs/waste.md.
DROP TABLE IF EXISTS waste_activities;
DROP TABLE IF EXISTS waste_whatif;
DROP TABLE IF EXISTS waste_runs;

CREATE TABLE waste_activities (
    process                         VARCHAR NOT NULL,
    activity                        VARCHAR NOT NULL,
    waste_score                     DOUBLE,            -- weighted mean of the measurable components; NULL: too little measured evidence
    rank                            INTEGER NOT NULL,  -- remove, fix, review, keep; then case-hours saved; then score
    recommendation                  VARCHAR NOT NULL,  -- 'remove' | 'fix' | 'review' | 'keep'
    scope                           VARCHAR NOT NULL,  -- what the recommendation is about: 'step' | 'repeats' | 'hand-off'
    evidence                        VARCHAR NOT NULL,  -- the evidence the recommendation rests on, in words with figures
    not_measurable                  JSON NOT NULL,     -- component -> why it is not measurable (empty: all measured)
    functional_step                 VARCHAR NOT NULL,  -- the step judged: the activity, or its alternatives / hand-off pair
    functional_kind                 VARCHAR NOT NULL,  -- 'activity' | 'alternatives' | 'hand-off'
    explanation                     VARCHAR NOT NULL,  -- one line built from the figures
    is_moment_of_truth              BOOLEAN,           -- from mot_activities; NULL without the moments analysis
    reason                          VARCHAR NOT NULL,  -- why this recommendation (the rule that decided it)
    merge_into                      VARCHAR,           -- for 'review' of a redundant step: the step it follows and could join
    -- components, each in [0, 1] (1 = wasteful); NULL = not measurable for this step
    c_no_decision                   DOUBLE,
    c_optional                      DOUBLE,
    c_no_outcome_effect             DOUBLE,
    c_rework                        DOUBLE,
    c_redundancy                    DOUBLE,
    c_delay                         DOUBLE,
    c_handoff                       DOUBLE,
    c_customer_effort               DOUBLE,
    -- frequency and repetition
    frequency                       BIGINT NOT NULL,   -- steps (activity instances)
    cases                           BIGINT NOT NULL,   -- cases with the step
    case_share                      DOUBLE NOT NULL,
    repeat_rate                     DOUBLE NOT NULL,   -- cases with it more than once / cases with it
    rework_rate                     DOUBLE NOT NULL,   -- cases in which the flow went back to redo it / cases with it
    pingpong_rate                   DOUBLE NOT NULL,   -- cases with A -> B -> A on it / cases with it
    handback_rate                   DOUBLE,            -- steps handed back to the resource two steps before
    handoff_rate                    DOUBLE,            -- steps whose resource differs from the previous step's
    -- time
    mean_wait_s                     DOUBLE,            -- previous step's end to this step's start (its end without START)
    median_wait_s                   DOUBLE,
    p90_wait_s                      DOUBLE,
    timed_steps                     BIGINT NOT NULL,   -- steps with a START event
    mean_processing_s               DOUBLE,
    median_processing_s             DOUBLE,
    throughput_share                DOUBLE,            -- (waits + processing) / total case time
    -- decision value and outcome
    next_entropy_bits               DOUBLE,            -- entropy of the next step ('(end)' included)
    top_next                        VARCHAR,
    top_next_share                  DOUBLE,
    decides_nothing                 VARCHAR,           -- why the step decides nothing (the test and its sample), NULL: it may decide
    decision_value                  DOUBLE,            -- uncertainty coefficient of the outcome given the next step
    reference_outcome               VARCHAR,           -- the outcome class whose rate is compared (NULL: none)
    n_reached                       BIGINT NOT NULL,   -- decided cases that reached the step's place
    n_with                          BIGINT NOT NULL,   -- ... of them with the step
    n_without                       BIGINT NOT NULL,
    rate_with                       DOUBLE,
    rate_without                    DOUBLE,
    rate_diff_pp                    DOUBLE,            -- rate_with - rate_without, percentage points
    rate_diff_ci_low_pp             DOUBLE,            -- Newcombe hybrid score interval
    rate_diff_ci_high_pp            DOUBLE,
    typical_outcome                 VARCHAR,           -- the outcome most of its cases have
    optional_share                  DOUBLE,            -- cases with the typical outcome that do without the step
    -- redundancy
    partner                         VARCHAR,           -- the step most often directly before it
    partner_share                   DOUBLE,
    partner_jaccard                 DOUBLE,            -- cases with both / cases with either
    partner_resource_similarity     DOUBLE,            -- overlap of the two resource mixes
    -- automation signals and customer effort
    system_share                    DOUBLE,            -- steps by a system resource (waste.system_resource_regex)
    batch_share                     DOUBLE,            -- steps within batch_window_s of another case's, same resource
    unassigned_share                DOUBLE,            -- steps without a resource
    mot_poor_share                  DOUBLE,            -- poor MOT events / MOT events (moments analysis)
    customer_effort_share           DOUBLE,            -- MOT events in which the customer has to act
    -- what-if removal (recommended scope)
    whatif_scope                    VARCHAR NOT NULL,  -- 'all' | 'repeats'
    whatif_cases_affected           BIGINT NOT NULL,
    whatif_steps_removed            BIGINT NOT NULL,
    whatif_mean_throughput_s_saved  DOUBLE NOT NULL,   -- over all cases
    whatif_case_hours_saved         DOUBLE NOT NULL,   -- case-hours of throughput time over the whole log
    whatif_saving_method            VARCHAR,           -- 'bracket' | 'own_span' | 'service_time' (docs/waste.md)
    whatif_hours_saved_per_month    DOUBLE,            -- per month; NULL when the log spans less than a month
    whatif_work_hours_saved_per_month DOUBLE,          -- measured processing time per month (NULL: no START events)
    whatif_mots_saved_per_case      DOUBLE,            -- NULL without the moments analysis
    whatif_variants_before          BIGINT NOT NULL,
    whatif_variants_after           BIGINT NOT NULL,
    whatif_delay_s                  DOUBLE,            -- delay per affected case, measured on the bracket
    whatif_anchor_before            VARCHAR,
    whatif_anchor_after             VARCHAR,
    impact_rank                     INTEGER,           -- candidates only: 1 = most case-hours saved a month
    PRIMARY KEY (process, activity)
);

-- Every what-if scenario: each activity removed entirely ('all') and, where it repeats, its redo
-- cycles only ('repeats').
CREATE TABLE waste_whatif (
    process                      VARCHAR NOT NULL,
    activity                     VARCHAR NOT NULL,
    scope                        VARCHAR NOT NULL,
    cases_affected               BIGINT NOT NULL,
    steps_removed                BIGINT NOT NULL,
    cases_shortened              BIGINT NOT NULL,
    mean_throughput_before_s     DOUBLE NOT NULL,
    mean_throughput_after_s      DOUBLE NOT NULL,
    mean_throughput_s_saved      DOUBLE NOT NULL,
    case_hours_saved             DOUBLE NOT NULL,
    saving_method                VARCHAR,
    hours_saved_per_month        DOUBLE,
    work_hours_saved             DOUBLE,
    work_hours_saved_per_month   DOUBLE,
    mots_per_case_before         DOUBLE,
    mots_per_case_after          DOUBLE,
    mots_saved_per_case          DOUBLE,
    variants_before              BIGINT NOT NULL,
    variants_after               BIGINT NOT NULL,
    anchor_before                VARCHAR,
    anchor_after                 VARCHAR,
    bracket_cases_with           BIGINT,
    bracket_cases_without        BIGINT,
    bracket_mean_with_s          DOUBLE,
    bracket_mean_without_s       DOUBLE,            -- at the affected cases' mix of outcomes
    bracket_diff_s               DOUBLE,
    bracket_diff_ci_low_s        DOUBLE,
    bracket_diff_ci_high_s       DOUBLE,
    delay_s                      DOUBLE,            -- bracket_diff_s when its interval lies above 0, else 0
    PRIMARY KEY (process, activity, scope)
);

-- What each process was analysed with, so every figure can be traced to its settings.
CREATE TABLE waste_runs (
    process            VARCHAR PRIMARY KEY,
    settings           JSON NOT NULL,
    outcome_source     VARCHAR NOT NULL,   -- 'case_outcomes' | 'none'
    outcome_status     VARCHAR NOT NULL,   -- 'measurable' or why not: 'no outcome defined', 'one outcome class'
    reference_outcome  VARCHAR,
    mot_source         VARCHAR NOT NULL,   -- 'mot_activities' | 'none'
    n_cases            BIGINT NOT NULL,
    n_steps            BIGINT NOT NULL,
    months             DOUBLE NOT NULL     -- span of the log in months (per-month figures only from 1 month on)
);
