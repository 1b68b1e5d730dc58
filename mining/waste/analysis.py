"""The waste analysis of one process: step log, step metrics and what-if removal in DuckDB SQL, the
judgement in Python (mining/waste/score.py), the results in the waste_* warehouse tables.

Uses the moments-of-truth analysis where it ran for the process (case_outcomes for outcomes,
mot_activities for the MOT marks, mot_events for poor MOTs and customer effort). Without it, or when
its outcomes do not tell cases apart (every case 'other', one class), every outcome-based figure is
'not measurable' with that reason, and no step can be recommended for removal.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import duckdb

from mining.config.waste import Waste
from mining.warehouse import prepare, run_sql, scalar
from mining.warehouse.figures import stable_figure
from mining.warehouse.ranges import for_bounds, for_case_ranges, open_bounds
from mining.warehouse.sqlfiles import sections
from mining.waste import score, units
from mining.waste.rows import _r, _row

TEMP_OBJECTS = {  # the analysis's temporary views and tables: every one is called waste_*
    "VIEW": "SELECT view_name FROM duckdb_views() WHERE temporary AND starts_with(view_name, 'waste_')",
    "TABLE": "SELECT table_name FROM duckdb_tables() WHERE temporary AND starts_with(table_name, 'waste_')",
}
# Events per range of cases whose raw step log and step log (windows per case) raw_steps.sql and
# steps.sql form in one go, whose step-level variants (an ordered aggregate, which cannot spill) the
# `cases` section of steps.sql forms in one go, whose flagged steps the `flags` section of
# metrics.sql writes in one go, whose case counts its `case_figures` section forms in one go, and
# whose what-if tables (first instances, removed regions, comparison cases, leads, brackets, lags,
# savings) the ranged sections of whatif.sql form in one go.
CASES_CHUNK_EVENTS = 2_000_000
# The tables of per-activity case counts that `case_figures` (metrics.sql) appends to per range.
CASE_FIGURES = ("waste_case_counts", "waste_outcome_counts", "waste_presence_counts")
# The sections of whatif.sql that run once per range of cases, with the tables they append to.
WHATIF_RANGED = {
    "occ": ("waste_occ", "waste_region"),
    "controls": ("waste_controls", "waste_control_counts", "waste_before_counts"),
    "leads": ("waste_leads",),
    "bracket_start": ("waste_bracket_start",),
    "after_counts": ("waste_after_counts",),
    "lags": ("waste_lags",),
    "brackets": ("waste_brackets",),
    "savings": ("waste_case_savings",),
}
# Assigned steps per slice of time whose batch flags (a window per activity and resource, which
# holds a whole queue) batch.sql forms in one go.
BATCH_CHUNK_STEPS = 4_000_000


@cache
def sql(name: str) -> str:
    """The text of ``mining/waste/sql/<name>.sql``."""
    return resources.files("mining.waste").joinpath("sql", f"{name}.sql").read_text("utf-8")


@cache
def sql_sections(name: str) -> dict[str, str]:
    """The ``-- @section`` parts of ``mining/waste/sql/<name>.sql``."""
    return sections(sql(name))


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


def load_outcomes(con: duckdb.DuckDBPyConnection, process: str) -> tuple[str, str]:
    """Create ``waste_outcomes``; return (source, status).

    Status 'measurable', or why not: 'no outcome defined' (no outcomes recorded, or every decided
    case 'other') or 'one outcome class'. When not measurable, every outcome is set to NULL, so no
    figure can rest on it.
    """
    source = "none"
    if _has_rows(con, "case_outcomes", process, {"process", "case_id", "outcome", "outcome_activity"}):
        run_sql(con, sql("outcomes_recorded"), {"process": process})
        source = "case_outcomes"
    else:
        run_sql(con, sql("outcomes_none"), {"process": process})
    classes = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT outcome FROM waste_outcomes WHERE outcome IS NOT NULL AND outcome <> 'open' ORDER BY 1"
        ).fetchall()
    ]
    defined = _outcome_status(con, process)
    if source == "none":
        status = "no outcome defined (the moments step has not run)"
    elif defined is not None and not defined[0]:
        status = f"no outcome defined ({defined[1]})"
    elif not [c for c in classes if c != "other"]:
        status = "no outcome defined (every case is 'other' or 'open')"
    elif len(classes) < 2:
        status = f"one outcome class ('{classes[0]}')"
    else:
        status = "measurable"
    if status != "measurable":
        con.execute("UPDATE waste_outcomes SET outcome = NULL").fetchall()
    return source, status


def _outcome_status(con: duckdb.DuckDBPyConnection, process: str) -> tuple[bool, str] | None:
    """The moments step's verdict on the outcomes of ``process`` (outcome_status), if it has one."""
    if not _has_rows(con, "outcome_status", process, {"process", "outcomes_defined", "reason"}):
        return None
    return con.execute(
        "SELECT outcomes_defined, coalesce(reason, '') FROM outcome_status WHERE process = $p", {"p": process}
    ).fetchall()[0]


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


