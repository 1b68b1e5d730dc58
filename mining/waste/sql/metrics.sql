-- Step metrics per activity over the step log (waste_steps, waste_cases from steps.sql).
-- Parameters: reference (the outcome class whose rate is compared, e.g. 'success'),
-- system_regex, edge_min_share. Cases whose outcome is 'open' or unknown (NULL) take no
-- part in outcome figures. mining.waste.analysis runs `flags` once per range of cases, then
-- `quantiles` and `shapes`, `case_figures` once per range of cases, and `metrics`.

-- @section flags
-- The step log with its flags, for the cases [$lo, $hi) (NULL = open end), the later ranges
-- appending: one pass over 100 M steps held more than 2.5 GB (BPIC2012 x400; issue 20).
-- waste_batch (batch.sql, made before) holds the steps done in a batch.
CREATE OR REPLACE TEMP TABLE waste_step_flags AS
SELECT s.*,
    -- a repeat reached from a step first seen after this activity: the flow went back to redo it
    s.occurrence >= 2 AND s.prev_first_seq >= s.first_seq AS is_return,
    s.prev2_activity = s.activity AND s.prev_activity <> s.activity AS is_pingpong,
    CASE WHEN s.resource IS NOT NULL AND s.prev_resource IS NOT NULL AND s.prev2_resource IS NOT NULL
         THEN s.resource = s.prev2_resource AND s.prev_resource <> s.resource END AS is_handback,
    CASE WHEN s.resource IS NOT NULL AND s.prev_resource IS NOT NULL
         THEN s.resource <> s.prev_resource END AS is_handoff,
    coalesce(regexp_full_match(s.resource, $system_regex, 'i'), false) AS by_system,
    b.case_id IS NOT NULL AS in_batch,
    coalesce(s.next_activity, '(end)') AS next_step,
    c.outcome
FROM waste_steps s
JOIN (
    SELECT case_id, outcome FROM waste_cases
    WHERE ($lo IS NULL OR case_id >= $lo) AND ($hi IS NULL OR case_id < $hi)
) c USING (case_id)
LEFT JOIN (
    SELECT case_id, seq FROM waste_batch
    WHERE ($lo IS NULL OR case_id >= $lo) AND ($hi IS NULL OR case_id < $hi)
) b USING (case_id, seq)
WHERE ($lo IS NULL OR s.case_id >= $lo) AND ($hi IS NULL OR s.case_id < $hi);

-- @section quantiles
-- The median and 90th percentile of the wait and the median processing time per activity, by
-- exact_quantile (quantiles.sql): median() / quantile_cont() cannot spill (BPIC2012 x40 under 250MB
-- ran out here; 100 M steps would hold about 2.4 GB; issue 20).
CREATE OR REPLACE TEMP VIEW waste_wait_values AS SELECT activity AS g, wait_s AS v FROM waste_step_flags;
CREATE OR REPLACE TEMP VIEW waste_proc_values AS SELECT activity AS g, proc_s AS v FROM waste_step_flags;
CREATE OR REPLACE TEMP TABLE waste_step_quantiles AS
SELECT g AS activity, m.value AS median_wait_s, p.value AS p90_wait_s, r.value AS median_proc_s
FROM exact_quantile('waste_wait_values', 0.5) m
JOIN exact_quantile('waste_wait_values', 0.9) p USING (g)
FULL JOIN exact_quantile('waste_proc_values', 0.5) r USING (g);
DROP VIEW waste_wait_values;
DROP VIEW waste_proc_values;

-- @section shapes
-- What the per-case figures (`case_figures`) need from the whole log, counted per activity only
-- (small tables): the edges that reach a step, and its redundancy partner.
-- The comparison within the cases that reached the step: the place of a step is the gap between its
-- predecessors and its successors in the step-level DFG ('(start)' / '(end)' included; edges with at
-- least edge_min_share of its instances). A case reached it when it went from one of its
-- predecessors to the step or straight to one of its successors. Early leavers never reach a step,
-- so they cannot make it look valuable.
CREATE OR REPLACE TEMP TABLE waste_freq AS
SELECT activity, count(*) AS n FROM waste_step_flags GROUP BY activity;
CREATE OR REPLACE TEMP TABLE waste_reach_edges AS
WITH preds AS (
    SELECT f.activity, coalesce(f.prev_activity, '(start)') AS x
    FROM waste_step_flags f JOIN waste_freq q USING (activity)
    WHERE f.prev_activity IS DISTINCT FROM f.activity
    GROUP BY f.activity, x
    HAVING count(*) >= $edge_min_share * any_value(q.n)
),
succs AS (
    SELECT f.activity, f.next_step AS y
    FROM waste_step_flags f JOIN waste_freq q USING (activity)
    WHERE f.next_step <> f.activity
    GROUP BY f.activity, y
    HAVING count(*) >= $edge_min_share * any_value(q.n)
),
-- the ends an edge out of a predecessor may reach: the step itself or one of its successors
targets AS (
    SELECT activity, activity AS y FROM waste_freq
    UNION
    SELECT activity, y FROM succs
)
SELECT DISTINCT p.activity, p.x, t.y
FROM preds p JOIN targets t USING (activity);
-- the step directly before each instance most often: redundancy partner candidate
CREATE OR REPLACE TEMP TABLE waste_partner AS
WITH prev_counts AS (
    SELECT activity, prev_activity, count(*) AS n
    FROM waste_step_flags
    WHERE prev_activity IS NOT NULL AND prev_activity <> activity
    GROUP BY ALL
)
SELECT p.activity, p.prev_activity AS partner, p.n / q.n AS partner_share
FROM prev_counts p JOIN waste_freq q USING (activity)
QUALIFY row_number() OVER (PARTITION BY p.activity ORDER BY p.n DESC, p.prev_activity) = 1;

