-- Candidate functional steps over the raw step log (waste_raw). Parameters: min_group_cases,
-- edge_min_share, alternative_similarity, pair_share, pair_max_case_share, pair_min_repeat_share.

-- @section alternatives
-- Two activities are alternatives when they never share a case and take the same place in the
-- instance-level DFG: the histogram intersection of their predecessor distributions and of their
-- successor distributions ('(start)' / '(end)' included) are both at least alternative_similarity.
WITH acts AS (
    -- cases from one row per (activity, case), not count(DISTINCT case_id), which cannot spill
    SELECT activity, CAST(sum(n) AS BIGINT) AS n, count(*) AS cases
    FROM (SELECT activity, case_id, count(*) AS n FROM waste_raw GROUP BY activity, case_id)
    GROUP BY activity
),
pred AS (
    SELECT activity, coalesce(prev_activity, '(start)') AS other, count(*) AS n FROM waste_raw GROUP BY ALL
),
succ AS (
    SELECT activity, coalesce(next_activity, '(end)') AS other, count(*) AS n FROM waste_raw GROUP BY ALL
),
pred_p AS (SELECT p.activity, p.other, p.n / a.n AS p FROM pred p JOIN acts a USING (activity)),
succ_p AS (SELECT s.activity, s.other, s.n / a.n AS p FROM succ s JOIN acts a USING (activity)),
pairs AS (
    SELECT a.activity AS a, b.activity AS b
    FROM acts a JOIN acts b ON a.activity < b.activity
    WHERE a.cases >= $min_group_cases AND b.cases >= $min_group_cases
),
sim_pred AS (
    SELECT pr.a, pr.b, sum(least(x.p, y.p)) AS s
    FROM pairs pr JOIN pred_p x ON x.activity = pr.a JOIN pred_p y ON y.activity = pr.b AND y.other = x.other
    GROUP BY ALL
),
sim_succ AS (
    SELECT pr.a, pr.b, sum(least(x.p, y.p)) AS s
    FROM pairs pr JOIN succ_p x ON x.activity = pr.a JOIN succ_p y ON y.activity = pr.b AND y.other = x.other
    GROUP BY ALL
),
alike AS (
    SELECT pr.a, pr.b, sp.s AS pred_similarity, ss.s AS succ_similarity
    FROM pairs pr
    JOIN sim_pred sp USING (a, b)
    JOIN sim_succ ss USING (a, b)
    WHERE sp.s >= $alternative_similarity AND ss.s >= $alternative_similarity
),
-- whether two similar activities share a case, looked up for those few pairs only (pairing every
-- two activities of every case first made millions of rows)
case_acts AS (
    SELECT DISTINCT r.activity, r.case_id
    FROM waste_raw r
    SEMI JOIN (SELECT a AS activity FROM alike UNION SELECT b FROM alike) s ON s.activity = r.activity
),
shared AS (
    SELECT m.a, m.b, count(*) AS n
    FROM alike m
    JOIN case_acts x ON x.activity = m.a
    JOIN case_acts y ON y.activity = m.b AND y.case_id = x.case_id
    GROUP BY ALL
)
SELECT m.a, m.b, m.pred_similarity, m.succ_similarity
FROM alike m
LEFT JOIN shared sh USING (a, b)
WHERE sh.n IS NULL
ORDER BY m.a, m.b;

-- @section pairs
-- Hand-off pairs: b directly follows a in at least pair_share of a's instances, a directly
-- precedes b in at least pair_share of b's, and a is optional (in at most pair_max_case_share of
-- the cases): a round trip such as 'sent back to Sales' -> 'corrected by Sales'. handoff_share:
-- the share of the pairs in which the resource changes. The pair must come round again (twice or
-- more in a case) in at least pair_min_repeat_share of its cases: a sequence done once is not a
-- round trip.
WITH acts AS (
    -- cases from one row per (activity, case), not count(DISTINCT case_id), which cannot spill
    SELECT activity, CAST(sum(n) AS BIGINT) AS n, count(*) AS cases
    FROM (SELECT activity, case_id, count(*) AS n FROM waste_raw GROUP BY activity, case_id)
    GROUP BY activity
),
total AS (SELECT count(*) AS n FROM (SELECT case_id FROM waste_raw GROUP BY case_id)),
follows AS (
    SELECT activity AS a, next_activity AS b, count(*) AS n,
        avg(CASE WHEN resource IS NOT NULL AND next_resource IS NOT NULL
                 THEN CAST(resource <> next_resource AS INTEGER) END) AS handoff_share
    FROM waste_raw
    WHERE next_activity IS NOT NULL AND next_activity <> activity
    GROUP BY ALL
),
per_case AS (
    SELECT activity AS a, next_activity AS b, case_id, count(*) AS n
    FROM waste_raw WHERE next_activity IS NOT NULL AND next_activity <> activity
    GROUP BY ALL
),
again AS (
    SELECT a, b, avg(CAST(n >= 2 AS INTEGER)) AS repeat_share FROM per_case GROUP BY a, b
)
SELECT f.a, f.b, f.n, f.handoff_share
FROM follows f
JOIN again g USING (a, b)
JOIN acts x ON x.activity = f.a
JOIN acts y ON y.activity = f.b
CROSS JOIN total t
WHERE f.n >= $pair_share * x.n AND f.n >= $pair_share * y.n
  AND x.cases <= $pair_max_case_share * t.n AND x.cases >= $min_group_cases
  AND g.repeat_share >= $pair_min_repeat_share
ORDER BY f.n DESC, f.a, f.b;
