-- The activity roll-up over instances (mot_inst_base, from instances.sql).

DELETE FROM mot_activities WHERE process = $process;

-- An activity is a moment of truth when at least min_share of its instances are moments: a BPIC call
-- (schedule, start, complete) is one instance, a moment when its start is marked one.
INSERT INTO mot_activities BY NAME
WITH events AS (
    -- the events of the activity's instances: their counts, not the events joined again
    SELECT activity, CAST(sum(n_events) AS BIGINT) AS n_events
    FROM mot_inst_base
    GROUP BY activity
),
counts AS (
    SELECT activity,
        count(*) AS n_instances,
        count(*) FILTER (WHERE is_moment) AS n_moments,
        count(*) FILTER (WHERE NOT decided) AS n_undecided
    FROM mot_inst_base
    GROUP BY activity
),
-- The lifecycles of its moments, from the distinct (activity, lifecycle) pairs: an ordered
-- string_agg over the instances holds every one of them in memory (it cannot spill) and ran out of
-- DuckDB's 2.5 GB at 100 M events (issue 20).
lifecycles AS (
    SELECT activity, string_agg(lifecycle, ', ' ORDER BY lifecycle) AS lifecycles
    FROM (SELECT DISTINCT activity, lifecycle FROM mot_inst_base WHERE is_moment AND lifecycle IS NOT NULL)
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
    l.lifecycles, c.channels, r.rules, k.n_instances
FROM counts k
JOIN marked a USING (activity)
JOIN events e USING (activity)
LEFT JOIN lifecycles l USING (activity)
LEFT JOIN channels c USING (activity)
LEFT JOIN rules r USING (activity)
ORDER BY k.activity;
