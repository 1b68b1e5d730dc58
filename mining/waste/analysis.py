"""The waste analysis of one process: step log, step metrics and what-if removal in DuckDB SQL, the
judgement in Python (mining/waste/score.py), the results in the waste_* warehouse tables.

Uses the moments-of-truth analysis where it ran for the process (case_outcomes for outcomes,
mot_activities for the MOT marks, mot_events for poor MOTs and customer effort) and does without
it otherwise: the outcome of a case is then its last activity, and MOT figures stay NULL.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import duckdb

from mining.config.waste import Waste
from mining.warehouse import run_sql, scalar
from mining.waste import score

TEMP_TABLES = (
    "waste_outcomes", "waste_steps", "waste_cases", "waste_mot", "waste_step_flags", "waste_metrics",
    "waste_scenarios", "waste_variants", "waste_repeat_bounds", "waste_variant_region", "waste_occ",
    "waste_region", "waste_milestones", "waste_controls", "waste_anchor_before", "waste_bracket_start", "waste_after_steps",
    "waste_anchor_after", "waste_brackets", "waste_delay", "waste_case_savings", "waste_whatif_result",
)  # fmt: skip


@cache
def sql(name: str) -> str:
    """The text of ``mining/waste/sql/<name>.sql``."""
    return resources.files("mining.waste").joinpath("sql", f"{name}.sql").read_text("utf-8")


def _table_columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = $t AND table_schema = 'main'",
        {"t": table},
    ).fetchall()
    return {r[0] for r in rows}


def _has_rows(con: duckdb.DuckDBPyConnection, table: str, process: str, needs: set[str]) -> bool:
    """The moments table exists with the columns we read and holds rows of ``process``."""
    if not needs <= _table_columns(con, table):
        return False
    return bool(scalar(con, f"SELECT count(*) FROM {table} WHERE process = $p", {"p": process}))


# --- inputs --------------------------------------------------------------------------------------


def load_outcomes(con: duckdb.DuckDBPyConnection, process: str) -> str:
    """Create ``waste_outcomes``: recorded outcomes when present, else each case's last activity."""
    if _has_rows(con, "case_outcomes", process, {"process", "case_id", "outcome", "outcome_activity"}):
        run_sql(con, sql("outcomes_recorded"), {"process": process})
        return "case_outcomes"
    run_sql(con, sql("outcomes_last"), {"process": process})
    return "last_activity"


def load_mot_marks(con: duckdb.DuckDBPyConnection, process: str) -> str:
    """Create ``waste_mot`` (activity, is_mot, poor_share, effort_share); empty without the moments analysis."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE waste_mot (activity VARCHAR, is_mot BOOLEAN, poor_share DOUBLE, "
        "effort_share DOUBLE)"
    ).fetchall()
    if not _has_rows(con, "mot_activities", process, {"process", "activity", "is_moment_of_truth"}):
        return "none"
    con.execute(
        "INSERT INTO waste_mot SELECT activity, is_moment_of_truth, NULL, NULL FROM mot_activities "
        "WHERE process = $p ORDER BY activity",
        {"p": process},
    ).fetchall()
    needs = {"process", "activity", "is_moment_of_truth", "poor", "effort"}
    if _has_rows(con, "mot_events", process, needs):
        con.execute(
            "UPDATE waste_mot SET poor_share = e.poor_share, effort_share = e.effort_share FROM ("
            "  SELECT activity, avg(CAST(poor AS INTEGER)) AS poor_share, avg(CAST(effort AS INTEGER)) AS effort_share"
            "  FROM mot_events WHERE process = $p AND is_moment_of_truth GROUP BY activity"
            ") e WHERE e.activity = waste_mot.activity",
            {"p": process},
        ).fetchall()
    return "mot_activities"


def reference_outcome(con: duckdb.DuckDBPyConnection, settings: Waste) -> str:
    """The configured reference outcome, else 'success' when present, else the most frequent class."""
    counts = con.execute(
        "SELECT outcome, count(*) AS n FROM waste_outcomes WHERE outcome IS DISTINCT FROM 'open' "
        "GROUP BY outcome ORDER BY n DESC, outcome"
    ).fetchall()
    if settings.reference_outcome is not None:
        return settings.reference_outcome
    classes = [c for c, _ in counts]
    if "success" in classes:
        return "success"
    return classes[0] if classes else "success"


def outcome_activities(con: duckdb.DuckDBPyConnection, source: str, settings: Waste) -> dict[str, int]:
    """Activities that record a case outcome, with their number of cases.

    With recorded outcomes: the outcome events of decided cases (at least min_group_cases of them).
    Without: steps that end at least terminal_share of the cases that have them.
    """
    if source == "case_outcomes":
        rows = con.execute(
            "SELECT outcome_activity, count(*) FROM waste_outcomes "
            "WHERE outcome IN ('success', 'dropout', 'declined') AND outcome_activity IS NOT NULL "
            "GROUP BY outcome_activity HAVING count(*) >= $n ORDER BY outcome_activity",
            {"n": settings.min_group_cases},
        ).fetchall()
    else:
        rows = con.execute(
            "SELECT activity, ends FROM waste_metrics WHERE ends >= $share * cases ORDER BY activity",
            {"share": settings.terminal_share},
        ).fetchall()
    return {a: n for a, n in rows}


def build_step_log(con: duckdb.DuckDBPyConnection, process: str) -> dict:
    """Create the temp tables of the step log of ``process``; return where outcomes and MOTs came from."""
    if not scalar(con, "SELECT count(*) FROM event_log WHERE process = $p", {"p": process}):
        raise ValueError(f"process {process!r} has no prepared events: run the prepare step first")
    outcome_source = load_outcomes(con, process)
    mot_source = load_mot_marks(con, process)
    run_sql(con, sql("steps"), {"process": process})
    return {"outcome_source": outcome_source, "mot_source": mot_source}


def months_covered(con: duckdb.DuckDBPyConnection, settings: Waste) -> float:
    """The log's time span in months (at least one day), which per-month figures divide by."""
    span_days = scalar(con, "SELECT (epoch(max(ts)) - epoch(min(first_ts))) / 86400 FROM waste_steps") or 0.0
    return max(span_days, 1.0) / settings.month_days


