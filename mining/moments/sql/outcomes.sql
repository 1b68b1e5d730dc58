-- One outcome per case of process process, with the polarity of its kind.
-- The kind: that of the latest outcome event, or with precedence (non-empty) the first kind in
-- that list the case has. The outcome event: the first event of that kind.
-- Without outcome events: a drop-out when within_days is set and the case started at least that
-- long before the end of the log, 'open' when it started later, 'other' when no limit is set.
-- Kinds and polarities: $kind_names / $kind_polarities (built-in three first, then the user's).
-- @section compute
-- Into a temporary table before the step's transaction (scores and dropout read it there too): a
-- table built inside the transaction is held as its own uncommitted change (issue 20).
CREATE OR REPLACE TEMP TABLE mot_outcomes AS
WITH outcome_events AS (
    SELECT case_id, pos, ts, activity, outcome_kind, outcome_rule FROM mot_outcome_events
),
ranked AS (
    SELECT case_id, outcome_kind,
        row_number() OVER (
            PARTITION BY case_id
            ORDER BY CASE WHEN len(CAST($precedence AS VARCHAR[])) = 0 THEN 0
                          ELSE coalesce(list_position(CAST($precedence AS VARCHAR[]), outcome_kind), 999) END,
                     pos DESC
        ) AS rn
    FROM outcome_events
),
decided AS (
    SELECT e.case_id, e.outcome_kind,
        arg_min(e.activity, e.pos) AS activity,
        arg_min(e.ts, e.pos) AS ts,
        min(e.pos) AS pos,
        arg_min(e.outcome_rule, e.pos) AS rule
    FROM outcome_events e
    JOIN ranked r ON r.case_id = e.case_id AND r.outcome_kind = e.outcome_kind AND r.rn = 1
    GROUP BY e.case_id, e.outcome_kind
),
log_end AS (
    SELECT max(end_ts) AS end_ts FROM cases WHERE process = $process
),
outcomes AS (
    SELECT c.case_id,
        CASE
            WHEN d.case_id IS NOT NULL THEN d.outcome_kind
            WHEN CAST($within_days AS DOUBLE) IS NULL THEN 'other'
            WHEN epoch(l.end_ts) - epoch(c.start_ts) >= CAST($within_days AS DOUBLE) * 86400 THEN 'dropout'
            ELSE 'open'
        END AS outcome,
        d.activity AS outcome_activity,
        CASE WHEN d.case_id IS NOT NULL THEN d.ts
             WHEN epoch(l.end_ts) - epoch(c.start_ts) >= CAST($within_days AS DOUBLE) * 86400 THEN c.end_ts END
            AS outcome_ts,
        d.pos AS outcome_pos,
        CASE WHEN d.case_id IS NOT NULL THEN d.rule
             WHEN epoch(l.end_ts) - epoch(c.start_ts) >= CAST($within_days AS DOUBLE) * 86400
             THEN $timeout_label END AS outcome_rule
    FROM cases c
    CROSS JOIN log_end l
    LEFT JOIN decided d ON d.case_id = c.case_id
    WHERE c.process = $process
)
SELECT $process AS process, case_id, outcome, outcome_activity, outcome_ts, outcome_pos, outcome_rule,
    list_extract(CAST($kind_polarities AS VARCHAR[]), list_position(CAST($kind_names AS VARCHAR[]), outcome))
        AS polarity
FROM outcomes
ORDER BY case_id;

-- @section store
DELETE FROM case_outcomes WHERE process = $process;

INSERT INTO case_outcomes BY NAME
SELECT * FROM mot_outcomes ORDER BY case_id;

-- The kinds in force and their cases.
DELETE FROM outcome_kinds WHERE process = $process;

INSERT INTO outcome_kinds BY NAME
WITH kinds AS (
    SELECT unnest(CAST($kind_names AS VARCHAR[])) AS kind,
        unnest(CAST($kind_polarities AS VARCHAR[])) AS polarity,
        unnest(CAST($kind_rules AS INTEGER[])) AS n_rules,
        generate_subscripts(CAST($kind_names AS VARCHAR[]), 1) AS i
),
counted AS (
    SELECT outcome AS kind, count(*) AS n FROM case_outcomes WHERE process = $process GROUP BY outcome
)
SELECT $process AS process, k.kind, k.polarity, k.i <= 3 AS builtin, k.n_rules, coalesce(c.n, 0) AS n_cases
FROM kinds k LEFT JOIN counted c USING (kind)
ORDER BY k.i;

-- Whether anything outcome-based is measurable, and why not.
DELETE FROM outcome_status WHERE process = $process;

INSERT INTO outcome_status BY NAME
WITH c AS (
    SELECT count(*) AS n_cases,
        count(*) FILTER (WHERE outcome NOT IN ('open', 'other')) AS n_decided,
        count(*) FILTER (WHERE outcome = 'open') AS n_open,
        count(*) FILTER (WHERE outcome = 'other') AS n_other,
        count(DISTINCT outcome) FILTER (WHERE outcome NOT IN ('open', 'other')) AS n_kinds_observed,
        count(*) FILTER (WHERE polarity = 'positive') AS n_positive,
        count(*) FILTER (WHERE polarity = 'negative') AS n_negative,
        count(*) FILTER (WHERE polarity = 'neutral') AS n_neutral,
        count(*) FILTER (WHERE outcome = 'dropout') AS n_dropout
    FROM case_outcomes WHERE process = $process
)
SELECT $process AS process, n_decided > 0 AS outcomes_defined,
    CASE WHEN n_decided > 0 THEN NULL
         WHEN n_open > 0 THEN 'no outcome yet: every case without an outcome event started less than '
             || CAST($within_days AS VARCHAR) || ' days before the end of the log (outcomes.success_within_days)'
         WHEN $rule_source = 'none' THEN 'no outcome defined: no outcome rule in moments.outcomes and no time limit'
         WHEN $rule_source = 'built-in words' THEN 'no outcome defined: no event matches the built-in outcome words '
             || '(withdraw, cancel, declined, paid, ...) and moments.outcomes gives no rule of its own'
         ELSE 'no outcome defined: no event matches the outcome rules of moments.outcomes'
    END AS reason,
    $rule_source AS rule_source,
    n_cases, n_decided, n_open, n_other, CAST(n_kinds_observed AS INTEGER) AS n_kinds_observed,
    n_positive, n_negative, n_neutral, n_dropout
FROM c;
