-- Per-event marks (from the classified combinations in mot_combo_marks) and the activity instances
-- with their marks (mot_inst_base). Temporary tables read from the prepared tables only: analyse runs
-- this file before its transaction (issue 20: built inside it, where the new tables are the
-- transaction's own, mot_inst_base took 140-280 s at 10.5 M events under 900MB; outside, 37 s).
-- mining.moments.analysis.build_instances runs `combos` once, then `chunk` once per range of case ids
-- [$lo, $hi) (NULL = open end): every statement there reads the cases of one range (the tables of
-- per-case rows it creates in the first range, it appends to in the others), so that its joins,
-- aggregate and windows hold one range of events, not all (at 10.5 M events under 900MB they spilled).

-- @section combos
-- The combinations with their marks, by combo_id. handoff_id numbers the hand-off groups (equal ids,
-- equal groups), so that the per-event window of scores.sql compares integers, not strings.
CREATE OR REPLACE TEMP TABLE mot_combo_keys AS
SELECT c.combo_id, c.activity, c.resource, c.lifecycle, c.vals,
    m.is_moment, m.rule, m.decided, m.channel, m.effort, m.attribute_score, m.attribute_signals,
    m.outcome_kind, m.outcome_rule, m.handoff_group, m.factors,
    CASE WHEN m.handoff_group IS NOT NULL THEN CAST(dense_rank() OVER (ORDER BY m.handoff_group) AS INTEGER) END
        AS handoff_id
FROM mot_combos c
JOIN mot_combo_marks m ON m.combo = c.combo;

-- @section chunk
-- One narrow row per event: its combination (combo_id: every mark of the event is its combination's,
-- read from mot_combo_keys where needed), its instance, and what is its own (event_key, ts). The
-- events are joined to their combination on the fields themselves (the key is hashed per combination
-- only, fields.sql) and to event_instances here, once.
CREATE OR REPLACE TEMP TABLE mot_base AS
SELECT e.case_id, e.pos, ei.instance_pos, m.combo_id, m.is_moment, m.decided, m.rule IS NOT NULL AS has_rule,
    e.event_key, e.ts
FROM event_log e
JOIN mot_combo_keys m ON m.activity = e.activity AND m.resource IS NOT DISTINCT FROM e.resource
    AND m.lifecycle IS NOT DISTINCT FROM e.lifecycle AND m.vals IS NOT DISTINCT FROM mot_combo_vals(e.attrs, $paths)
JOIN event_instances ei ON ei.process = $process AND ei.case_id = e.case_id AND ei.pos = e.pos
    AND ($lo IS NULL OR ei.case_id >= $lo) AND ($hi IS NULL OR ei.case_id < $hi)
WHERE e.process = $process AND ($lo IS NULL OR e.case_id >= $lo) AND ($hi IS NULL OR e.case_id < $hi);

-- One row per activity instance (activity_instances, built by the prepare step). The rules decide
-- per event; an instance is a moment of truth when one of its events is marked one, and its marks
-- (rule, channel, effort, attribute signals, event_key) come from its FIRST marked event; an
-- instance with no marked event takes them from its first event (its rule: the first rule that
-- decided one of its events). `pos` is that event's event_log position (so that outcomes, which are
-- event positions, compare with it); `instance_pos` orders the case's instances.
-- The representative event is the one of least rep_key (marked events first, then by position); its
-- combination and event_key are taken in the aggregate, not by joining the events again.
-- The aggregate over the events apart from the joins that follow it: in one statement they ran out of
-- memory now and then (BPIC2012 x 10 under 600MB, 1 run in 4; issue 20).
CREATE OR REPLACE TEMP TABLE mot_inst_rep AS
SELECT case_id, instance_pos,
    bool_or(is_moment) AS is_moment,
    CAST(min(rep_key) % 2147483648 AS INTEGER) AS rep_pos,
    arg_min(combo_id, rep_key) AS rep_combo,
    arg_min(event_key, rep_key) AS event_key,
    arg_min(combo_id, pos) FILTER (WHERE has_rule) AS first_rule_combo,
    bool_and(decided) AS all_decided,
    CAST(count(*) AS INTEGER) AS n_events
FROM (
    SELECT case_id, instance_pos, pos, combo_id, is_moment, decided, has_rule, event_key,
        CAST(pos AS BIGINT) + CASE WHEN is_moment THEN 0 ELSE 2147483648 END AS rep_key
    FROM mot_base
)
GROUP BY case_id, instance_pos;

-- Hand-offs: changes of the hand-off field between consecutive events, counted cumulatively
-- (over the groups' integer ids, mot_combo_keys.handoff_id: equal ids, equal groups). Counted over
-- every event, kept for the marked events only: mot_seq_in (scores.sql) reads it at the moments'
-- marking events.
CREATE OR REPLACE TEMP TABLE mot_handoffs AS
SELECT case_id, pos, cum_handoffs
FROM (
    SELECT case_id, pos, is_moment,
        sum(CASE WHEN handoff_group IS NOT NULL AND prev_group IS NOT NULL AND handoff_group <> prev_group
                 THEN 1 ELSE 0 END) OVER (PARTITION BY case_id ORDER BY pos) AS cum_handoffs
    FROM (
        SELECT b.case_id, b.pos, b.is_moment, k.handoff_id AS handoff_group,
            last_value(k.handoff_id IGNORE NULLS) OVER (
                PARTITION BY b.case_id ORDER BY b.pos ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
            ) AS prev_group
        FROM mot_base b
        JOIN mot_combo_keys k ON k.combo_id = b.combo_id
    )
)
WHERE is_moment;

-- The outcome events (outcomes.sql), few.
CREATE OR REPLACE TEMP TABLE mot_outcome_events AS
SELECT b.case_id, b.pos, b.ts, k.activity, k.outcome_kind, k.outcome_rule
FROM mot_base b
JOIN mot_combo_keys k ON k.combo_id = b.combo_id
WHERE k.outcome_kind IS NOT NULL;

-- Nothing reads the range's events after this: their table gives its memory back before the
-- instances' joins and the next range (a temporary table keeps its memory until it is dropped).
DROP TABLE mot_base;

-- combo_id: the representative event's combination (dropout.sql reads its factors).
CREATE OR REPLACE TEMP TABLE mot_inst_base AS
SELECT $process AS process, p.case_id, p.instance_pos, p.rep_pos AS pos, p.event_key,
    i.activity, i.ts, coalesce(i.end_ts, i.ts) AS end_ts, i.first_pos, i.last_pos, p.n_events,
    coalesce(i.resource, r.resource) AS resource, r.lifecycle,
    p.is_moment, CASE WHEN p.is_moment THEN r.rule ELSE f.rule END AS rule,
    p.is_moment OR p.all_decided AS decided,
    r.channel, r.effort, r.attribute_score, r.attribute_signals, r.handoff_group, p.rep_combo AS combo_id
FROM mot_inst_rep p
JOIN activity_instances i ON i.process = $process AND i.case_id = p.case_id AND i.instance_pos = p.instance_pos
    AND ($lo IS NULL OR i.case_id >= $lo) AND ($hi IS NULL OR i.case_id < $hi)
JOIN mot_combo_keys r ON r.combo_id = p.rep_combo
LEFT JOIN mot_combo_keys f ON f.combo_id = p.first_rule_combo;

DROP TABLE mot_inst_rep;
