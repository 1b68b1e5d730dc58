-- Per-event marks (from the classified combinations in mot_combo_marks) and the activity roll-up.
CREATE OR REPLACE TEMP TABLE mot_base AS
SELECT e.process, e.case_id, e.pos, e.event_key, e.activity, e.ts, e.prev_ts, e.resource, e.lifecycle,
    m.is_moment, m.rule, m.decided, m.channel, m.effort, m.attribute_score, m.attribute_signals,
    m.outcome_kind, m.outcome_rule, m.handoff_group, m.factors
FROM event_log e
JOIN mot_combo_marks m ON m.combo = mot_combo_key(e.activity, e.resource, e.lifecycle, e.attrs, $paths)
WHERE e.process = $process;

DELETE FROM mot_activities WHERE process = $process;

-- An activity is a moment of truth when, in at least one lifecycle transition, at least
-- min_share of its events are MOTs: a call is an MOT when it starts, not when it is scheduled.
INSERT INTO mot_activities
WITH per_lifecycle AS (
    SELECT activity, lifecycle, count(*) AS n, count(*) FILTER (WHERE is_moment) AS n_mot
    FROM mot_base
    GROUP BY activity, lifecycle
),
activity_mark AS (
    SELECT activity,
        bool_or(n_mot > 0 AND n_mot >= $min_share * n) AS is_moment,
        string_agg(lifecycle, ', ' ORDER BY lifecycle) FILTER (WHERE n_mot > 0 AND n_mot >= $min_share * n) AS lifecycles
    FROM per_lifecycle
    GROUP BY activity
),
counts AS (
    SELECT activity,
        count(*) AS n_events,
        count(*) FILTER (WHERE is_moment) AS n_moments,
        count(*) FILTER (WHERE NOT decided) AS n_undecided
    FROM mot_base
    GROUP BY activity
),
channel_counts AS (
    SELECT activity, channel, count(*) AS n
    FROM mot_base
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
rule_counts AS (
    SELECT b.activity, b.rule, b.is_moment = a.is_moment AS agrees, count(*) AS n
    FROM mot_base b JOIN activity_mark a USING (activity)
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
SELECT $process, k.activity, a.is_moment,
    k.n_moments / k.n_events AS share,
    c.channel, r.rule, k.n_events, k.n_undecided = 0 AS decided, k.n_moments,
    k.n_undecided / k.n_events AS undecided_share,
    a.lifecycles, c.channels, r.rules
FROM counts k
JOIN activity_mark a USING (activity)
LEFT JOIN channels c USING (activity)
LEFT JOIN rules r USING (activity)
ORDER BY k.activity;
