-- Per-event marks (from the classified combinations in mot_combo_marks) and the activity instances
-- with their marks (mot_inst_base). Temporary tables read from the prepared tables only: analyse runs
-- this file before its transaction (issue 20: built inside it, where the new tables are the
-- transaction's own, mot_inst_base took 140-280 s at 10.5 M events under 900MB; outside, 37 s).
CREATE OR REPLACE TEMP TABLE mot_base AS
SELECT e.process, e.case_id, e.pos, e.event_key, e.activity, e.ts, e.prev_ts, e.resource, e.lifecycle,
    m.is_moment, m.rule, m.decided, m.channel, m.effort, m.attribute_score, m.attribute_signals,
    m.outcome_kind, m.outcome_rule, m.handoff_group, m.factors
FROM event_log e
JOIN mot_combo_marks m ON m.combo = mot_combo_key(e.activity, e.resource, e.lifecycle, e.attrs, $paths)
WHERE e.process = $process;

-- One row per activity instance (activity_instances, built by the prepare step). The rules decide
-- per event; an instance is a moment of truth when one of its events is marked one, and its marks
-- (rule, channel, effort, attribute signals, event_key) come from its FIRST marked event; an
-- instance with no marked event takes them from its first event (its rule: the first rule that
-- decided one of its events). `pos` is that event's event_log position (so that outcomes, which are
-- event positions, compare with it); `instance_pos` orders the case's instances.
-- The aggregate over the events apart from the joins that follow it: in one statement they ran out of
-- memory now and then (BPIC2012 x 10 under 600MB, 1 run in 4; issue 20).
CREATE OR REPLACE TEMP TABLE mot_inst_rep AS
WITH ev AS (
    SELECT b.*, ei.instance_pos
    FROM mot_base b
    JOIN event_instances ei ON ei.process = $process AND ei.case_id = b.case_id AND ei.pos = b.pos
),
per_instance AS (
    SELECT case_id, instance_pos,
        bool_or(is_moment) AS is_moment,
        coalesce(min(pos) FILTER (WHERE is_moment), min(pos)) AS rep_pos,
        arg_min(rule, pos) FILTER (WHERE rule IS NOT NULL) AS first_rule,
        bool_and(decided) AS all_decided,
        CAST(count(*) AS INTEGER) AS n_events
    FROM ev
    GROUP BY case_id, instance_pos
)
SELECT * FROM per_instance;

CREATE OR REPLACE TEMP TABLE mot_inst_base AS
SELECT $process AS process, p.case_id, p.instance_pos, CAST(p.rep_pos AS INTEGER) AS pos, r.event_key,
    i.activity, i.ts, coalesce(i.end_ts, i.ts) AS end_ts, i.first_pos, i.last_pos, p.n_events,
    coalesce(i.resource, r.resource) AS resource, r.lifecycle,
    p.is_moment, CASE WHEN p.is_moment THEN r.rule ELSE p.first_rule END AS rule,
    p.is_moment OR p.all_decided AS decided,
    r.channel, r.effort, r.attribute_score, r.attribute_signals, r.handoff_group
FROM mot_inst_rep p
JOIN activity_instances i ON i.process = $process AND i.case_id = p.case_id AND i.instance_pos = p.instance_pos
JOIN mot_base r ON r.case_id = p.case_id AND r.pos = p.rep_pos;

DROP TABLE mot_inst_rep;