def run_what_if(con: duckdb.DuckDBPyConnection, scenarios: list[tuple[str, str]], settings: Waste) -> list[dict]:
    """What-if figures of (activity, scope) scenarios over the step log already built; one dict each."""
    for activity, scope in scenarios:
        if scope not in ("all", "repeats"):
            raise ValueError(f"what-if scope of {activity!r} must be 'all' or 'repeats', got {scope!r}")
    con.execute("CREATE OR REPLACE TEMP TABLE waste_scenarios (activity VARCHAR, scope VARCHAR)").fetchall()
    if scenarios:
        con.executemany("INSERT INTO waste_scenarios VALUES (?, ?)", sorted(set(scenarios)))
    params = {
        "min_comparison_cases": settings.min_comparison_cases,
        "anchor_share": settings.anchor_share,
        "months": months_covered(con, settings),
        "z": score.z_value(settings.confidence),
    }
    run_sql(con, sql("whatif"), params)
    return _dicts(con, "SELECT * FROM waste_whatif_result ORDER BY activity, scope")


def what_if(
    con: duckdb.DuckDBPyConnection,
    process: str,
    activities: list[str],
    scope: str = "all",
    settings: Waste | None = None,
) -> list[dict]:
    """Project ``process`` without each of ``activities`` (scope 'all') or without their redo cycles
    (scope 'repeats'); the re-derived figures per activity. A step that never occurs saves nothing."""
    settings = settings or Waste()
    build_step_log(con, process)
    try:
        return run_what_if(con, [(a, scope) for a in activities], settings)
    finally:
        drop_temp_tables(con)


def _dicts(con: duckdb.DuckDBPyConnection, query: str, params: dict | None = None) -> list[dict]:
    cursor = con.execute(query, params) if params else con.execute(query)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, map(_stable, row), strict=True)) for row in cursor.fetchall()]


def _stable(value):
    """A float to 12 significant digits, anything else as it is.

    DuckDB adds doubles up in parallel, in an order that depends on thread scheduling, so a sum or
    mean can differ in its last bits from run to run. Rounding here, before scores and explanations
    are built from the figures, keeps the same input giving the same results.
    """
    return float(f"{value:.12g}") if isinstance(value, float) else value


def drop_temp_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the analysis's temp tables (a long-lived connection should not keep them)."""
    for table in TEMP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {table}").fetchall()


# --- the analysis --------------------------------------------------------------------------------


