"""CSV files of the moments analysis, written from the warehouse tables (sorted, so runs diff cleanly).

``DIR/moments.csv``  activity roll-up: activity, is_moment_of_truth, share, channel, rule, ...
``DIR/dropout.csv``  section 'place' (where customers left) and section 'cause' (upstream factors,
                     ranked), kept apart so the place is never read as the cause
``DIR/knock_on.csv`` P(next MOT poor | this MOT poor) against the base rate, overall and per pair
``DIR/moments_review.csv`` activities that no rule fully decided, for review
Every file holds the rows of the given processes, with a ``process`` column last.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

MOMENTS = """
SELECT activity, is_moment_of_truth, round(share, 6) AS share, channel, rule, decided, n_events,
    n_moments, round(undecided_share, 6) AS undecided_share, lifecycles, channels, rules, process
FROM mot_activities WHERE list_contains($processes, process)
ORDER BY list_position($processes, process), activity
"""

REVIEW = """
SELECT activity, n_events, round(undecided_share, 6) AS undecided_share, is_moment_of_truth, rules, process
FROM mot_activities WHERE list_contains($processes, process) AND NOT decided
ORDER BY list_position($processes, process), n_events DESC, activity
"""

DROPOUT = """
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
"""

KNOCK_ON = """
SELECT from_activity, to_activity, n, n_from_poor, n_poor_poor, round(p_poor_given_poor, 6) AS p_poor_given_poor,
    round(p_poor_given_good, 6) AS p_poor_given_good, round(base_rate, 6) AS base_rate,
    round(adjusted_base_rate, 6) AS adjusted_base_rate, round(lift, 6) AS lift,
    round(adjusted_lift, 6) AS adjusted_lift,
    round(ci_low, 6) AS ci_low, round(ci_high, 6) AS ci_high, effect, process
FROM knock_on WHERE list_contains($processes, process)
ORDER BY list_position($processes, process), (from_activity = '*') DESC, from_activity, to_activity
"""

FILES = {"moments.csv": MOMENTS, "dropout.csv": DROPOUT, "knock_on.csv": KNOCK_ON, "moments_review.csv": REVIEW}


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def write_csvs(con: duckdb.DuckDBPyConnection, processes: list[str], out_dir: str | Path) -> list[Path]:
    """Write the moments CSV files for ``processes`` (in that order) into ``out_dir``; return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, query in FILES.items():
        path = out_dir / name
        con.execute(
            f"COPY ({query}) TO '{_sql_path(path)}' (HEADER, DELIMITER ',')", {"processes": list(processes)}
        ).fetchall()
        written.append(path)
    return written
