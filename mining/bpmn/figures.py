"""The figures that annotate the BPMN tasks, read from the warehouse.

Frequency and waiting time come from the prepared tables that always exist. The moment-of-truth
marks and scores (mining/moments) and the waste scores (mining/waste) are read when their tables
hold rows for the process; when they do not, the figures say so instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import duckdb

# Columns each optional table must have for its figures to be read.
NEEDS = {
    "mot_activities": {"process", "activity", "is_moment_of_truth", "share", "channel", "rule"},
    "mot_events": {"process", "activity", "is_moment_of_truth", "score", "poor"},
    "waste_activities": {
        "process",
        "activity",
        "waste_score",
        "rank",
        "recommendation",
        "explanation",
        "whatif_scope",
        "whatif_hours_saved_per_month",
        "whatif_mots_saved_per_case",
    },
}


@cache
def sql_text(name: str) -> str:
    """The text of ``mining/bpmn/sql/<name>.sql``."""
    return resources.files("mining.bpmn").joinpath("sql", f"{name}.sql").read_text("utf-8")


@dataclass(frozen=True)
class ActivityFigures:
    """What is known of one activity; None where the analysis behind a figure did not run."""

    activity: str
    frequency: int
    n_cases: int
    n_waits: int = 0
    wait_mean_s: float | None = None
    wait_median_s: float | None = None
    wait_total_s: float | None = None
    is_mot: bool | None = None
    mot_share: float | None = None
    channel: str | None = None
    mot_rule: str | None = None
    n_scored: int | None = None
    score_mean: float | None = None  # running-score impact: mean score of its MOT events
    poor_share: float | None = None
    n_moments: int | None = None  # its MOT events (for MOTs per case)
    waste_score: float | None = None
    waste_rank: int | None = None
    recommendation: str | None = None
    explanation: str | None = None
    whatif_scope: str | None = None  # what the waste what-if removes: 'all' or 'repeats'
    whatif_hours_per_month: float | None = None  # case-hours of throughput time saved a month
    whatif_mots_per_case: float | None = None


@dataclass(frozen=True)
class ProcessFigures:
    """Figures of every activity of a process, and why optional figures are missing."""

    process: str
    n_cases: int
    activities: dict[str, ActivityFigures]
    moments_missing: str | None = None  # None = moment-of-truth figures present
    scores_missing: str | None = None
    waste_missing: str | None = None
    n_ranked: int = 0  # activities with a waste rank
    notes: list[str] = field(default_factory=list)

    def removal_candidates(self) -> list[str]:
        """Activities whose waste recommendation is 'remove', in rank order."""
        found = [f for f in self.activities.values() if (f.recommendation or "").lower() == "remove"]
        return [f.activity for f in sorted(found, key=lambda f: (f.waste_rank or 0, f.activity))]

    def moments(self) -> set[str]:
        """Activities marked as moments of truth."""
        return {a for a, f in self.activities.items() if f.is_mot}


def _columns(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    rows = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main' ORDER BY 1, 2"
    ).fetchall()
    tables: dict[str, set[str]] = {}
    for table, column in rows:
        tables.setdefault(table, set()).add(column)
    return tables


def _missing(tables: dict[str, set[str]], con, table: str, process: str, analysis: str) -> str | None:
    """Why ``table`` cannot give figures for ``process`` (None: it can)."""
    if table not in tables:
        return f"not analysed: the warehouse has no {table} table ({analysis} did not run)"
    lacking = NEEDS[table] - tables[table]
    if lacking:
        return f"not read: {table} lacks the columns {', '.join(sorted(lacking))}"
    n = con.execute(f"SELECT count(*) FROM {table} WHERE process = $p", {"p": process}).fetchall()[0][0]
    if not n:
        return f"not analysed: {table} has no rows for process {process!r} ({analysis} did not run for it)"
    return None


def _query(con, name: str, process: str) -> list[tuple]:
    return con.execute(sql_text(name), {"process": process}).fetchall()


def load_figures(con: duckdb.DuckDBPyConnection, process: str) -> ProcessFigures:
    """Figures of every activity of ``process``: frequency, waits, MOT marks and scores, waste."""
    n_cases = con.execute("SELECT count(*) FROM cases WHERE process = $p", {"p": process}).fetchall()[0][0]
    base = {}
    for activity, frequency, cases, n_waits, wait_mean, wait_median, wait_total in _query(
        con, "activity_figures", process
    ):
        base[activity] = dict(
            activity=activity,
            frequency=int(frequency),
            n_cases=int(cases),
            n_waits=int(n_waits or 0),
            wait_mean_s=wait_mean,
            wait_median_s=wait_median,
            wait_total_s=wait_total,
        )
    tables = _columns(con)
    moments_missing = _missing(tables, con, "mot_activities", process, "the moments-of-truth step")
    scores_missing = moments_missing or _missing(tables, con, "mot_events", process, "the moments-of-truth step")
    if not moments_missing:
        for row in _query(con, "mot_figures" if not scores_missing else "mot_activities_only", process):
            activity, is_mot, share, channel, rule, n_scored, score_mean, poor_share = row
            if activity in base:
                base[activity].update(
                    is_mot=bool(is_mot),
                    mot_share=share,
                    channel=channel,
                    mot_rule=rule,
                    n_scored=None if scores_missing else int(n_scored or 0),
                    score_mean=score_mean,
                    poor_share=poor_share,
                )
        if not scores_missing:
            for activity, n_moments in _query(con, "mot_counts", process):
                if activity in base:
                    base[activity]["n_moments"] = int(n_moments)
    waste_missing = _missing(tables, con, "waste_activities", process, "the waste step")
    n_ranked = 0
    if not waste_missing:
        for row in _query(con, "waste_figures", process):
            activity, score, rank, recommendation, explanation, scope, hours, mots = row
            if activity in base:
                n_ranked += rank is not None
                base[activity].update(
                    waste_score=score,
                    waste_rank=None if rank is None else int(rank),
                    recommendation=recommendation,
                    explanation=explanation,
                    whatif_scope=scope,
                    whatif_hours_per_month=hours,
                    whatif_mots_per_case=mots,
                )
    return ProcessFigures(
        process=process,
        n_cases=int(n_cases),
        activities={a: ActivityFigures(**kw) for a, kw in sorted(base.items())},
        moments_missing=moments_missing,
        scores_missing=scores_missing,
        waste_missing=waste_missing,
        n_ranked=n_ranked,
    )


# --- text ----------------------------------------------------------------------------------------


def duration(seconds: float | None) -> str:
    """A readable duration: '45 s', '12 min', '3.4 h', '2.1 d'."""
    if seconds is None:
        return "n/a"
    s = abs(seconds)
    if s < 60:
        text = f"{s:.0f} s"
    elif s < 3600:
        text = f"{s / 60:.0f} min"
    elif s < 86400:
        text = f"{s / 3600:.1f} h"
    else:
        text = f"{s / 86400:.1f} d"
    return ("-" if seconds < 0 else "") + text


def number(value: float | int | None) -> str:
    """A machine-readable number for an extension attribute (6 decimals at most, no exponent)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def task_documentation(f: ActivityFigures, pf: ProcessFigures, removal: str | None) -> str:
    """The documentation text of a task: every figure with its meaning, or why it is missing."""
    lines = [
        f.activity,
        f"Frequency: {f.frequency:,} events in {f.n_cases:,} of {pf.n_cases:,} cases ({_pct(f.n_cases, pf.n_cases)} of cases).",
    ]
    if f.n_waits:
        lines.append(
            f"Waiting time before it (since the previous event of the case): median {duration(f.wait_median_s)}, "
            f"mean {duration(f.wait_mean_s)} ({f.n_waits:,} occurrences)."
        )
    else:
        lines.append("Waiting time before it: none measured (it always starts the case).")
    if pf.moments_missing:
        lines.append(f"Moment of truth: {pf.moments_missing}.")
    else:
        mark = "yes" if f.is_mot else "no"
        detail = f"{_share(f.mot_share)} of its events are customer-facing"
        if f.channel:
            detail += f"; channel: {f.channel}"
        if f.mot_rule:
            detail += f"; rule: {f.mot_rule}"
        lines.append(f"Moment of truth: {mark} ({detail}).")
    if pf.scores_missing:
        lines.append(f"Running-score impact: {pf.scores_missing}.")
    elif f.score_mean is None:
        lines.append("Running-score impact: none (no scored moment-of-truth events).")
    else:
        poor = f"; {_share(f.poor_share)} of them poor" if f.poor_share is not None else ""
        lines.append(
            f"Running-score impact: {f.score_mean:+.2f} per occurrence (mean experience score of its "
            f"{f.n_scored:,} scored moment-of-truth events{poor})."
        )
    if pf.waste_missing:
        lines.append(f"Waste score: {pf.waste_missing}.")
    elif f.waste_score is None:
        lines.append("Waste score: not scored.")
    else:
        rank = f", rank {f.waste_rank} of {pf.n_ranked}" if f.waste_rank is not None else ""
        lines.append(f"Waste score: {f.waste_score:.2f}{rank}; recommendation: {f.recommendation or 'none'}.")
        if f.explanation:
            lines.append(f"Why: {f.explanation}")
    if removal:
        lines.append(removal)
    return "\n".join(lines)


