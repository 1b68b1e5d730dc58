-- effort.csv: customer effort per case of the processes $processes, in their order (a `process` column last).
SELECT case_id, n_moments, n_customer_actions, n_channels, n_channel_switches,
    round(customer_wait_s, 3) AS customer_wait_s, high_effort, process
FROM case_effort
WHERE list_contains($processes, process)
ORDER BY list_position($processes, process), case_id
