-- Size, period and throughput time of $process (views processes and throughput of the SQL library).
SELECT p.process, p.n_cases, p.n_events, p.n_activities, p.n_variants,
    p.first_event_at, p.last_event_at,
    t.p50_s AS median_case_s, t.p90_s AS p90_case_s, t.mean_s AS mean_case_s
FROM processes p
JOIN throughput t USING (process)
WHERE p.process = $process;
