-- Per activity of $process: how often it runs and how long cases wait before it.
-- The wait before an event is the time since the previous event of the same case (event_log.prev_ts).
SELECT s.activity,
    s.frequency,
    s.n_cases,
    w.n_waits,
    w.wait_mean_s,
    w.wait_median_s,
    w.wait_total_s
FROM activity_stats s
LEFT JOIN (
    SELECT activity,
        count(*) AS n_waits,
        avg(epoch(ts) - epoch(prev_ts)) AS wait_mean_s,
        median(epoch(ts) - epoch(prev_ts)) AS wait_median_s,
        sum(epoch(ts) - epoch(prev_ts)) AS wait_total_s
    FROM event_log
    WHERE process = $process AND prev_ts IS NOT NULL
    GROUP BY activity
) w USING (activity)
WHERE s.process = $process
ORDER BY s.activity;