def task_attributes(f: ActivityFigures, pf: ProcessFigures, candidate: bool, removed: bool) -> dict[str, str]:
    """The task's figures as ``mot:`` extension attributes (only the ones that were measured)."""
    attrs: dict[str, float | int | bool | str | None] = {
        "frequency": f.frequency,
        "cases": f.n_cases,
        "caseShare": f.n_cases / pf.n_cases if pf.n_cases else 0.0,
        "waitMedianSeconds": f.wait_median_s,
        "waitMeanSeconds": f.wait_mean_s,
    }
    if not pf.moments_missing:
        attrs |= {"momentOfTruth": bool(f.is_mot), "motShare": f.mot_share, "channel": f.channel}
    if not pf.scores_missing:
        attrs |= {"runningScoreImpact": f.score_mean, "scoredMoments": f.n_scored, "poorShare": f.poor_share}
    if not pf.waste_missing:
        attrs |= {"wasteScore": f.waste_score, "wasteRank": f.waste_rank, "recommendation": f.recommendation}
    attrs |= {"removalCandidate": candidate, "removedInToBe": removed}
    out = {}
    for key, value in attrs.items():
        if value is None:
            continue
        out[key] = value if isinstance(value, str) else number(value)
    return out


def _pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "n/a"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{100.0 * value:.0f}%"
