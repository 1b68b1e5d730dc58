-- Removal-effect attribution of drop-outs (mining/attribution, docs/moments.md "Removal effect"):
-- an absorbing Markov chain over the journeys (moment states -> 'dropout' | 'success' | 'other');
-- per moment and per poor variant, the drop-outs that would not happen without it, with a bootstrap
-- interval, beside the rank of the matching factor in dropout_attribution (the lift ranking).
CREATE TABLE dropout_removal (
    process            VARCHAR NOT NULL,
    kind               VARCHAR NOT NULL,   -- 'moment' (journeys skip it) | 'poor_variant' (it is never poor)
    activity           VARCHAR NOT NULL,   -- the MOT activity ('(none)' when there are no moments of truth)
    state              VARCHAR NOT NULL,   -- 'X' or 'X (poor)'
    measurable         BOOLEAN NOT NULL,
    reason             VARCHAR,            -- 'not measurable: <reason>' (NULL when measurable)
    rank               INTEGER,            -- 1 = most drop-outs avoided, within the kind (NULL: not measurable)
    dropouts_avoided   DOUBLE,             -- (P(drop-out) - P(drop-out | without it)) x n_cases
    ci_low             DOUBLE,             -- bootstrap percentile interval of dropouts_avoided
    ci_high            DOUBLE,
    share_of_dropouts  DOUBLE,             -- dropouts_avoided / n_dropout
    p_dropout          DOUBLE,             -- absorption probability in 'dropout' from start, full chain
    p_dropout_without  DOUBLE,             -- the same without the moment / its poor variant
    n_cases            BIGINT NOT NULL,    -- cases in the chain
    n_dropout          BIGINT NOT NULL,    -- drop-out cases
    n_cases_through    BIGINT NOT NULL,    -- cases whose journey passes the moment / its poor variant
    n_dropout_through  BIGINT NOT NULL,    -- drop-out cases among them (0 -> dropouts_avoided = 0 exactly)
    lift_factor        VARCHAR,            -- the matching factor of dropout_attribution: '<factor_kind> at <activity>'
    lift_rank          INTEGER,            -- its rank there (NULL: no such factor was measured)
    lift               DOUBLE,
    lift_ci_low        DOUBLE,
    echo_of            VARCHAR,            -- the lift ranking calls the factor an echo of this one
    agreement          VARCHAR,            -- plain-English note where the two methods disagree (or agree on an effect)
    chain              VARCHAR NOT NULL,   -- the chain used: 'order 1, memory of poor moments, 130 states'
    chain_note         VARCHAR,            -- why a richer chain was not used (support), when it fell back
    PRIMARY KEY (process, kind, activity)
);