def analyse(con: duckdb.DuckDBPyConnection, process: str, settings: Waste | None = None) -> dict:
    """Score every step of ``process``, recommend, project its removal; rebuild the waste_* tables.

    Returns summary figures: the ranked candidates (recommendation other than 'keep').
    """
    settings = settings or Waste()
    try:
        sources = build_step_log(con, process)
        reference = reference_outcome(con, settings)
        run_sql(
            con,
            sql("metrics"),
            {
                "reference": reference,
                "batch_window_s": settings.batch_window_s,
                "system_regex": settings.system_resource_regex,
            },
        )
        metrics = _dicts(
            con,
            "SELECT w.*, m.is_mot AS is_moment_of_truth, m.poor_share AS mot_poor_share, "
            "m.effort_share AS customer_effort_share, $ref AS reference_outcome, $source AS outcome_source "
            "FROM waste_metrics w LEFT JOIN waste_mot m USING (activity) ORDER BY w.activity",
            {"ref": reference, "source": sources["outcome_source"]},
        )
        repeated = [(m["activity"], "repeats") for m in metrics if m["repeat_rate"] > 0]
        scenarios = [(m["activity"], "all") for m in metrics] + repeated
        whatif = run_what_if(con, scenarios, settings)
        ends = outcome_activities(con, sources["outcome_source"], settings)
        rows = judge_all(metrics, whatif, settings, ends)
        run = {
            "process": process,
            "settings": settings_json(settings),
            "outcome_source": sources["outcome_source"],
            "reference_outcome": reference,
            "mot_source": sources["mot_source"],
            "n_cases": scalar(con, "SELECT count(*) FROM waste_cases"),
            "n_steps": scalar(con, "SELECT count(*) FROM waste_steps"),
            "months": round(months_covered(con, settings), 6),
        }
        store(con, process, rows, whatif, run)
    finally:
        drop_temp_tables(con)
    candidates = [r for r in rows if r["recommendation"] != "keep"]
    return {
        "steps": len(rows),
        "reference_outcome": reference,
        "outcome_source": sources["outcome_source"],
        "candidates": [
            {k: r[k] for k in ("rank", "activity", "waste_score", "recommendation", "whatif_hours_saved_per_month")}
            for r in sorted(candidates, key=lambda r: r["rank"])
        ],
    }


