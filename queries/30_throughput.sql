-- Question: How long do cases take from first to last event (mean and percentiles), and which
--           cases are slower than a given percentile?
-- Gives: view throughput, macro throughput_percentiles(process, percentiles := [...]),
--        macro slow_cases(process, percentile := 0.9)
-- Example:
--   SELECT process, n_cases, mean, p50, p90, p95 FROM throughput;
--   FROM throughput_percentiles(mot_process(), percentiles := [0.5, 0.8, 0.99]);
--   FROM slow_cases(mot_process(), percentile := 0.95) LIMIT 5;
--
-- Throughput time = last event minus first event of the case (cases.duration_s); percentiles are
-- interpolated (quantile_cont).

CREATE OR REPLACE VIEW throughput AS
SELECT process,
    count(*) AS n_cases,
    avg(duration_s) AS mean_s,
    quantile_cont(duration_s, 0.1) AS p10_s,
    quantile_cont(duration_s, 0.25) AS p25_s,
    quantile_cont(duration_s, 0.5) AS p50_s,
    quantile_cont(duration_s, 0.75) AS p75_s,
    quantile_cont(duration_s, 0.9) AS p90_s,
    quantile_cont(duration_s, 0.95) AS p95_s,
    quantile_cont(duration_s, 0.99) AS p99_s,
    max(duration_s) AS max_s,
    mot_duration(avg(duration_s)) AS mean,
    mot_duration(quantile_cont(duration_s, 0.5)) AS p50,
    mot_duration(quantile_cont(duration_s, 0.9)) AS p90,
    mot_duration(quantile_cont(duration_s, 0.95)) AS p95,
    mot_duration(max(duration_s)) AS max
FROM cases
GROUP BY process
ORDER BY process;

-- Any percentiles: one row per requested share, with the cases at or below it.
CREATE OR REPLACE MACRO throughput_percentiles(p, percentiles := [0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99]) AS TABLE
WITH guard AS MATERIALIZED (
    SELECT mot_check_process(p)
        AND mot_require(
            len(percentiles) > 0
            AND list_bool_and(list_transform(percentiles,
                lambda q: coalesce(TRY_CAST(q AS DOUBLE) BETWEEN 0 AND 1, false))),
            'percentiles must be a non-empty list of shares from 0 to 1, like [0.5, 0.9], got '
            || coalesce(CAST(percentiles AS VARCHAR), 'NULL')) AS ok,
        p AS g_process
),
-- quantile_cont wants its shares as a constant, so all of them go in at once as a list, clamped
-- to [0, 1] so that the binder accepts any list and the guard can say what is wrong with it.
values_at AS (
    SELECT CAST(percentiles AS DOUBLE[]) AS shares,
        quantile_cont(c.duration_s, list_transform(CAST(percentiles AS DOUBLE[]),
            lambda q: greatest(0.0, least(1.0, coalesce(q, 0.5))))) AS durations
    FROM cases c, guard
    WHERE guard.ok AND c.process = guard.g_process
    HAVING count(*) > 0
),
paired AS (
    SELECT unnest(shares) AS percentile, unnest(durations) AS duration_s FROM values_at
)
SELECT v.percentile, v.duration_s, mot_duration(v.duration_s) AS duration,
    (SELECT count(*) FROM cases c WHERE c.process = p AND c.duration_s <= v.duration_s) AS n_cases_at_or_below
FROM paired v
ORDER BY v.percentile;

-- The cases slower than the given percentile of throughput time, slowest first.
CREATE OR REPLACE MACRO slow_cases(p, percentile := 0.9) AS TABLE
WITH guard AS MATERIALIZED (
    SELECT mot_check_process(p)
        AND mot_require(TRY_CAST(percentile AS DOUBLE) >= 0 AND TRY_CAST(percentile AS DOUBLE) < 1,
            'percentile must be a share from 0 to below 1, like 0.9, got '
            || coalesce(CAST(percentile AS VARCHAR), 'NULL')) AS ok,
        p AS g_process
),
-- Clamped like above: the binder needs a constant share in range, the guard judges the argument.
threshold AS (
    SELECT quantile_cont(duration_s,
            greatest(0.0, least(1.0, coalesce(TRY_CAST(percentile AS DOUBLE), 0.5)))) AS limit_s
    FROM cases, guard WHERE guard.ok AND process = guard.g_process
)
SELECT c.process, c.case_id, c.duration_s, mot_duration(c.duration_s) AS duration,
    c.n_events, c.first_activity, c.last_activity, c.start_ts, c.end_ts
FROM cases c, threshold t, guard
WHERE c.process = guard.g_process AND c.duration_s > t.limit_s
ORDER BY c.duration_s DESC, c.case_id;
