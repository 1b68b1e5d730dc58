-- Question: Which variants (distinct activity sequences) does the process have, how many cases
--           follow each, how much of the process do the top variants cover, and which cases
--           follow one variant?
-- Gives: view variant_coverage, macro top_variants(process, coverage := 0.8),
--        macro variant_cases(process, variant_rank)
-- Example:
--   SELECT rank, n_cases, share, cumulative_share, n_events, path
--   FROM variant_coverage WHERE process = mot_process() LIMIT 10;
--   FROM top_variants(mot_process(), coverage := 0.5);
--   FROM variant_cases(mot_process(), 1) LIMIT 5;
--
-- Built from event_log, not copied from the variants table, so it can be held against
-- pm4py.get_variants. variant_id is the md5 of the sequence as in the variants table; rank 1 is the
-- most frequent variant, ties broken by variant_id.

CREATE OR REPLACE VIEW variant_coverage AS
WITH sequences AS (
    SELECT process, case_id,
        list(activity ORDER BY pos) AS activities,
        md5(string_agg(activity, chr(31) ORDER BY pos)) AS variant_id,
        epoch(max(ts)) - epoch(min(ts)) AS duration_s
    FROM event_log
    GROUP BY process, case_id
),
counted AS (
    SELECT process, variant_id,
        any_value(activities) AS activities,
        count(*) AS n_cases,
        min(case_id) AS example_case,
        median(duration_s) AS median_duration_s
    FROM sequences
    GROUP BY process, variant_id
),
ranked AS (
    SELECT *,
        CAST(row_number() OVER (PARTITION BY process ORDER BY n_cases DESC, variant_id) AS INTEGER) AS rank,
        n_cases / sum(n_cases) OVER (PARTITION BY process) AS share
    FROM counted
)
SELECT process, rank, variant_id, n_cases, share,
    sum(share) OVER (PARTITION BY process ORDER BY rank) AS cumulative_share,
    len(activities) AS n_events,
    array_to_string(activities, ' > ') AS path,
    activities,
    example_case,
    median_duration_s,
    mot_duration(median_duration_s) AS median_duration
FROM ranked
ORDER BY process, rank;

-- The fewest variants that together cover at least `coverage` of the cases.
CREATE OR REPLACE MACRO top_variants(p, coverage := 0.8) AS TABLE
WITH guard AS MATERIALIZED (
    SELECT mot_check_process(p)
        AND mot_require(TRY_CAST(coverage AS DOUBLE) > 0 AND TRY_CAST(coverage AS DOUBLE) <= 1,
            'coverage must be a share of cases above 0 and at most 1, got '
            || coalesce(CAST(coverage AS VARCHAR), 'NULL')) AS ok,
        p AS g_process, TRY_CAST(coverage AS DOUBLE) AS g_coverage
)
SELECT v.rank, v.variant_id, v.n_cases, v.share, v.cumulative_share, v.n_events, v.path,
    v.example_case, v.median_duration
FROM variant_coverage v, guard
WHERE guard.ok AND v.process = guard.g_process
    AND v.cumulative_share - v.share < guard.g_coverage - 1e-12
ORDER BY v.rank;

-- The cases of the variant with this rank (1 = most frequent), slowest first.
CREATE OR REPLACE MACRO variant_cases(p, variant_rank) AS TABLE
WITH guard AS MATERIALIZED (
    SELECT mot_check_process(p)
        AND mot_require(
            mot_is_whole(variant_rank) AND TRY_CAST(variant_rank AS DOUBLE) >= 1
            AND (TRY_CAST(variant_rank AS DOUBLE) <= (SELECT count(*) FROM variants WHERE process = p)
                 OR NOT EXISTS (SELECT 1 FROM variants WHERE process = p)),
            'variant_rank must be a whole number from 1 to '
            || (SELECT count(*) FROM variants WHERE process = p)
            || ' (the variants of ''' || coalesce(p, 'NULL') || '''), got '
            || coalesce(CAST(variant_rank AS VARCHAR), 'NULL')) AS ok,
        p AS g_process, TRY_CAST(variant_rank AS DOUBLE) AS g_rank
)
SELECT c.process, c.case_id, c.start_ts, c.end_ts, c.duration_s,
    mot_duration(c.duration_s) AS duration, c.n_events
FROM variant_coverage v
JOIN cases c ON c.process = v.process AND c.variant_id = v.variant_id
CROSS JOIN guard
WHERE guard.ok AND v.process = guard.g_process AND v.rank = guard.g_rank
ORDER BY c.duration_s DESC, c.case_id;