def judge_all(metrics: list[dict], whatif: list[dict], settings: Waste, ends: dict[str, int]) -> list[dict]:
    """The output rows of every step: metrics, components, score, rank, recommendation, what-if."""
    by_activity: dict[str, dict[str, dict]] = {}
    for w in whatif:
        by_activity.setdefault(w["activity"], {})[w["scope"]] = w
    rows = []
    for m in metrics:
        scenarios = by_activity[m["activity"]]
        j = score.judge(m, scenarios, settings, ends)
        rows.append(_row(m, j, scenarios[j.whatif_scope]))
    # Rank on the rounded score, so that a last-digit difference cannot reorder the table.
    rows.sort(key=lambda r: (-r["waste_score"], r["activity"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    # Impact ranks the candidates only: what removing a step to keep would save is no proposal.
    candidates = [r for r in rows if r["recommendation"] != "keep"]
    by_impact = sorted(candidates, key=lambda r: (-r["whatif_hours_saved_per_month"], -r["waste_score"], r["activity"]))
    for r in rows:
        r["impact_rank"] = None
    for i, r in enumerate(by_impact, 1):
        r["impact_rank"] = i
    return rows


def _r(x: float | None, digits: int = 6) -> float | None:
    """Round for storage: sums of doubles may differ in the last bits between runs; outputs must not."""
    return None if x is None else round(float(x), digits)


def _row(m: dict, j: score.Judgement, w: dict) -> dict:
    c, e = j.components, j.effect
    return {
        "activity": m["activity"],
        "waste_score": _r(j.score, 4),
        "recommendation": j.recommendation,
        "explanation": j.explanation,
        "is_moment_of_truth": m["is_moment_of_truth"],
        "reason": j.reason,
        "merge_into": j.merge_into,
        **{f"c_{k}": _r(c[k], 4) for k in score.COMPONENTS},
        "frequency": m["frequency"],
        "cases": m["cases"],
        "case_share": _r(m["case_share"]),
        "repeat_rate": _r(m["repeat_rate"]),
        "rework_rate": _r(m["rework_rate"]),
        "pingpong_rate": _r(m["pingpong_rate"]),
        "handback_rate": _r(m["handback_rate"]),
        "handoff_rate": _r(m["handoff_rate"]),
        "mean_wait_s": _r(m["mean_wait_s"], 1),
        "median_wait_s": _r(m["median_wait_s"], 1),
        "p90_wait_s": _r(m["p90_wait_s"], 1),
        "timed_steps": m["n_timed"],
        "mean_processing_s": _r(m["mean_proc_s"], 1),
        "median_processing_s": _r(m["median_proc_s"], 1),
        "throughput_share": _r(m["throughput_share"]),
        "next_entropy_bits": _r(m["next_entropy"]),
        "top_next": m["top_next"],
        "top_next_share": _r(m["top_next_share"]),
        "decision_value": _r(j.decision_value),
        "reference_outcome": m["reference_outcome"],
        "n_with": m["n_with"],
        "n_without": m["n_without"],
        "rate_with": _r(e.rate_with) if e else None,
        "rate_without": _r(e.rate_without) if e else None,
        "rate_diff_pp": _r(e.diff * 100, 3) if e else None,
        "rate_diff_ci_low_pp": _r(e.low * 100, 3) if e else None,
        "rate_diff_ci_high_pp": _r(e.high * 100, 3) if e else None,
        "selection": j.selection,
        "typical_outcome": m["typical_outcome"],
        "optional_share": _r(j.optional_share),
        "partner": m["partner"],
        "partner_share": _r(m["partner_share"]),
        "partner_jaccard": _r(m["partner_jaccard"]),
        "partner_resource_similarity": _r(m["partner_resource_similarity"]),
        "system_share": _r(m["system_share"]),
        "batch_share": _r(m["batch_share"]),
        "unassigned_share": _r(m["unassigned_share"]),
        "mot_poor_share": _r(m["mot_poor_share"]),
        "customer_effort_share": _r(m["customer_effort_share"]),
        "whatif_scope": j.whatif_scope,
        "whatif_cases_affected": w["cases_affected"],
        "whatif_steps_removed": w["steps_removed"],
        "whatif_mean_throughput_s_saved": _r(w["mean_throughput_s_saved"], 1),
        "whatif_hours_saved_per_month": _r(w["hours_saved_per_month"], 2),
        "whatif_work_hours_saved_per_month": _r(w["work_hours_saved_per_month"], 2),
        "whatif_mots_saved_per_case": _r(w["mots_saved_per_case"]),
        "whatif_variants_before": w["variants_before"],
        "whatif_variants_after": w["variants_after"],
        "whatif_delay_s": _r(w["delay_s"], 1),
        "whatif_anchor_before": w["anchor_before"],
        "whatif_anchor_after": w["anchor_after"],
    }


WHATIF_COLUMNS = (
    "cases_affected", "steps_removed", "cases_shortened", "mean_throughput_before_s",
    "mean_throughput_after_s", "mean_throughput_s_saved", "hours_saved_per_month",
    "work_hours_saved_per_month", "mots_per_case_before", "mots_per_case_after", "mots_saved_per_case",
    "variants_before", "variants_after", "anchor_before", "anchor_after", "bracket_cases_with",
    "bracket_cases_without", "bracket_mean_with_s", "bracket_mean_without_s", "bracket_diff_s",
    "bracket_diff_ci_low_s", "bracket_diff_ci_high_s", "delay_s",
)  # fmt: skip


def store(con: duckdb.DuckDBPyConnection, process: str, rows: list[dict], whatif: list[dict], run: dict) -> None:
    """Replace the waste_* rows of ``process`` in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        for table in ("waste_activities", "waste_whatif", "waste_runs"):
            con.execute(f"DELETE FROM {table} WHERE process = $p", {"p": process}).fetchall()
        _insert(con, "waste_activities", [{"process": process, **r} for r in sorted(rows, key=lambda r: r["rank"])])
        _insert(
            con,
            "waste_whatif",
            [
                {"process": process, "activity": w["activity"], "scope": w["scope"],
                 **{k: _r(w[k], 3) if isinstance(w[k], float) else w[k] for k in WHATIF_COLUMNS}}
                for w in whatif
            ],
        )  # fmt: skip
        _insert(con, "waste_runs", [run])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> None:
    if not rows:
        return
    names = list(rows[0])
    columns = ", ".join(names)
    marks = ", ".join("?" for _ in names)
    con.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", [[r[n] for n in names] for r in rows])


def settings_json(settings: Waste) -> str:
    """The settings as stored in waste_runs (sorted keys, so equal settings give equal text)."""
    return json.dumps(json.loads(settings.model_dump_json()), sort_keys=True)
