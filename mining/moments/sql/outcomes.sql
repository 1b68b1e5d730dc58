-- One outcome per case of process process.
-- The kind: that of the latest outcome event, or with precedence (non-empty) the first kind in
-- that list the case has. The outcome event: the first event of that kind.
-- Without outcome events: a drop-out when within_days is set and the case started at least that
-- long before the end of the log, 'open' when it started later, 'other' when no limit is set.
DELETE FROM case_outcomes WHERE process = $process;

INSERT INTO case_outcomes
WITH outcome_events AS (
    SELECT case_id, pos, ts, activity, outcome_kind, outcome_rule
    FROM mot_base
    WHERE outcome_kind IS NOT NULL
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
)
SELECT $process, c.case_id,
    CASE
        WHEN d.case_id IS NOT NULL THEN d.outcome_kind
        WHEN CAST($within_days AS DOUBLE) IS NULL THEN 'other'
        WHEN epoch(l.end_ts) - epoch(c.start_ts) >= CAST($within_days AS DOUBLE) * 86400 THEN 'dropout'
        ELSE 'open'
    END AS outcome,
    d.activity,
    CASE WHEN d.case_id IS NOT NULL THEN d.ts
         WHEN epoch(l.end_ts) - epoch(c.start_ts) >= CAST($within_days AS DOUBLE) * 86400 THEN c.end_ts END,
    d.pos,
    CASE WHEN d.case_id IS NOT NULL THEN d.rule
         WHEN epoch(l.end_ts) - epoch(c.start_ts) >= CAST($within_days AS DOUBLE) * 86400
         THEN $timeout_label END
FROM cases c
CROSS JOIN log_end l
LEFT JOIN decided d ON d.case_id = c.case_id
WHERE c.process = $process
ORDER BY c.case_id;