def reference_outcome(con: duckdb.DuckDBPyConnection, settings: Waste) -> str | None:
    """The configured reference outcome, else 'success' when present, else the most frequent decided class."""
    counts = con.execute(
        "SELECT outcome, count(*) AS n FROM waste_outcomes WHERE outcome IS NOT NULL AND outcome <> 'open' "
        "GROUP BY outcome ORDER BY n DESC, outcome"
    ).fetchall()
    if not counts:
        return None
    if settings.reference_outcome is not None:
        return settings.reference_outcome
    classes = [c for c, _ in counts]
    return "success" if "success" in classes else next((c for c in classes if c != "other"), classes[0])


def outcome_activities(con: duckdb.DuckDBPyConnection, settings: Waste) -> dict[str, int]:
    """Activities that record a case outcome (the outcome events of at least min_group_cases
    decided cases), with their number of cases."""
    rows = con.execute(
        "SELECT outcome_activity, count(*) FROM waste_outcomes "
        "WHERE outcome IN ('success', 'dropout', 'declined') AND outcome_activity IS NOT NULL "
        "GROUP BY outcome_activity HAVING count(*) >= $n ORDER BY outcome_activity",
        {"n": settings.min_group_cases},
    ).fetchall()
    return {a: n for a, n in rows}


def build_step_log(con: duckdb.DuckDBPyConnection, process: str, settings: Waste | None = None) -> dict:
    """Create the temp tables of the step log of ``process``; return where outcomes and MOTs came from."""
    settings = settings or Waste()
    if not scalar(con, "SELECT count(*) FROM activity_instances WHERE process = $p", {"p": process}):
        raise ValueError(f"process {process!r} has no activity instances: run the prepare step first")
    outcome_source, outcome_status = load_outcomes(con, process)
    mot_source = load_mot_marks(con, process)
    run_sql(con, sql("quantiles"))  # the macro exact_quantile, which metrics.sql and whatif.sql use
    bounds = prepare.case_ranges(con, process, CASES_CHUNK_EVENTS)  # one set for the step log's texts
    for_bounds(con, sql("raw_steps"), {"process": process}, bounds, appends=["waste_raw"])
    unit_rows = units.load_units(con, settings)
    parts = sql_sections("steps")
    # without a hand-off pair every instance is a step: the plain form skips the grouping
    handoff = any(kind == "hand-off" for _a, _u, kind, _i in unit_rows)
    for_bounds(con, parts["handoff" if handoff else "plain"], {"process": process}, bounds, appends=["waste_steps"])
    for_bounds(con, parts["cases"], {"process": process}, bounds, appends=["waste_cases"])
    run_sql(con, parts["free"])
    return {
        "outcome_source": outcome_source,
        "outcome_status": outcome_status,
        "mot_source": mot_source,
        "units": unit_rows,
    }


