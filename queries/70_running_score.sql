-- Question: How does the customer's running score develop along the journey, which moments of
--           truth score poorly, how do scores differ by outcome, and which cases end lowest?
-- Gives: view running_score_curve, view mot_scores, view score_by_outcome,
--        macro low_score_cases(process, max_final_score := 0)
-- Example:
--   SELECT mot_seq, n_cases, mean_running_score, p10_running_score, poor_share
--   FROM running_score_curve WHERE process = mot_process() LIMIT 10;
--   FROM mot_scores WHERE process = mot_process();
--   FROM score_by_outcome WHERE process = mot_process();
--   FROM low_score_cases(mot_process(), max_final_score := -3) LIMIT 5;
--
-- Averages are rounded to 12 significant digits (mot_figure): parallel sums differ in their last
-- bits from run to run.
--
-- mot_seq is the n-th moment of truth (activity instance) of a case; the running score after it is
-- the sum of the scores of the case's moments so far (mining/moments computes both). A moment that
-- meets its expectation adds, one that misses it subtracts; mean_score is per moment.

CREATE OR REPLACE VIEW running_score_curve AS
SELECT process, mot_seq,
    count(*) AS n_cases,
    mot_figure(avg(running_score)) AS mean_running_score,
    mot_figure(quantile_cont(running_score, 0.1)) AS p10_running_score,
    median(running_score) AS median_running_score,
    mot_figure(quantile_cont(running_score, 0.9)) AS p90_running_score,
    mot_figure(avg(score)) AS mean_score,
    avg(CASE WHEN poor THEN 1.0 ELSE 0.0 END) AS poor_share
FROM mot_events
WHERE is_moment_of_truth AND mot_seq IS NOT NULL
GROUP BY process, mot_seq
ORDER BY process, mot_seq;

CREATE OR REPLACE VIEW mot_scores AS
SELECT process, activity,
    count(*) AS n_moments,
    count(DISTINCT case_id) AS n_cases,
    mode(channel) AS main_channel,
    mot_figure(avg(score)) AS mean_score,
    mot_figure(avg(experience_score)) AS mean_experience_score,
    count(*) FILTER (WHERE poor) AS n_poor,
    avg(CASE WHEN poor THEN 1.0 ELSE 0.0 END) AS poor_share,
    mot_duration(median(wait_s)) AS median_wait,
    -- the expectation: where its wait budget comes from ('learned' = from the data, a fallback)
    mode(expectation_source) AS expectation_source,
    mot_duration(median(ref_wait_s)) AS wait_budget,
    count(*) FILTER (WHERE wait_status = 'missed') AS n_wait_missed,
    count(*) FILTER (WHERE effort_over) AS n_effort_over,
    count(*) FILTER (WHERE timer) AS n_timer_driven
FROM mot_events
WHERE is_moment_of_truth
GROUP BY process, activity
ORDER BY process, poor_share DESC, activity;

CREATE OR REPLACE VIEW score_by_outcome AS
SELECT process, outcome,
    count(*) AS n_cases,
    count(*) / sum(count(*)) OVER (PARTITION BY process) AS share,
    mot_figure(avg(final_score)) AS mean_final_score,
    median(final_score) AS median_final_score,
    mot_figure(avg(min_score)) AS mean_min_score,
    mot_figure(avg(n_moments)) AS mean_moments,
    mot_figure(avg(n_poor)) AS mean_poor_moments,
    mot_figure(avg(mean_score)) AS mean_moment_score   -- the per-moment mean: length alone does not decide it
FROM case_scores
GROUP BY process, outcome
ORDER BY process, n_cases DESC, outcome;

-- Cases whose final running score is at most `max_final_score`, lowest first.
CREATE OR REPLACE MACRO low_score_cases(p, max_final_score := 0) AS TABLE
WITH guard AS MATERIALIZED (
    SELECT mot_check_process(p)
        AND mot_require(TRY_CAST(max_final_score AS DOUBLE) IS NOT NULL,
            'max_final_score must be a number, got ' || coalesce(CAST(max_final_score AS VARCHAR), 'NULL')) AS ok,
        p AS g_process, TRY_CAST(max_final_score AS DOUBLE) AS g_max
)
SELECT j.process, j.case_id, j.final_score, j.min_score, j.n_moments, j.n_poor, j.outcome, j.journey
FROM mot_journeys j, guard
WHERE guard.ok AND j.process = guard.g_process AND j.final_score <= guard.g_max
ORDER BY j.final_score, j.case_id;
