-- Customer effort of every case of $process, from the moments analysis (mot_events).
DELETE FROM case_effort WHERE process = $process;

INSERT INTO case_effort
SELECT $process, case_id,
    CAST(count(*) AS INTEGER) AS n_moments,
    CAST(count(*) FILTER (WHERE effort) AS INTEGER) AS n_customer_actions,
    CAST(count(DISTINCT channel) AS INTEGER) AS n_channels,
    CAST(count(*) FILTER (WHERE channel_switch) AS INTEGER) AS n_channel_switches,
    sum(wait_s) AS customer_wait_s,
    count(*) FILTER (WHERE effort) >= $high_effort_actions AS high_effort
FROM mot_events
WHERE process = $process AND is_moment_of_truth
GROUP BY case_id
ORDER BY case_id;