def build_step_flags(con: duckdb.DuckDBPyConnection, process: str, params: dict, settings: Waste) -> None:
    """Create ``waste_step_flags``, the step log with its flags (the ``flags`` section of metrics.sql),
    per range of cases, from the batched steps (batch.sql, per slice of time)."""
    batch = sql_sections("batch")
    starts = [r[0] for r in con.execute(batch["bounds"], {"chunk_steps": BATCH_CHUNK_STEPS}).fetchall()]
    window = {"batch_window_s": settings.batch_window_s}
    for_bounds(con, batch["slice"], window, open_bounds(starts), appends=["waste_batch"])
    flags = sql_sections("metrics")["flags"]
    for_case_ranges(con, flags, {**params, "process": process}, CASES_CHUNK_EVENTS, appends=["waste_step_flags"])
    con.execute("DROP TABLE waste_batch").fetchall()


def months_covered(con: duckdb.DuckDBPyConnection, settings: Waste) -> float:
    """The log's time span in months; per-month figures are given only from one month on."""
    span_days = scalar(con, "SELECT (epoch(max(ts)) - epoch(min(first_ts))) / 86400 FROM waste_steps") or 0.0
    return span_days / settings.month_days


def per_month_divisor(con: duckdb.DuckDBPyConnection, settings: Waste) -> float | None:
    """The months per-month figures divide by, or None when the log spans less than a month (never
    extrapolate)."""
    months = months_covered(con, settings)
    return months if months >= 1 else None


def run_what_if(
    con: duckdb.DuckDBPyConnection, process: str, scenarios: list[tuple[str, str]], settings: Waste
) -> list[dict]:
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
        "months": per_month_divisor(con, settings),
        "z": score.z_value(settings.confidence),
    }
    bounds = prepare.case_ranges(con, process, CASES_CHUNK_EVENTS)  # one set for every ranged section
    for name, text in sql_sections("whatif").items():  # in the file's order
        if name in WHATIF_RANGED:
            for_bounds(con, text, params, bounds, appends=WHATIF_RANGED[name])
        else:
            run_sql(con, text, params)
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
    found = build_step_log(con, process, settings)
    unit_of = {a: u for a, u, _k, _i in found["units"]}
    try:
        rows = run_what_if(con, process, [(unit_of.get(a, a), scope) for a in activities], settings)
    finally:
        drop_temp_tables(con)
    by_unit = {r["activity"]: r for r in rows}
    return [{**by_unit[unit_of.get(a, a)], "activity": a} for a in sorted(set(activities))]


def _dicts(con: duckdb.DuckDBPyConnection, query: str, params: dict | None = None) -> list[dict]:
    cursor = con.execute(query, params) if params else con.execute(query)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, map(stable_figure, row), strict=True)) for row in cursor.fetchall()]


