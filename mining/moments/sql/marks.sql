-- Per-event marks (from the classified combinations in mot_combo_marks), the activity instances with
-- their marks (mot_inst_base), and the activity roll-up over instances.
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
CREATE OR REPLACE TEMP TABLE mot_inst_base AS
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
SELECT $process AS process, p.case_id, p.instance_pos, CAST(p.rep_pos AS INTEGER) AS pos, r.event_key,
    i.activity, i.ts, coalesce(i.end_ts, i.ts) AS end_ts, i.first_pos, i.last_pos, p.n_events,
    coalesce(i.resource, r.resource) AS resource, r.lifecycle,
    p.is_moment, CASE WHEN p.is_moment THEN r.rule ELSE p.first_rule END AS rule,
    p.is_moment OR p.all_decided AS decided,
    r.channel, r.effort, r.attribute_score, r.attribute_signals, r.handoff_group
FROM per_instance p
JOIN activity_instances i ON i.process = $process AND i.case_id = p.case_id AND i.instance_pos = p.instance_pos
JOIN mot_base r ON r.case_id = p.case_id AND r.pos = p.rep_pos;

DELETE FROM mot_activities WHERE process = $process;

-- An activity is a moment of truth when at least min_share of its instances are moments: a BPIC call
-- (schedule, start, complete) is one instance, a moment when its start is marked one.
INSERT INTO mot_activities BY NAME
WITH events AS (
    SELECT i.activity, count(*) AS n_events, count(*) FILTER (WHERE NOT b.decided) AS n_undecided_events
    FROM mot_base b
    JOIN event_instances ei ON ei.process = $process AND ei.case_id = b.case_id AND ei.pos = b.pos
    JOIN activity_instances i ON i.process = $process AND i.case_id = ei.case_id AND i.instance_pos = ei.instance_pos
    GROUP BY i.activity
),
counts AS (
    SELECT activity,
        count(*) AS n_instances,
        count(*) FILTER (WHERE is_moment) AS n_moments,
        count(*) FILTER (WHERE NOT decided) AS n_undecided,
        string_agg(DISTINCT lifecycle, ', ' ORDER BY lifecycle) FILTER (WHERE is_moment) AS lifecycles
    FROM mot_inst_base
    GROUP BY activity
),
channel_counts AS (
    SELECT activity, channel, count(*) AS n
    FROM mot_inst_base
    WHERE is_moment AND channel IS NOT NULL
    GROUP BY activity, channel
),
channels AS (
    SELECT c.activity,
        first(c.channel ORDER BY c.n DESC, c.channel) AS channel,
        string_agg(c.channel || ' ' || printf('%.2f', c.n / k.n_moments), '; ' ORDER BY c.n DESC, c.channel) AS channels
    FROM channel_counts c JOIN counts k USING (activity)
    GROUP BY c.activity
),
marked AS (
    SELECT activity, n_moments > 0 AND n_moments >= $min_share * n_instances AS is_moment FROM counts
),
rule_counts AS (
    SELECT b.activity, b.rule, b.is_moment = a.is_moment AS agrees, count(*) AS n
    FROM mot_inst_base b JOIN marked a USING (activity)
    WHERE b.rule IS NOT NULL
    GROUP BY b.activity, b.rule, agrees
),
rules AS (
    SELECT activity,
        first(rule ORDER BY agrees DESC, n DESC, rule) AS rule,
        string_agg(rule || ' (' || n || ')', '; ' ORDER BY n DESC, rule) AS rules
    FROM rule_counts
    GROUP BY activity
)
SELECT $process AS process, k.activity, a.is_moment AS is_moment_of_truth,
    k.n_moments / k.n_instances AS share,
    c.channel, r.rule, e.n_events, k.n_undecided = 0 AS decided, k.n_moments,
    k.n_undecided / k.n_instances AS undecided_share,
    k.lifecycles, c.channels, r.rules, k.n_instances
FROM counts k
JOIN marked a USING (activity)
JOIN events e USING (activity)
LEFT JOIN channels c USING (activity)
LEFT JOIN rules r USING (activity)
ORDER BY k.activity;
