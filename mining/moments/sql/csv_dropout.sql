-- dropout.csv: the rows of the processes $processes, in their order (a `process` column last).
SELECT section, rank, factor_kind, factor, activity, after_activity, n_cases, n_dropout,
    round(support, 6) AS support, round(coverage, 6) AS coverage, round(confidence, 6) AS confidence,
    round(base_rate, 6) AS base_rate, round(lift, 6) AS lift, round(relative_risk, 6) AS relative_risk,
    round(ci_low, 6) AS ci_low, round(ci_high, 6) AS ci_high, n_reached, echo_of, process
FROM (
    SELECT 'place' AS section, p.rank, 'place' AS factor_kind,
        p.activity || CASE WHEN p.after_activity IS NULL THEN '' ELSE ' after ' || p.after_activity END AS factor,
        p.activity, p.after_activity, f.n_cases_reached AS n_cases, p.n_dropout,
        NULL AS support, p.share AS coverage, p.n_dropout / f.n_cases_reached AS confidence,
        NULL AS base_rate, NULL AS lift, NULL AS relative_risk, NULL AS ci_low, NULL AS ci_high,
        NULL AS n_reached, NULL AS echo_of, p.process
    FROM dropout_places p
    LEFT JOIN dropout_funnel f ON f.process = p.process AND f.activity = p.after_activity
    UNION ALL
    SELECT 'cause', rank, factor_kind, factor, activity, NULL, n_cases, n_dropout, support, coverage,
        confidence, base_rate, lift, relative_risk, ci_low, ci_high, n_reached, echo_of, process
    FROM dropout_attribution
)
WHERE list_contains($processes, process)
ORDER BY list_position($processes, process), section DESC, rank