def drop_temp_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the analysis's temp views and tables (a failed run may leave them behind, and a
    long-lived connection should not keep them)."""
    for kind in ("VIEW", "TABLE"):
        for (name,) in con.execute(TEMP_OBJECTS[kind]).fetchall():
            con.execute(f"DROP {kind} IF EXISTS {name}").fetchall()


# --- the analysis --------------------------------------------------------------------------------


def analyse(con: duckdb.DuckDBPyConnection, process: str, settings: Waste | None = None) -> dict:
    """Judge every step of ``process``, recommend, project its removal; rebuild the waste_* tables.

    Returns summary figures: the ranked candidates (recommendation other than 'keep').
    """
    settings = settings or Waste()
    try:
        sources = build_step_log(con, process, settings)
        reference = reference_outcome(con, settings)
        params = {
            "reference": reference or "",
            "system_regex": settings.system_resource_regex,
            "edge_min_share": settings.edge_min_share,
        }
        build_step_flags(con, process, params, settings)
        parts = sql_sections("metrics")
        run_sql(con, parts["quantiles"])
        run_sql(con, parts["shapes"], params)
        for_case_ranges(
            con, parts["case_figures"], {**params, "process": process}, CASES_CHUNK_EVENTS, appends=CASE_FIGURES
        )
        run_sql(con, parts["metrics"], params)
        metrics = _dicts(
            con,
            "SELECT w.*, m.is_mot AS is_moment_of_truth, m.poor_share AS mot_poor_share, "
            "m.effort_share AS customer_effort_share FROM waste_metrics w "
            "LEFT JOIN (SELECT coalesce(u.unit, x.activity) AS activity, bool_or(x.is_mot) AS is_mot, "
            "  max(x.poor_share) AS poor_share, max(x.effort_share) AS effort_share "
            "  FROM waste_mot x LEFT JOIN waste_units u USING (activity) GROUP BY ALL) m USING (activity) "
            "ORDER BY w.activity",
        )
        members: dict[str, list[str]] = {}
        kinds: dict[str, str] = {}
        for activity, unit, kind, _i in sources["units"]:
            members.setdefault(unit, []).append(activity)
            kinds[unit] = kind
        tests = units.independence(con)
        recorded = units.results(con, process)
        for m in metrics:
            m.update(
                reference_outcome=reference,
                outcome_status=sources["outcome_status"],
                members=members.get(m["activity"], [m["activity"]]),
                kind=kinds.get(m["activity"], "activity"),
                independence=tests.get(m["activity"]),
                results=recorded.get(m["activity"], []),
            )
        repeated = [(m["activity"], "repeats") for m in metrics if m["repeat_rate"] > 0]
        scenarios = [(m["activity"], "all") for m in metrics] + repeated
        whatif = run_what_if(con, process, scenarios, settings)
        rows = judge_all(metrics, whatif, settings, outcome_activities(con, settings))
        run = {
            "process": process,
            "settings": settings_json(settings),
            "outcome_source": sources["outcome_source"],
            "outcome_status": sources["outcome_status"],
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
        "outcome_status": sources["outcome_status"],
        "candidates": [
            {k: r[k] for k in ("rank", "activity", "waste_score", "recommendation", "scope", "whatif_case_hours_saved")}
            for r in sorted(candidates, key=lambda r: (r["rank"], r["activity"]))
        ],
    }


TIERS = {"remove": 0, "fix": 1, "review": 2, "keep": 3}


def judge_all(metrics: list[dict], whatif: list[dict], settings: Waste, ends: dict[str, int]) -> list[dict]:
    """The output rows: one per activity, with the figures and judgement of its functional step."""
    by_step: dict[str, dict[str, dict]] = {}
    for w in whatif:
        by_step.setdefault(w["activity"], {})[w["scope"]] = w
    judged = []
    for m in metrics:
        scenarios = by_step[m["activity"]]
        j = score.judge(m, scenarios, settings, ends)
        judged.append(_row(m, j, scenarios[j.whatif_scope]))

    def order(r: dict) -> tuple:
        # candidates: strongest advice first, then what it saves; then the score (none last)
        saved = -r["whatif_case_hours_saved"] if r["recommendation"] != "keep" else 0.0
        s = r["waste_score"]
        return (TIERS[r["recommendation"]], saved, s is None, -(s or 0.0), r["functional_step"])

    judged.sort(key=order)
    candidates = [r for r in judged if r["recommendation"] != "keep"]
    by_impact = sorted(candidates, key=lambda r: (-r["whatif_case_hours_saved"], r["functional_step"]))
    impact = {r["functional_step"]: i for i, r in enumerate(by_impact, 1)}
    rows = []
    for i, r in enumerate(judged, 1):
        # one row per activity: the members of a functional step share its figures and its rank
        for activity in r.pop("members"):
            rows.append({**r, "activity": activity, "rank": i, "impact_rank": impact.get(r["functional_step"])})
    return rows


WHATIF_COLUMNS = (
    "cases_affected", "steps_removed", "cases_shortened", "mean_throughput_before_s",
    "mean_throughput_after_s", "mean_throughput_s_saved", "case_hours_saved", "saving_method",
    "hours_saved_per_month", "work_hours_saved", "work_hours_saved_per_month", "mots_per_case_before", "mots_per_case_after", "mots_saved_per_case",
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
        _insert(
            con,
            "waste_activities",
            [{"process": process, **r} for r in sorted(rows, key=lambda r: (r["rank"], r["activity"]))],
        )
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
