-- The discovered models of $process and their quality: token-replay fitness and ETConformance precision (table model_runs).
SELECT algorithm, fitness, avg_trace_fitness, fit_cases_share, precision, n_places, n_transitions, n_arcs
FROM model_runs
WHERE process = $process
ORDER BY algorithm;
