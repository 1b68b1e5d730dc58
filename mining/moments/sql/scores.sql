-- The experience score of every MOT instance, judged against its expectation, the running score per
-- case, and case_scores. docs/moments.md ("Expectations", "Running score") explains every rule.
--   wait       from the end of the previous MOT of the case (the first: from the case start), the
--              previous instance ($wait_from = 'previous_event') or the customer's own latest action
--              ('customer_action'), to the instance's time. Judged against its budget (activity,
--              else channel, else learned) unless timer-driven or the customer's own action.
--   effort     units: customer action + repeats (n - 1, capped) + a customer action in another channel
--              than the previous moment's ($e_* = 1 or 0 select which count),
--              against the effort budget (activity config, else 1 for the customer's own steps, else 0).
--   poor       the expectation was missed: wait over budget, effort over budget, or a negative
--              attribute signal ($p_* = 1 or 0 select which count).
--   score      s_met (+met / +beaten when not poor) + s_wait (graded miss) + s_repeat + s_channel_switch
--              + s_handoff + s_effort + s_attribute (+ s_outcome on the MOT where the outcome is known).

-- @section sequence
-- Temporary tables from the instances, timer flags and case outcomes (mot_outcomes, outcomes.sql)
-- only: analyse runs this section, `reference` and `scored` before its transaction (instances.sql
-- says why), and `score` (the writes of case_scores) inside it. The hand-offs (mot_handoffs) are
-- counted in instances.sql, where the events are at hand.
-- This section and `scored` run once per range of cases [$lo, $hi) (NULL = open end), the later
-- ranges appending to mot_sequence and mot_scored: every window here is per case, and over all
-- 100 M events each statement sorted and spilled every moment at once (BPIC2012 x400: 40-80 s each;
-- issue 20). mot_inst_base is written in case order, so a range reads its own row groups; and so is
-- mot_scored, which the ranged writes of mot_events and case_scores then read range by range (in
-- hash order, each of 105 ranges at 100 M events scanned all of it: 307 s).

-- Every instance with its timer flag and the reference points of a wait, over all instances; kept
-- for the moments only, with the columns mot_seq_in reads (not every column of mot_inst_base
-- through the window's sort).
CREATE OR REPLACE TEMP TABLE mot_inst_timed AS
SELECT * EXCLUDE (is_moment)
FROM (
    SELECT b.case_id, b.pos, b.instance_pos, b.last_pos, b.activity, b.channel, b.effort, b.attribute_score, b.ts,
        b.end_ts, b.combo_id, b.is_moment, coalesce(t.timer, false) AS timer, t.timer_rule,
        sum(CASE WHEN t.timer THEN 1 ELSE 0 END) OVER w AS cum_timer,
        lag(b.end_ts) OVER w AS prev_inst_end,
        max(CASE WHEN b.is_moment AND b.effort THEN b.end_ts END) OVER (
            PARTITION BY b.case_id ORDER BY b.instance_pos ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS customer_end
    FROM mot_inst_base b
    LEFT JOIN (
        SELECT * FROM mot_timer_flags WHERE ($lo IS NULL OR case_id >= $lo) AND ($hi IS NULL OR case_id < $hi)
    ) t ON t.case_id = b.case_id AND t.instance_pos = b.instance_pos
    WHERE ($lo IS NULL OR b.case_id >= $lo) AND ($hi IS NULL OR b.case_id < $hi)
    WINDOW w AS (PARTITION BY b.case_id ORDER BY b.instance_pos)
)
WHERE is_moment;

-- The moments with what their windows read, in a statement of its own: the join and the windows in
-- one statement ran out of memory under 900MB on BPIC2012 x 40 (issue 20); each alone spills.
CREATE OR REPLACE TEMP TABLE mot_seq_in AS
SELECT t.case_id, t.pos, t.instance_pos, t.last_pos, t.activity, t.channel, coalesce(t.effort, false) AS effort,
    t.attribute_score, t.ts, t.timer, t.timer_rule, t.end_ts, t.prev_inst_end, t.customer_end, t.cum_timer,
    h.cum_handoffs, c.start_ts, t.combo_id
FROM mot_inst_timed t
JOIN (
    SELECT * FROM mot_handoffs WHERE ($lo IS NULL OR case_id >= $lo) AND ($hi IS NULL OR case_id < $hi)
) h ON h.case_id = t.case_id AND h.pos = t.pos
JOIN cases c ON c.process = $process AND c.case_id = t.case_id
    AND ($lo IS NULL OR c.case_id >= $lo) AND ($hi IS NULL OR c.case_id < $hi);
CREATE OR REPLACE TEMP TABLE mot_sequence AS
WITH moments AS (
    SELECT t.case_id, t.pos, t.instance_pos, t.last_pos, t.activity, t.channel, t.effort,
        t.attribute_score, t.ts, t.timer, t.timer_rule, t.combo_id,
        CAST(row_number() OVER w AS INTEGER) AS mot_seq,
        CAST(row_number() OVER (PARTITION BY t.case_id, t.activity ORDER BY t.instance_pos) AS INTEGER) AS occurrence,
        CASE $wait_from
            WHEN 'previous_event' THEN coalesce(t.prev_inst_end, t.start_ts)
            WHEN 'customer_action' THEN coalesce(t.customer_end, lag(t.end_ts) OVER w, t.start_ts)
            ELSE coalesce(lag(t.end_ts) OVER w, t.start_ts)
        END AS wait_start,
        t.cum_timer - coalesce(lag(t.cum_timer) OVER w, 0) AS timers_between,
        lag(t.channel) OVER w AS prev_channel,
        CAST(t.cum_handoffs - coalesce(lag(t.cum_handoffs) OVER w, 0) AS INTEGER) AS handoffs
    FROM mot_seq_in t
    WINDOW w AS (PARTITION BY t.case_id ORDER BY t.instance_pos)
)
SELECT * EXCLUDE (wait_start, timers_between),
    greatest(0, epoch(ts) - epoch(wait_start)) AS wait_s,
    timer OR timers_between > 0 AS timer_wait,
    coalesce(channel <> prev_channel, false) AS channel_switch
FROM moments;

-- Read only by mot_sequence: their memory goes back now (made anew in the next range).
DROP TABLE mot_seq_in;
DROP TABLE mot_inst_timed;

-- @section reference
-- Read only by the ranges of `sequence`.
DROP TABLE mot_handoffs;

-- Each moment's budgets. Wait: the activity's (expectations.activities / service_level_hours), else
-- its channel's ($ch_* from expectations.channels; NULL budget = none), else learned: $learned_multiple
-- x the median (or the $quantile, when $use_quantile) of the activity's judged waits, at least $min_ref.
-- Effort: the activity's, else 1 when most of the activity's moments are the customer's own action.
CREATE OR REPLACE TEMP TABLE mot_reference AS
WITH activities AS (
    SELECT activity,
        CASE WHEN NOT $use_quantile
             THEN $learned_multiple * median(wait_s) FILTER (WHERE NOT timer_wait AND NOT effort)
             ELSE quantile_cont(wait_s, CAST($quantile AS DOUBLE)) FILTER (WHERE NOT timer_wait AND NOT effort)
        END AS learned_s,
        avg(CASE WHEN effort THEN 1.0 ELSE 0.0 END) >= 0.5 AS customer_step
    FROM mot_sequence
    GROUP BY activity
),
configured AS (
    SELECT unnest(CAST($sl_activities AS VARCHAR[])) AS activity, unnest(CAST($sl_hours AS DOUBLE[])) * 3600 AS wait_s
),
efforts AS (
    SELECT unnest(CAST($effort_activities AS VARCHAR[])) AS activity, unnest(CAST($effort_units AS INTEGER[])) AS units
)
SELECT a.activity, c.wait_s AS activity_s, greatest(a.learned_s, CAST($min_ref AS DOUBLE)) AS learned_s,
    CAST(coalesce(e.units, CASE WHEN a.customer_step THEN 1 ELSE 0 END) AS INTEGER) AS effort_budget
FROM activities a
LEFT JOIN configured c USING (activity)
LEFT JOIN efforts e USING (activity);

CREATE OR REPLACE TEMP TABLE mot_channel_budgets AS
SELECT unnest(CAST($ch_names AS VARCHAR[])) AS channel, unnest(CAST($ch_defined AS BOOLEAN[])) AS defined,
    unnest(CAST($ch_hours AS DOUBLE[])) * 3600 AS wait_s;

-- @section scored
-- Per range of cases, as `sequence` (the ranges append to mot_scored; mot_signals and
-- mot_outcome_moment are one range's, made anew in the next).
CREATE OR REPLACE TEMP TABLE mot_signals AS
WITH budgets AS (
    SELECT m.*, r.effort_budget,
        CASE WHEN r.activity_s IS NOT NULL THEN r.activity_s
             WHEN coalesce(cb.defined, ub.defined) AND coalesce(cb.wait_s, ub.wait_s) IS NOT NULL
             THEN coalesce(cb.wait_s, ub.wait_s)
             ELSE r.learned_s END AS ref_wait_s,
        CASE WHEN r.activity_s IS NOT NULL THEN 'activity'
             WHEN coalesce(cb.defined, ub.defined) AND coalesce(cb.wait_s, ub.wait_s) IS NOT NULL THEN 'channel'
             ELSE 'learned' END AS expectation_source
    FROM mot_sequence m
    JOIN mot_reference r USING (activity)
    LEFT JOIN mot_channel_budgets cb ON cb.channel = m.channel
    LEFT JOIN mot_channel_budgets ub ON ub.channel = '(unknown)' AND cb.channel IS NULL
    WHERE ($lo IS NULL OR m.case_id >= $lo) AND ($hi IS NULL OR m.case_id < $hi)
),
judged AS (
    SELECT *,
        CASE WHEN timer_wait THEN 'not measurable: timer-driven'
             WHEN effort THEN 'not measurable: customer action'
             WHEN ref_wait_s IS NULL THEN 'not measurable: no budget'
             WHEN wait_s <= $beaten_share * ref_wait_s THEN 'beaten'
             WHEN wait_s <= ref_wait_s THEN 'met'
             ELSE 'missed' END AS wait_status,
        CAST($e_action * CAST(effort AS INTEGER) + $e_repeat * least($repeat_cap, occurrence - 1)
             + $e_switch * CAST(effort AND channel_switch AS INTEGER) AS INTEGER) AS effort_units
    FROM budgets
),
flagged AS (
    SELECT *, wait_status = 'missed' AS long_wait, effort_units > effort_budget AS effort_over,
        ($p_wait = 1 AND wait_status = 'missed') OR ($p_effort = 1 AND effort_units > effort_budget)
            OR ($p_attribute = 1 AND attribute_score < 0) AS poor
    FROM judged
),
signals AS (
    SELECT *,
        CAST(CASE WHEN poor THEN 0 WHEN wait_status = 'beaten' THEN $w_beaten ELSE $w_met END AS DOUBLE) AS s_met,
        CAST(CASE WHEN long_wait THEN -$w_wait * (1 + least($wait_cap, coalesce(log2(wait_s / nullif(ref_wait_s, 0)), $wait_cap))) ELSE 0 END
             AS DOUBLE) AS s_wait,
        CAST(-$w_repeat * least($repeat_cap, occurrence - 1) AS DOUBLE) AS s_repeat,
        CAST(CASE WHEN channel_switch THEN -$w_switch ELSE 0 END AS DOUBLE) AS s_channel_switch,
        CAST(-$w_handoff * least($handoff_cap, handoffs) AS DOUBLE) AS s_handoff,
        CAST(CASE WHEN effort THEN -$w_effort ELSE 0 END AS DOUBLE) AS s_effort,
        CAST(attribute_score AS DOUBLE) AS s_attribute
    FROM flagged
)
SELECT *,
    CAST(s_met + s_wait + s_repeat + s_channel_switch + s_handoff + s_effort + s_attribute AS DOUBLE) AS experience_score
FROM signals;

-- The MOT at which each decided outcome becomes known to the customer: the first MOT instance that
-- holds or follows the outcome event, else the case's last MOT.
CREATE OR REPLACE TEMP TABLE mot_outcome_moment AS
SELECT o.case_id, o.outcome,
    coalesce(min(s.instance_pos) FILTER (WHERE s.last_pos >= o.outcome_pos), max(s.instance_pos)) AS instance_pos
FROM mot_outcomes o
JOIN mot_signals s ON s.case_id = o.case_id
WHERE o.process = $process AND o.outcome IN ('success', 'declined', 'dropout')
  AND ($lo IS NULL OR o.case_id >= $lo) AND ($hi IS NULL OR o.case_id < $hi)
GROUP BY o.case_id, o.outcome;

-- `pos` is the marking event's event_log position (dropout.sql compares it with outcome_pos).
CREATE OR REPLACE TEMP TABLE mot_scored AS
WITH with_outcome AS (
    SELECT s.*,
        CAST(CASE om.outcome WHEN 'success' THEN $w_success WHEN 'declined' THEN $w_declined
                             WHEN 'dropout' THEN $w_dropout ELSE 0 END AS DOUBLE) AS s_outcome
    FROM mot_signals s
    LEFT JOIN mot_outcome_moment om ON om.case_id = s.case_id AND om.instance_pos = s.instance_pos
)
-- The running score is summed exactly (in decimal, then made a double): a windowed sum of doubles
-- adds in an order that depends on the other cases of its partition, which differ from range to
-- range, and per range it differed from one pass in the last bits.
SELECT *,
    experience_score + s_outcome AS score,
    CAST(sum(CAST(experience_score + s_outcome AS DECIMAL(38, 17))) OVER (PARTITION BY case_id ORDER BY instance_pos)
        AS DOUBLE) AS running_score
FROM with_outcome;
DROP TABLE mot_outcome_moment;
DROP TABLE mot_signals;

-- @section scored_done
-- Read only by mot_reference and the ranges of `scored`: its memory goes back before the writes
-- below (issue 20).
DROP TABLE mot_sequence;

-- @section score
DELETE FROM case_scores WHERE process = $process;

-- @section case_scores
-- One range of cases [$lo, $hi) (NULL = open end) a statement, run for each range after `score`:
-- the trajectory (an ordered list per case) is an aggregate DuckDB cannot spill, and over every
-- case at once it ran out of memory at 10.5 M events under 300MB (issue 20).
INSERT INTO case_scores BY NAME
SELECT o.process, o.case_id,
    CAST(count(s.pos) AS INTEGER) AS n_moments,
    arg_max(s.running_score, s.instance_pos) AS final_score,
    min(s.running_score) AS min_score,
    o.outcome,
    CAST(count(s.pos) FILTER (WHERE s.poor) AS INTEGER) AS n_poor,
    -- the per-moment mean: from the ordered running sum, not avg() (a parallel avg() may add in another order)
    arg_max(s.running_score, s.instance_pos) / count(s.pos) AS mean_score,
    CASE WHEN count(s.pos) > 0 THEN list(s.running_score ORDER BY s.instance_pos) END AS trajectory
FROM case_outcomes o
LEFT JOIN mot_scored s ON s.case_id = o.case_id
WHERE o.process = $process AND ($lo IS NULL OR o.case_id >= $lo) AND ($hi IS NULL OR o.case_id < $hi)
GROUP BY o.process, o.case_id, o.outcome
ORDER BY o.case_id;
