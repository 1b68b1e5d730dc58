-- The experience score of every MOT, the running score per case, and the per-event table.
-- Signals (each <= 0 unless a weight says otherwise; docs/moments.md explains them):
--   wait      the wait before the MOT (since the previous MOT, or previous event) above the MOT's
--             own reference (a service level, or the quantile of that activity's waits):
--             -w_wait * (1 + min(wait_cap, log2(wait / reference)))
--   repeat    the n-th occurrence of the same MOT in the case: -w_repeat * min(repeat_cap, n - 1)
--   switch    the channel differs from that of the previous MOT: -w_switch
--   hand-off  changes of the hand-off field since the previous MOT: -w_handoff * min(handoff_cap, n)
--   effort    the customer has to act: -w_effort
--   attribute the weights of the attribute signals that match (e.g. negative sentiment)
--   outcome   on the MOT at which the outcome becomes known (the first MOT at or after the
--             outcome event, else the last MOT): w_success / w_declined / w_dropout
-- poor = the sum of the signals listed in scoring.poor_signals <= poor_threshold (p_* are 1 or 0).

-- Hand-offs: changes of the hand-off field between consecutive events, counted cumulatively.
CREATE OR REPLACE TEMP TABLE mot_handoffs AS
SELECT case_id, pos,
    sum(CASE WHEN handoff_group IS NOT NULL AND prev_group IS NOT NULL AND handoff_group <> prev_group
             THEN 1 ELSE 0 END) OVER (PARTITION BY case_id ORDER BY pos) AS cum_handoffs
FROM (
    SELECT case_id, pos, handoff_group,
        last_value(handoff_group IGNORE NULLS) OVER (
            PARTITION BY case_id ORDER BY pos ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS prev_group
    FROM mot_base
);

CREATE OR REPLACE TEMP TABLE mot_sequence AS
SELECT b.case_id, b.pos, b.activity, b.channel, b.effort, b.attribute_score,
    CAST(row_number() OVER w AS INTEGER) AS mot_seq,
    CAST(row_number() OVER (PARTITION BY b.case_id, b.activity ORDER BY b.pos) AS INTEGER) AS occurrence,
    epoch(b.ts) - epoch(CASE WHEN $wait_from = 'previous_event' THEN b.prev_ts ELSE lag(b.ts) OVER w END) AS wait_s,
    lag(b.channel) OVER w AS prev_channel,
    CAST(h.cum_handoffs - coalesce(lag(h.cum_handoffs) OVER w, 0) AS INTEGER) AS handoffs
FROM mot_base b
JOIN mot_handoffs h ON h.case_id = b.case_id AND h.pos = b.pos
WHERE b.is_moment
WINDOW w AS (PARTITION BY b.case_id ORDER BY b.pos);

-- Each MOT activity's own reference wait: its service level, else the quantile of its waits.
CREATE OR REPLACE TEMP TABLE mot_reference AS
WITH typical AS (
    SELECT activity, quantile_cont(wait_s, CAST($quantile AS DOUBLE)) AS wait_s
    FROM mot_sequence
    WHERE wait_s IS NOT NULL
    GROUP BY activity
),
service_levels AS (
    SELECT unnest(CAST($sl_activities AS VARCHAR[])) AS activity,
        unnest(CAST($sl_hours AS DOUBLE[])) * 3600 AS wait_s
)
SELECT t.activity, greatest(coalesce(s.wait_s, t.wait_s), CAST($min_ref AS DOUBLE)) AS ref_wait_s,
    s.wait_s IS NOT NULL AS is_service_level
FROM typical t
LEFT JOIN service_levels s USING (activity);

CREATE OR REPLACE TEMP TABLE mot_signals AS
WITH flagged AS (
    SELECT m.*, r.ref_wait_s,
        coalesce(m.wait_s > r.ref_wait_s, false) AS long_wait,
        coalesce(m.channel <> m.prev_channel, false) AS channel_switch
    FROM mot_sequence m
    LEFT JOIN mot_reference r USING (activity)
),
signals AS (
    SELECT *,
        CASE WHEN long_wait
             THEN -$w_wait * (1 + least($wait_cap, coalesce(log2(wait_s / nullif(ref_wait_s, 0)), $wait_cap)))
             ELSE 0 END AS s_wait,
        -$w_repeat * least($repeat_cap, occurrence - 1) AS s_repeat,
        CASE WHEN channel_switch THEN -$w_switch ELSE 0 END AS s_channel_switch,
        -$w_handoff * least($handoff_cap, handoffs) AS s_handoff,
        CASE WHEN effort THEN -$w_effort ELSE 0 END AS s_effort,
        attribute_score AS s_attribute
    FROM flagged
)
SELECT *,
    CAST(s_wait + s_repeat + s_channel_switch + s_handoff + s_effort + s_attribute AS DOUBLE) AS experience_score
FROM signals;

-- The MOT at which each decided outcome becomes known to the customer.
CREATE OR REPLACE TEMP TABLE mot_outcome_moment AS
SELECT o.case_id, o.outcome,
    coalesce(min(s.pos) FILTER (WHERE s.pos >= o.outcome_pos), max(s.pos)) AS pos
FROM case_outcomes o
JOIN mot_signals s ON s.case_id = o.case_id
WHERE o.process = $process AND o.outcome IN ('success', 'declined', 'dropout')
GROUP BY o.case_id, o.outcome;

CREATE OR REPLACE TEMP TABLE mot_scored AS
WITH with_outcome AS (
    SELECT s.*,
        CAST(CASE om.outcome WHEN 'success' THEN $w_success WHEN 'declined' THEN $w_declined
                             WHEN 'dropout' THEN $w_dropout ELSE 0 END AS DOUBLE) AS s_outcome
    FROM mot_signals s
    LEFT JOIN mot_outcome_moment om ON om.case_id = s.case_id AND om.pos = s.pos
)
SELECT *,
    experience_score + s_outcome AS score,
    sum(experience_score + s_outcome) OVER (PARTITION BY case_id ORDER BY pos) AS running_score,
    $p_wait * s_wait + $p_repeat * s_repeat + $p_channel_switch * s_channel_switch
        + $p_handoff * s_handoff + $p_effort * s_effort + $p_attribute * s_attribute <= $poor_threshold AS poor
FROM with_outcome;

DELETE FROM case_scores WHERE process = $process;

INSERT INTO case_scores BY NAME
SELECT o.process, o.case_id,
    CAST(count(s.pos) AS INTEGER) AS n_moments,
    arg_max(s.running_score, s.pos) AS final_score,
    min(s.running_score) AS min_score,
    o.outcome,
    CAST(count(s.pos) FILTER (WHERE s.poor) AS INTEGER) AS n_poor,
    -- from the ordered running sum, not avg(): a parallel avg() may add in another order
    arg_max(s.running_score, s.pos) / count(s.pos) AS mean_score,
    CASE WHEN count(s.pos) > 0 THEN list(s.running_score ORDER BY s.pos) END AS trajectory
FROM case_outcomes o
LEFT JOIN mot_scored s ON s.case_id = o.case_id
WHERE o.process = $process
GROUP BY o.process, o.case_id, o.outcome
ORDER BY o.case_id;