-- @section case_figures
-- The figures that count cases, for the cases [$lo, $hi) (NULL = open end), the later ranges
-- appending; `metrics` adds the ranges up. Each is a count over (activity, case) pairs, and a case
-- lies in one range, so the sums are the counts of one pass, which at 100 M steps grouped about
-- 60 M pairs and joined them again (issue 20).
-- One row per (activity, case) rather than count(DISTINCT case_id): a DISTINCT aggregate keeps
-- every case id of a group in memory and cannot spill to disk. This grouping is the set of
-- (activity, case) pairs every figure below draws on (the outcome is the case's, so one per pair).
CREATE OR REPLACE TEMP TABLE waste_range_cases AS
SELECT activity, case_id,
    bool_or(occurrence >= 2) AS repeated,
    bool_or(is_return) AS redone,
    bool_or(is_pingpong) AS pingpong,
    any_value(outcome) AS outcome
FROM waste_step_flags
WHERE ($lo IS NULL OR case_id >= $lo) AND ($hi IS NULL OR case_id < $hi)
GROUP BY activity, case_id;
CREATE OR REPLACE TEMP TABLE waste_case_counts AS
WITH both_cases AS (
    -- the cases of a step that have its partner too
    SELECT p.activity, count(*) AS n
    FROM waste_partner p
    JOIN waste_range_cases a ON a.activity = p.activity
    JOIN waste_range_cases b ON b.activity = p.partner AND b.case_id = a.case_id
    GROUP BY p.activity
)
SELECT c.activity,
    count(*) AS cases,
    count(*) FILTER (WHERE c.repeated) AS cases_repeated,
    count(*) FILTER (WHERE c.redone) AS cases_redone,
    count(*) FILTER (WHERE c.pingpong) AS cases_pingpong,
    count(*) FILTER (WHERE c.outcome IS NOT NULL AND c.outcome <> 'open') AS n_with_all,
    coalesce(any_value(x.n), 0) AS n_with_partner
FROM waste_range_cases c
LEFT JOIN both_cases x USING (activity)
GROUP BY c.activity;
-- the outcomes of the cases that have the step (`metrics` picks the most common)
CREATE OR REPLACE TEMP TABLE waste_outcome_counts AS
SELECT activity, outcome, count(*) AS k
FROM waste_range_cases
WHERE outcome IS NOT NULL AND outcome <> 'open'
GROUP BY activity, outcome;
CREATE OR REPLACE TEMP TABLE waste_presence_counts AS
WITH edges AS (
    SELECT case_id, coalesce(prev_activity, '(start)') AS x, activity AS y FROM waste_step_flags
    WHERE ($lo IS NULL OR case_id >= $lo) AND ($hi IS NULL OR case_id < $hi)
    UNION ALL
    SELECT case_id, activity, '(end)' FROM waste_step_flags
    WHERE next_activity IS NULL AND ($lo IS NULL OR case_id >= $lo) AND ($hi IS NULL OR case_id < $hi)
),
reach AS (
    SELECT DISTINCT r.activity, e.case_id
    FROM waste_reach_edges r
    JOIN edges e ON e.x = r.x AND e.y = r.y
)
SELECT r.activity,
    count(*) FILTER (WHERE h.case_id IS NOT NULL) AS n_with,
    count(*) FILTER (WHERE h.case_id IS NOT NULL AND c.outcome = $reference) AS k_with,
    count(*) FILTER (WHERE h.case_id IS NULL) AS n_without,
    count(*) FILTER (WHERE h.case_id IS NULL AND c.outcome = $reference) AS k_without,
    count(*) AS n_reached_all
FROM reach r
JOIN waste_cases c ON c.case_id = r.case_id AND c.outcome IS NOT NULL AND c.outcome <> 'open'
LEFT JOIN waste_range_cases h ON h.activity = r.activity AND h.case_id = r.case_id
GROUP BY r.activity;
DROP TABLE waste_range_cases;

-- @section metrics
CREATE OR REPLACE TEMP TABLE waste_metrics AS
WITH totals AS (
    SELECT count(*) AS n_cases,
        sum(duration_s) AS total_duration_s,
        count(*) FILTER (WHERE outcome IS NOT NULL AND outcome <> 'open') AS n_closed,
        count(*) FILTER (WHERE outcome = $reference) AS n_reference
    FROM waste_cases
),
-- the case counts of the ranges (`case_figures`), added up column by column (names kept)
case_counts AS (
    SELECT activity, CAST(sum(COLUMNS(* EXCLUDE (activity))) AS BIGINT) FROM waste_case_counts GROUP BY activity
),
event_figures AS (
    SELECT activity,
        count(*) AS frequency,
        count(*) FILTER (WHERE seq = 1) AS starts,
        count(*) FILTER (WHERE next_activity IS NULL) AS ends,
        count(*) FILTER (WHERE is_return) AS redos,
        avg(CAST(is_handback AS INTEGER)) AS handback_rate,
        avg(CAST(is_handoff AS INTEGER)) AS handoff_rate,
        avg(wait_s) AS mean_wait_s,
        sum(wait_s) AS total_wait_s,
        count(proc_s) AS n_timed,
        avg(proc_s) AS mean_proc_s,
        sum(proc_s) AS total_proc_s,
        avg(CAST(by_system AS INTEGER)) AS system_share,
        avg(CAST(in_batch AS INTEGER)) AS batch_share,
        avg(CAST(resource IS NULL AS INTEGER)) AS unassigned_share
    FROM waste_step_flags
    GROUP BY activity
),
base AS (
    SELECT e.activity, e.frequency, c.cases, e.starts, e.ends, c.cases_repeated, c.cases_redone, e.redos,
        c.cases_pingpong, c.n_with_all, e.* EXCLUDE (activity, frequency, starts, ends, redos),
        q.median_wait_s, q.p90_wait_s, q.median_proc_s
    FROM event_figures e
    JOIN case_counts c USING (activity)
    LEFT JOIN waste_step_quantiles q USING (activity)
),
-- what follows each instance, and the case outcome (closed cases only)
next_outcome AS (
    SELECT activity, next_step, outcome, count(*) AS n
    FROM waste_step_flags
    WHERE outcome IS NOT NULL AND outcome <> 'open'
    GROUP BY ALL
),
n_a AS (SELECT activity, sum(n) AS total FROM next_outcome GROUP BY activity),
n_ns AS (SELECT activity, next_step, sum(n) AS n FROM next_outcome GROUP BY ALL),
n_o AS (SELECT activity, outcome, sum(n) AS n FROM next_outcome GROUP BY ALL),
decision AS (
    SELECT x.activity,
        -- mutual information of next step and outcome, and the outcome entropy, in bits
        sum(x.n / t.total * log2(x.n * t.total / (ns.n * o.n))) AS mutual_information
    FROM next_outcome x
    JOIN n_a t USING (activity)
    JOIN n_ns ns USING (activity, next_step)
    JOIN n_o o USING (activity, outcome)
    GROUP BY x.activity
),
outcome_entropy AS (
    SELECT o.activity, -sum(o.n / t.total * log2(o.n / t.total)) AS outcome_entropy
    FROM n_o o JOIN n_a t USING (activity)
    GROUP BY o.activity
),
next_all AS (
    SELECT activity, next_step, count(*) AS n
    FROM waste_step_flags
    GROUP BY ALL
),
branching AS (
    SELECT activity,
        -sum(n / total * log2(n / total)) AS next_entropy,
        count(*) AS n_next,
        arg_max(next_step, n * 1e6 - rank_name) AS top_next,
        max(n) / any_value(total) AS top_next_share
    FROM (
        SELECT *, sum(n) OVER (PARTITION BY activity) AS total,
            -- ties between next steps go to the first name
            row_number() OVER (PARTITION BY activity ORDER BY next_step) AS rank_name
        FROM next_all
    )
    GROUP BY activity
),
presence AS (
    SELECT activity, CAST(sum(COLUMNS(* EXCLUDE (activity))) AS BIGINT) FROM waste_presence_counts GROUP BY activity
),
-- what follows it other than itself: a step whose next step is (nearly) always the same decides nothing
next_other AS (
    SELECT activity, arg_max(next_step, n * 1e6 - rank_name) AS top_next_other, max(n) / any_value(total) AS top_next_other_share,
        any_value(total) AS n_next_other
    FROM (
        SELECT activity, next_step, count(*) AS n,
            sum(count(*)) OVER (PARTITION BY activity) AS total,
            row_number() OVER (PARTITION BY activity ORDER BY next_step) AS rank_name
        FROM waste_step_flags WHERE next_step <> activity GROUP BY activity, next_step
    )
    GROUP BY activity
),
-- the outcome most of its cases have, and how many cases with that outcome do without the step
typical AS (
    SELECT activity, outcome AS typical_outcome, CAST(sum(k) AS BIGINT) AS k_typical
    FROM waste_outcome_counts
    GROUP BY activity, outcome
    QUALIFY row_number() OVER (PARTITION BY activity ORDER BY sum(k) DESC, outcome) = 1
),
outcome_totals AS (
    SELECT outcome, count(*) AS n FROM waste_cases GROUP BY outcome
),
-- the Jaccard index of the case sets of a step and its partner (waste_partner, `shapes`):
-- both / (either + other - both)
partner_overlap AS (
    SELECT p.activity, ca.n_with_partner / (ca.cases + cb.cases - ca.n_with_partner) AS partner_jaccard
    FROM waste_partner p
    JOIN case_counts ca ON ca.activity = p.activity
    JOIN case_counts cb ON cb.activity = p.partner
),
resource_mix AS (
    SELECT activity, resource, count(*) / sum(count(*)) OVER (PARTITION BY activity) AS p
    FROM waste_steps
    WHERE resource IS NOT NULL
    GROUP BY activity, resource
),
partner_resources AS (
    -- histogram intersection of the two resource mixes: 1 = the same people in the same proportions
    SELECT p.activity, sum(least(a.p, b.p)) AS partner_resource_similarity
    FROM waste_partner p
    JOIN resource_mix a ON a.activity = p.activity
    JOIN resource_mix b ON b.activity = p.partner AND b.resource = a.resource
    GROUP BY p.activity
)
SELECT b.activity,
    b.frequency, b.cases, b.starts, b.ends, t.n_cases,
    b.cases / t.n_cases AS case_share,
    b.cases_repeated / b.cases AS repeat_rate,
    b.cases_redone / b.cases AS rework_rate,
    b.redos,
    b.cases_pingpong / b.cases AS pingpong_rate,
    b.handback_rate, b.handoff_rate,
    b.mean_wait_s, b.median_wait_s, b.p90_wait_s,
    b.n_timed, b.mean_proc_s, b.median_proc_s,
    (b.total_wait_s + coalesce(b.total_proc_s, 0)) / nullif(t.total_duration_s, 0) AS throughput_share,
    b.system_share, b.batch_share, b.unassigned_share,
    br.next_entropy, br.n_next, br.top_next, br.top_next_share,
    coalesce(d.mutual_information, 0) AS mutual_information,
    coalesce(e.outcome_entropy, 0) AS outcome_entropy,
    coalesce(pr.n_with, 0) AS n_with,
    coalesce(pr.k_with, 0) AS k_with,
    coalesce(pr.n_without, 0) AS n_without,
    coalesce(pr.k_without, 0) AS k_without,
    coalesce(pr.n_reached_all, 0) AS n_reached,
    b.n_with_all,
    b.cases_redone,
    nx.top_next_other, nx.top_next_other_share, nx.n_next_other,
    t.n_reference,
    ty.typical_outcome,
    ot.n AS n_typical,
    ot.n - ty.k_typical AS typical_without,
    pa.partner, pa.partner_share,
    po.partner_jaccard,
    coalesce(rs.partner_resource_similarity, 0) AS partner_resource_similarity
FROM base b
CROSS JOIN totals t
LEFT JOIN branching br USING (activity)
LEFT JOIN decision d USING (activity)
LEFT JOIN outcome_entropy e USING (activity)
LEFT JOIN presence pr USING (activity)
LEFT JOIN next_other nx USING (activity)
LEFT JOIN typical ty USING (activity)
LEFT JOIN outcome_totals ot ON ot.outcome = ty.typical_outcome
LEFT JOIN waste_partner pa USING (activity)
LEFT JOIN partner_overlap po USING (activity)
LEFT JOIN partner_resources rs USING (activity)
ORDER BY b.activity;
-- Read by nothing after the flags: free its memory before the step's later tables (issue 20).
DROP TABLE waste_step_flags;
DROP TABLE waste_step_quantiles;
DROP TABLE waste_freq;
DROP TABLE waste_reach_edges;
DROP TABLE waste_partner;
DROP TABLE waste_case_counts;
DROP TABLE waste_outcome_counts;
DROP TABLE waste_presence_counts;
