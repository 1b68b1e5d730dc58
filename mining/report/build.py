"""Assemble the report of one process: sections of figures, each with the query behind it.

``build_sections(reader, process, ...)`` reads every figure through ``Reader`` (data.py) and
returns plain ``Section`` objects that the template (templates/report.html.j2) lays out. Numbers are
formatted here, and each figure keeps its raw values in ``data-value`` attributes, so a test (or a
person with the browser's inspector) can hold every figure against the warehouse. A part whose
data is missing becomes a figure with ``missing`` set; nothing here raises for missing data.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mining.report import charts
from mining.report import processmap as pm
from mining.report.bpmn import AS_IS_FILE, TO_BE_FILE, Viewer, bpmn_folder, comparison, static_svg
from mining.report.data import Reader, Result, Source

# --- formatting ------------------------------------------------------------------------------------


def _finite(x) -> bool:
    return x is not None and not (isinstance(x, float) and not math.isfinite(x))


def fmt_int(x) -> str:
    """2000 -> '2,000'."""
    return f"{x:,.0f}" if _finite(x) else "n/a"


def fmt_num(x, digits: int = 2) -> str:
    """A number with ``digits`` decimals."""
    return f"{x:,.{digits}f}" if _finite(x) else "n/a"


def fmt_pct(x, digits: int = 1) -> str:
    """0.1475 -> '14.8%'."""
    return f"{100 * x:.{digits}f}%" if _finite(x) else "n/a"


def fmt_signed(x, digits: int = 2) -> str:
    """A score with its sign: -1.25 -> '−1.25'."""
    return f"{x:+.{digits}f}".replace("-", "−") if _finite(x) else "n/a"


def fmt_duration(seconds) -> str:
    """Seconds as the largest sensible unit: '45 s', '12 min', '3.2 h', '17.9 days'."""
    if not _finite(seconds):
        return "n/a"
    s = float(seconds)
    if abs(s) < 90:
        return f"{s:.0f} s"
    if abs(s) < 5400:
        return f"{s / 60:.0f} min"
    if abs(s) < 2 * 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


def fmt_date(value) -> str:
    """A timestamp as its UTC date."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).date().isoformat()
    return "n/a" if value is None else str(value)


def fmt_text(x) -> str:
    """Text as is; None as an en dash."""
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, dt.timedelta):
        return fmt_duration(x.total_seconds())
    return str(x)


FORMATS: dict[str, Callable] = {
    "int": fmt_int,
    "auto": lambda x: fmt_int(x) if _finite(x) and float(x).is_integer() else fmt_num(x, 3),
    "num": fmt_num,
    "num3": lambda x: fmt_num(x, 3),
    "pct": fmt_pct,
    "pp": lambda x: f"{x:+.1f} pp" if _finite(x) else "n/a",
    "score": fmt_signed,
    "dur": fmt_duration,
    "date": fmt_date,
    "text": fmt_text,
    "bool": fmt_text,
}


def raw(x) -> str | None:
    """The value for a ``data-value`` attribute: numbers in full precision, text as is."""
    if x is None:
        return None
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return repr(x) if math.isfinite(x) else None
    if isinstance(x, dt.datetime):
        return x.astimezone(dt.UTC).isoformat()
    if isinstance(x, dt.timedelta):
        return repr(x.total_seconds())
    return str(x)


# --- the model the template renders ----------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A table column: row key, heading, format (a key of FORMATS)."""

    key: str
    label: str
    fmt: str = "text"

    @property
    def numeric(self) -> bool:
        """Right-aligned columns."""
        return self.fmt not in ("text", "bool", "date")


@dataclass(frozen=True)
class Cell:
    """One formatted table cell with its raw value."""

    text: str
    value: str | None
    numeric: bool


@dataclass
class Table:
    """A table: columns and formatted rows; ``key`` names it for tests (data-table).

    ``details`` (one text per row, or empty) are shown in a full-width line under their row:
    long explanations read better there than squeezed into a column.
    """

    key: str
    columns: list[Column]
    rows: list[list[Cell]]
    note: str = ""
    details: list[str] = field(default_factory=list)
    detail_label: str = ""


@dataclass(frozen=True)
class Stat:
    """A headline number: ``key`` for tests (data-figure), label, formatted text, raw value."""

    key: str
    label: str
    text: str
    value: str | None
    hint: str = ""


@dataclass
class Figure:
    """One figure: a chart or picture, stats and/or tables, the sources that reproduce it."""

    id: str
    title: str
    sources: list[Source] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # what could not be shown, as sentences
    caption: str = ""
    stats: list[Stat] = field(default_factory=list)
    svg: str | None = None  # trusted SVG markup (ours or vl-convert's)
    tables: list[Table] = field(default_factory=list)
    bpmn: dict | None = None  # {'side', 'file', 'xml', 'static_svg'}
    legend: list[tuple[str, str]] = field(default_factory=list)  # (css class, text)
    notes: list[str] = field(default_factory=list)
    empty: str = ""  # the sentence shown when a real answer has no rows

    @property
    def shown(self) -> bool:
        """True when something other than the missing notice is shown."""
        return bool(self.svg or self.stats or self.tables or self.bpmn or self.empty)


@dataclass
class Section:
    """A section of the report: id (anchor), title, a lead paragraph, figures."""

    id: str
    title: str
    lead: str
    figures: list[Figure]
    subtitle: str = ""


def table(
    key: str,
    result_rows: Sequence[dict],
    columns: Sequence[Column],
    note: str = "",
    detail: Callable[[dict], str] | None = None,
    detail_label: str = "",
) -> Table:
    """A ``Table`` of ``result_rows`` with the given columns (and a detail line per row)."""
    rows = [[Cell(FORMATS[c.fmt](r.get(c.key)), raw(r.get(c.key)), c.numeric) for c in columns] for r in result_rows]
    details = [detail(r) for r in result_rows] if detail else []
    return Table(key, list(columns), rows, note, details, detail_label)


def stat(key: str, label: str, value, fmt: str = "int", hint: str = "") -> Stat:
    """A ``Stat`` with ``value`` formatted by ``fmt``."""
    return Stat(key, label, FORMATS[fmt](value), raw(value), hint)


def _use(figure: Figure, result: Result, what: str = "") -> bool:
    """Record ``result``'s source on ``figure``; note what is missing; True when it has rows."""
    figure.sources.append(result.source)
    if result.missing:
        figure.missing.append((what + ": " if what else "") + result.missing)
        return False
    return bool(result.rows)


# --- sections -------------------------------------------------------------------------------------


@dataclass
class Context:
    """What the section builders share: the reader, the process and the results read so far."""

    reader: Reader
    process: str
    processes: list[str]
    out_dir: Path
    viewer: Viewer | None
    results: dict[str, Result] = field(default_factory=dict)

    def get(self, name: str) -> Result:
        """The result of report query ``name`` (read once)."""
        if name not in self.results:
            self.results[name] = self.reader.fetch(name, self.process)
        return self.results[name]


def summary_section(ctx: Context) -> Section:
    """Cases, events, period and data quality."""
    size = Figure("summary", "The process in numbers")
    if _use(size, ctx.get("summary")):
        s = ctx.get("summary").rows[0]
        size.stats = [
            stat("cases", "cases", s["n_cases"]),
            stat("events", "events", s["n_events"]),
            stat("activities", "activities", s["n_activities"]),
            stat("variants", "variants", s["n_variants"]),
            stat("first_event", "first event", s["first_event_at"], "date"),
            stat("last_event", "last event", s["last_event_at"], "date"),
            stat("median_case_s", "median case duration", s["median_case_s"], "dur"),
            stat("p90_case_s", "90% of cases finish within", s["p90_case_s"], "dur"),
        ]
    quality = Figure("data-quality", "Data quality: what was read, loaded and quarantined")
    loads = ctx.get("loads")
    if _use(quality, loads, "loads"):
        rows = loads.rows
        quality.stats = [
            stat("rows_read", "rows read", sum(r["rows_read"] for r in rows)),
            stat("rows_loaded", "rows loaded", sum(r["rows_loaded"] for r in rows)),
            stat("rows_quarantined", "rows quarantined", sum(r["rows_quarantined"] for r in rows)),
            stat("failed_loads", "failed loads", sum(r["n_failed"] for r in rows)),
        ]
        quality.tables.append(
            table(
                "loads",
                rows,
                [
                    Column("source", "source"),
                    Column("location", "location"),
                    Column("n_loads", "loads", "int"),
                    Column("rows_read", "read", "int"),
                    Column("rows_loaded", "loaded", "int"),
                    Column("rows_quarantined", "quarantined", "int"),
                    Column("n_failed", "failed loads", "int"),
                    Column("last_error", "last error"),
                ],
            )
        )
    reasons = ctx.get("quarantine")
    if _use(quality, reasons, "quarantine"):
        quality.tables.append(
            table(
                "quarantine",
                reasons.rows,
                [
                    Column("reason", "quarantine reason"),
                    Column("n_rows", "rows", "int"),
                    Column("example", "first example"),
                ],
                note="Every rejected row is kept in the table quarantine with its reason and the row as read.",
            )
        )
    elif not reasons.missing:
        quality.notes.append("No row was quarantined: every row read was loaded.")
    variants = Figure("variants", "The most frequent variants")
    if _use(variants, ctx.get("variants")):
        variants.tables.append(
            table(
                "variants",
                ctx.get("variants").rows,
                [
                    Column("rank", "#", "int"),
                    Column("n_cases", "cases", "int"),
                    Column("share", "share", "pct"),
                    Column("cumulative_share", "cumulative", "pct"),
                    Column("median_duration_s", "median duration", "dur"),
                    Column("path", "activities in order"),
                ],
            )
        )
    return Section(
        "summary",
        "Summary",
        "How big the process is, over which period, and whether the data arrived whole.",
        [size, quality, variants],
    )


def findings(ctx: Context) -> list[str]:
    """A few sentences with the headline results, each pointing to its section."""
    out = []
    funnel, causes, waste, knock = ctx.get("funnel"), ctx.get("dropout_causes"), ctx.get("waste"), ctx.get("knock_on")
    if funnel.ok and funnel.rows:
        place = max(funnel.rows, key=lambda r: (r["n_left_after"], -r["step"]))
        total = sum(r["n_left_after"] for r in funnel.rows)
        if total:
            out.append(
                f"Customers who drop out most often leave after “{place['activity']}” "
                f"({fmt_int(place['n_left_after'])} of {fmt_int(total)} drop-outs, {fmt_pct(place['share_of_dropouts'])}): that is the place (see Drop-out)."
            )
    if causes.ok and causes.rows:
        c = causes.rows[0]
        figures = f"lift {fmt_num(c['lift'])}, interval {fmt_num(c['ci_low'])}–{fmt_num(c['ci_high'])}, {fmt_int(c['n_cases'])} cases"
        if _finite(c["ci_low"]) and c["ci_low"] > 1:
            out.append(
                f"The strongest upstream factor is “{c['factor']}”: drop-out is {fmt_num(c['lift'])}× as likely with it "
                f"({figures}): a likely cause (see Drop-out)."
            )
        else:
            out.append(
                f"No upstream factor is clearly over-represented in the drop-outs: the strongest, “{c['factor']}”, "
                f"has an interval that reaches 1 ({figures}; see Drop-out)."
            )
    if knock.ok:
        overall = [r for r in knock.rows if r["from_activity"] == "*"]
        if overall and overall[0]["p_poor_given_poor"] is not None:
            o = overall[0]
            meaning = {
                "vicious": "poor moments breed poor moments (a vicious circle)",
                "damping": "a poor moment is followed by a better one more often than usual",
                "none": "no clear knock-on effect",
            }.get(o["effect"], o["effect"])
            out.append(
                f"After a poor moment of truth the next one is poor in {fmt_pct(o['p_poor_given_poor'])} of cases, against a base rate of "
                f"{fmt_pct(o['base_rate'])} (lift {fmt_num(o['lift'])}): {meaning} (see Knock-on)."
            )
    if waste.ok:
        remove = [r for r in waste.rows if r["recommendation"] == "remove"]
        if remove:
            r = remove[0]
            out.append(
                f"Top removal candidate: “{r['activity']}” (waste score {fmt_num(r['waste_score'])}); removing it would save about "
                f"{fmt_int(r['whatif_hours_saved_per_month'])} case-hours of throughput time a month (see Removal candidates)."
            )
    return out


def map_section(ctx: Context) -> Section:
    """The process map with moments of truth and waste heat."""
    figure = Figure("process-map", "Process map: moments of truth and waste")
    acts, edges = ctx.get("map_activities"), ctx.get("map_edges")
    ok = _use(figure, acts, "activities") & _use(figure, edges, "arrows")
    mot = ctx.get("mot_activities")
    waste = ctx.get("waste")
    has_mot = _use(figure, mot, "moments of truth (no outline)")
    has_waste = _use(figure, waste, "waste scores (no heat colour)")
    if not ok:
        return Section("process-map", "Process map", "", [figure])
    marks = {r["activity"]: r for r in mot.rows} if has_mot else {}
    scores = {r["activity"]: r for r in waste.rows} if has_waste else {}
    activities = [
        pm.MapActivity(
            activity=r["activity"],
            frequency=r["frequency"],
            is_moment_of_truth=marks[r["activity"]]["is_moment_of_truth"] if r["activity"] in marks else None,
            channel=marks.get(r["activity"], {}).get("channel"),
            waste_score=scores.get(r["activity"], {}).get("waste_score"),
            waste_rank=scores.get(r["activity"], {}).get("rank"),
            recommendation=scores.get(r["activity"], {}).get("recommendation"),
        )
        for r in acts.rows
    ]
    arrows = [pm.MapEdge(r["source_activity"], r["target_activity"], r["frequency"], r["median_s"]) for r in edges.rows]
    starts = {r["activity"]: r["n_start"] for r in acts.rows if r["n_start"]}
    ends = {r["activity"]: r["n_end"] for r in acts.rows if r["n_end"]}
    drawn = pm.process_map(activities, arrows, starts, ends)
    figure.svg = drawn.svg
    figure.stats = [
        stat("map_activities", "activities", len(activities)),
        stat("map_moments", "moments of truth", sum(1 for a in activities if a.is_moment_of_truth)),
        stat("map_edges_shown", "arrows drawn", drawn.n_edges_shown, hint=f"of {fmt_int(drawn.n_edges)}"),
        stat(
            "map_transitions_shown",
            "transitions covered",
            drawn.transitions_shown / drawn.transitions if drawn.transitions else None,
            "pct",
        ),
    ]
    figure.caption = (
        f"Each box is an activity with its number of events; arrows are directly-follows transitions with their counts "
        f"(line width grows with frequency). {fmt_int(drawn.n_edges_shown)} of {fmt_int(drawn.n_edges)} arrows are drawn: every "
        f"activity's most frequent incoming and outgoing arrow, then the most frequent others; they carry "
        f"{fmt_pct(drawn.transitions_shown / drawn.transitions if drawn.transitions else None)} of all transitions. "
        "Orange arrows run back up (rework and loops). Red tags count the cases that end at an activity. Hover for details."
    )
    figure.legend = [("lg-mot", "moment of truth (blue outline, MOT tag)"), ("lg-plain", "internal step")]
    if has_waste:
        figure.legend.append(
            ("lg-heat", f"waste score from 0 (pale) to 1 (dark red); highest here {fmt_num(drawn.max_waste)}")
        )
    figure.legend.append(("lg-back", "arrow back up: rework or loop"))
    return Section(
        "process-map",
        "Process map",
        "The process as it really runs, discovered from the events: where the customer is touched and where the waste sits.",
        [figure],
    )


def bpmn_section(ctx: Context) -> Section:
    """The as-is and to-be BPMN diagrams."""
    folder = bpmn_folder(ctx.processes, ctx.process, ctx.out_dir)
    figures = []
    for side, name, title in (("as-is", AS_IS_FILE, "As-is BPMN"), ("to-be", TO_BE_FILE, "To-be BPMN")):
        figure = Figure(f"bpmn-{side}", title)
        path = folder / name
        rel = _relative(path, ctx.out_dir)
        figure.notes.append(f"File: {rel} (open it in Camunda Modeler or bpmn.io to edit).")
        if not path.is_file():
            figure.missing.append(f"{rel} is not there: the bpmn step has not run for this process")
        else:
            xml = path.read_bytes()
            figure.bpmn = {"side": side, "file": rel, "xml": xml.decode("utf-8"), "static_svg": None}
            if ctx.viewer is None:
                figure.bpmn["static_svg"] = static_svg(xml, side)
                figure.notes.append(
                    "bpmn-js is not installed (make node-deps), so this is a static drawing of the file's diagram interchange."
                )
            if side == "to-be":
                rows, removed = comparison(xml)
                figure.notes.append(
                    "Removed in the to-be model: " + (", ".join(removed) if removed else "nothing") + "."
                )
                if rows:
                    figure.tables.append(
                        table(
                            "bpmn-comparison",
                            [{"label": r.label, "as_is": r.as_is, "to_be": r.to_be} for r in rows],
                            [
                                Column("label", "as-is vs to-be"),
                                Column("as_is", "as-is", "auto"),
                                Column("to_be", "to-be", "auto"),
                            ],
                        )
                    )
        figures.append(figure)
    viewer = f" Drawn with {ctx.viewer.origin}, inlined into this file." if ctx.viewer else ""
    return Section(
        "bpmn",
        "As-is and to-be BPMN",
        "The discovered model as BPMN, moments of truth in blue and removal candidates in red, and the model without the "
        "steps recommended for removal." + viewer,
        figures,
    )


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def min_curve_cases(curve: Sequence[dict]) -> int:
    """How many cases a point of the running-score curve needs: 1% of the cases, at least 10."""
    return max(10, math.ceil(0.01 * max(r["n_cases"] for r in curve)))


def curve_cutoff(curve: Sequence[dict]) -> int:
    """The last n-th moment that enough cases reach (the tail of a few long cases is noise)."""
    need = min_curve_cases(curve)
    reached = [r["mot_seq"] for r in curve if r["n_cases"] >= need]
    return max(reached) if reached else curve[-1]["mot_seq"]


def journey_section(ctx: Context) -> Section:
    """Moments of truth, running score and the per-moment scores."""
    marks = Figure("moments", "Which activities are moments of truth")
    mot = ctx.get("mot_activities")
    if _use(marks, mot):
        moments = [r for r in mot.rows if r["is_moment_of_truth"]]
        marks.stats = [
            stat("mot_activities", "moments of truth", len(moments), hint=f"of {len(mot.rows)} activities"),
            stat("mot_events", "moment-of-truth events", sum(r["n_moments"] for r in mot.rows)),
            stat(
                "mot_event_share",
                "of all events",
                sum(r["n_moments"] for r in mot.rows) / max(1, sum(r["n_events"] for r in mot.rows)),
                "pct",
            ),
        ]
        marks.tables.append(
            table(
                "mot-activities",
                sorted(mot.rows, key=lambda r: (not r["is_moment_of_truth"], -r["n_events"], r["activity"])),
                [
                    Column("activity", "activity"),
                    Column("is_moment_of_truth", "moment of truth", "bool"),
                    Column("share", "share of its events", "pct"),
                    Column("channel", "channel"),
                    Column("n_events", "events", "int"),
                    Column("rule", "decided by"),
                ],
            )
        )
    curve_fig = Figure("running-score", "The running score along the journey")
    curve = ctx.get("running_score")
    if _use(curve_fig, curve):
        cutoff = curve_cutoff(curve.rows)
        chart = charts.running_score_chart([r for r in curve.rows if r["mot_seq"] <= cutoff])
        curve_fig.svg, curve_fig.caption = chart.svg, chart.description
        if cutoff < curve.rows[-1]["mot_seq"]:
            curve_fig.caption += (
                f" Drawn up to moment {cutoff}: beyond it fewer than {fmt_int(min_curve_cases(curve.rows))} cases "
                f"remain (the longest case has {curve.rows[-1]['mot_seq']} moments)."
            )
        outcome = ctx.get("score_by_outcome")
        if _use(curve_fig, outcome, "scores by outcome"):
            curve_fig.tables.append(
                table(
                    "score-by-outcome",
                    outcome.rows,
                    [
                        Column("outcome", "outcome"),
                        Column("n_cases", "cases", "int"),
                        Column("share", "share", "pct"),
                        Column("mean_final_score", "mean final score", "score"),
                        Column("mean_min_score", "mean lowest score", "score"),
                        Column("mean_moments", "moments per case", "num"),
                        Column("mean_poor_moments", "poor moments per case", "num"),
                    ],
                )
            )
    traj = Figure("trajectories", "Running-score trajectories by outcome")
    samples, by_outcome = ctx.get("trajectories"), ctx.get("running_score_by_outcome")
    if _use(traj, samples, "sampled cases") & _use(traj, by_outcome, "mean per outcome"):
        cutoff = curve_cutoff(curve.rows) if curve.ok else max(r["mot_seq"] for r in samples.rows)
        chart = charts.trajectories_chart(
            [r for r in samples.rows if r["mot_seq"] <= cutoff], [r for r in by_outcome.rows if r["mot_seq"] <= cutoff]
        )
        traj.svg, traj.caption = (
            chart.svg,
            chart.description
            + " The sample is the 25 cases per outcome with the smallest md5(case_id): the same on every run.",
        )
    scores = Figure("mot-scores", "How each moment of truth scores")
    per_mot = ctx.get("mot_scores")
    if _use(scores, per_mot):
        scores.tables.append(
            table(
                "mot-scores",
                per_mot.rows,
                [
                    Column("activity", "moment of truth"),
                    Column("main_channel", "main channel"),
                    Column("n_moments", "moments", "int"),
                    Column("mean_score", "mean score", "score"),
                    Column("n_poor", "poor", "int"),
                    Column("poor_share", "poor share", "pct"),
                    Column("median_wait", "median wait", "text"),
                ],
            )
        )
    return Section(
        "journey",
        "Moments of truth and the running score",
        "Every interaction with the customer is a moment of truth. Each one is scored against what the customer could "
        "expect (waiting, repeats, channel switches, hand-offs, effort, outcome); the running score adds them up along the case.",
        [marks, curve_fig, traj, scores],
    )


def knock_on_section(ctx: Context) -> Section:
    """Knock-on of poor moments: overall and per pair."""
    figure = Figure("knock-on", "Does a poor moment make the next one poor?")
    result = ctx.get("knock_on")
    if _use(figure, result):
        overall = [r for r in result.rows if r["from_activity"] == "*"]
        pairs = [r for r in result.rows if r["from_activity"] != "*"]
        if overall:
            o = overall[0]
            figure.stats = [
                stat("knock_on_p", "P(next poor | this poor)", o["p_poor_given_poor"], "pct"),
                stat("knock_on_base", "base rate P(next poor)", o["base_rate"], "pct"),
                stat("knock_on_lift", "lift", o["lift"], "num"),
                stat("knock_on_pairs", "consecutive pairs", o["n"]),
                Stat(
                    "knock_on_effect",
                    "effect",
                    o["effect"],
                    o["effect"],
                    f"interval {fmt_pct(o['ci_low'])}–{fmt_pct(o['ci_high'])}",
                ),
            ]
        chart = charts.knock_on_chart(result.rows)
        if chart:
            figure.svg, figure.caption = (
                chart.svg,
                chart.description + " Vicious: the interval lies above the base rate; damping: below it.",
            )
        figure.tables.append(
            table(
                "knock-on",
                pairs[:20],
                [
                    Column("from_activity", "this moment"),
                    Column("to_activity", "next moment"),
                    Column("n", "pairs", "int"),
                    Column("n_from_poor", "this poor", "int"),
                    Column("p_poor_given_poor", "P(next poor | poor)", "pct"),
                    Column("base_rate", "base rate", "pct"),
                    Column("lift", "lift", "num"),
                    Column("ci_low", "interval low", "pct"),
                    Column("ci_high", "interval high", "pct"),
                    Column("effect", "effect"),
                ],
                note=(
                    f"The 20 pairs with the strongest effect, of {len(pairs)}."
                    if len(pairs) > 20
                    else f"All {len(pairs)} pairs of consecutive moments, the strongest effect first."
                ),
            )
        )
    return Section(
        "knock-on",
        "Knock-on effects",
        "A poor moment of truth can make the next one more likely to be poor: a vicious circle. Measured as the probability "
        "that the next moment is poor after a poor one, against the base rate, with a 95% interval.",
        [figure],
    )


def dropout_section(ctx: Context) -> Section:
    """Where customers leave (the place) and what drives them out (the cause), kept apart."""
    place = Figure("dropout-place", "Where customers leave: the place")
    funnel = ctx.get("funnel")
    if _use(place, funnel):
        chart = charts.funnel_chart(funnel.rows)
        place.svg, place.caption = chart.svg, chart.description
        total = sum(r["n_left_after"] for r in funnel.rows)
        place.stats = [
            stat("dropouts", "drop-out cases", max((r["n_dropout_reached"] for r in funnel.rows), default=0))
        ]
        if total:
            top = max(funnel.rows, key=lambda r: (r["n_left_after"], -r["step"]))
            place.stats.append(
                Stat(
                    "dropout_top_place",
                    "most left after",
                    top["activity"],
                    top["activity"],
                    f"{fmt_pct(top['share_of_dropouts'])} of drop-outs",
                )
            )
        place.tables.append(
            table(
                "funnel",
                funnel.rows,
                [
                    Column("step", "step", "int"),
                    Column("activity", "moment of truth"),
                    Column("n_cases_reached", "cases reaching it", "int"),
                    Column("n_left_after", "left after it", "int"),
                    Column("share_of_dropouts", "share of drop-outs", "pct"),
                    Column("leave_rate", "leave rate", "pct"),
                    Column("n_dropout_events", "drop-out events here", "int"),
                ],
            )
        )
    places = ctx.get("dropout_places")
    if _use(place, places, "drop-out places"):
        place.tables.append(
            table(
                "dropout-places",
                places.rows,
                [
                    Column("rank", "#", "int"),
                    Column("activity", "drop-out event"),
                    Column("after_activity", "after moment of truth"),
                    Column("n_dropout", "drop-outs", "int"),
                    Column("share", "share", "pct"),
                ],
            )
        )
    cause = Figure("dropout-cause", "What drives them out: upstream causes")
    causes = ctx.get("dropout_causes")
    if _use(cause, causes):
        chart = charts.causes_chart(causes.rows)
        cause.svg, cause.caption = chart.svg, chart.description
        cause.tables.append(
            table(
                "dropout-causes",
                causes.rows,
                [
                    Column("rank", "#", "int"),
                    Column("factor", "upstream factor"),
                    Column("n_cases", "cases with it", "int"),
                    Column("n_dropout", "of them dropped out", "int"),
                    Column("confidence", "drop-out rate with it", "pct"),
                    Column("base_rate", "overall rate", "pct"),
                    Column("lift", "lift", "num"),
                    Column("ci_low", "interval low", "num"),
                    Column("ci_high", "interval high", "num"),
                    Column("support", "support", "pct"),
                ],
                note="Only events before the outcome count; population: cases that are not open. Lift above 1 with an interval above 1: over-represented in drop-outs.",
            )
        )
    elif not causes.missing:
        cause.empty = "No upstream factor has enough cases to be measured."
    return Section(
        "dropout",
        "Drop-out: the place and the cause",
        "Where customers leave is often not why they leave. The first figure shows the place: the last moment of truth "
        "before leaving. The second shows likely causes: upstream moments and patterns that are over-represented in the "
        "drop-out cases. Fix the cause, not the place.",
        [place, cause],
    )


WASTE_COLUMNS = [
    Column("rank", "#", "int"),
    Column("activity", "activity"),
    Column("recommendation", "recommendation"),
    Column("waste_score", "waste score", "num"),
    Column("whatif_scope", "what-if removes"),
    Column("whatif_cases_affected", "cases affected", "int"),
    Column("whatif_mean_throughput_s_saved", "throughput saved per case", "dur"),
    Column("whatif_hours_saved_per_month", "case-hours saved / month", "int"),
    Column("whatif_mots_saved_per_case", "moments saved per case", "num"),
    Column("whatif_variants_before", "variants before", "int"),
    Column("whatif_variants_after", "variants after", "int"),
]


def _why(r: dict) -> str:
    """The explanation of a waste row, with the rule that decided its recommendation."""
    text = (r.get("explanation") or "").rstrip(". ")
    reason = r.get("reason")
    merge = f" Merge into: {r['merge_into']}." if r.get("merge_into") else ""
    return f"{text}. Recommendation '{r['recommendation']}' because {reason}.{merge}" if reason else text


def waste_section(ctx: Context) -> Section:
    """Removal candidates with explanations, what-if savings and the score components."""
    figure = Figure("removal-candidates", "Removal candidates")
    waste = ctx.get("waste")
    components = Figure("waste-components", "What the waste score is made of")
    if _use(figure, waste):
        candidates = [r for r in waste.rows if r["recommendation"] != "keep"]
        figure.stats = [
            stat(
                "removal_candidates", "steps to remove", sum(1 for r in candidates if r["recommendation"] == "remove")
            ),
            stat(
                "changes",
                "steps to change (merge, automate, fix)",
                sum(1 for r in candidates if r["recommendation"] != "remove"),
            ),
            stat(
                "hours_saved",
                "case-hours saved / month by removing them",
                sum(r["whatif_hours_saved_per_month"] or 0 for r in candidates if r["recommendation"] == "remove"),
            ),
        ]
        if candidates:
            figure.tables.append(
                table(
                    "removal-candidates",
                    candidates,
                    WASTE_COLUMNS,
                    note="What-if: the log replayed without the step (scope 'all') or without its redo cycles ('repeats'); "
                    "throughput saved is the mean over all cases.",
                    detail=_why,
                    detail_label="why",
                )
            )
            chart = charts.savings_chart(candidates)
            if chart:
                figure.svg, figure.caption = chart.svg, chart.description
        else:
            figure.empty = "No activity is recommended for removal or change."
        components.sources.append(waste.source)
        chart = charts.waste_chart(waste.rows)
        components.svg, components.caption = chart.svg, chart.description
        components.tables.append(
            table(
                "waste-all",
                waste.rows,
                [*WASTE_COLUMNS[:4], *(Column(key, label, "num") for key, label in charts.COMPONENTS)],
                note="Every activity, most wasteful first; components from 0 (fine) to 1 (wasteful), n/a = not measurable.",
                detail=_why,
                detail_label="why",
            )
        )
    else:
        components.missing = list(figure.missing)
        components.sources.append(waste.source)
    return Section(
        "waste",
        "Removal candidates",
        "Steps that add little for the customer and cost time, effort or hand-offs, scored and ranked with the evidence. "
        "Remove what adds little; make the remaining moments of truth excellent.",
        [figure, components],
    )


def models_section(ctx: Context) -> Section:
    """Fitness and precision of the discovered models."""
    figure = Figure("model-quality", "Model quality")
    models = ctx.get("models")
    if _use(figure, models):
        for r in models.rows:
            figure.stats.append(stat(f"fitness_{r['algorithm']}", f"{r['algorithm']} fitness", r["fitness"], "num3"))
            figure.stats.append(
                stat(f"precision_{r['algorithm']}", f"{r['algorithm']} precision", r["precision"], "num3")
            )
        figure.tables.append(
            table(
                "models",
                models.rows,
                [
                    Column("algorithm", "algorithm"),
                    Column("fitness", "fitness (log)", "num3"),
                    Column("avg_trace_fitness", "mean trace fitness", "num3"),
                    Column("fit_cases_share", "cases that fit", "pct"),
                    Column("precision", "precision", "num3"),
                    Column("n_transitions", "transitions", "int"),
                    Column("n_places", "places", "int"),
                ],
            )
        )
    return Section(
        "models",
        "Model quality",
        "Fitness: how much of the behaviour in the log the model can replay (1 = all). Precision: how little behaviour the "
        "model allows that the log never shows (1 = none). Both by token-based replay (pm4py). imf is the Inductive Miner "
        "infrequent (the as-is BPMN is drawn from it), heuristics the Heuristics Miner.",
        [figure],
    )


def review_section(ctx: Context) -> Section:
    """Activities no moment-of-truth rule decided."""
    figure = Figure("undecided", "Activities no rule decided")
    result = ctx.get("undecided")
    if _use(figure, result):
        figure.tables.append(
            table(
                "undecided",
                result.rows,
                [
                    Column("activity", "activity"),
                    Column("n_events", "events", "int"),
                    Column("undecided_share", "undecided share", "pct"),
                    Column("is_moment_of_truth", "counted as moment of truth", "bool"),
                    Column("rules", "rules that decided the rest"),
                ],
                note="Add a rule under moments.marking.rules in the config to decide them; moments_review.csv lists them too.",
            )
        )
    elif not result.missing:
        figure.empty = "Every event of every activity was decided by a rule: nothing to review."
    figure.stats = [stat("undecided", "activities to review", len(result.rows))] if not result.missing else []
    return Section(
        "review",
        "For review: undecided activities",
        "Activities with events that no moment-of-truth rule marked as customer-facing or internal. Undecided events are "
        "not counted as moments of truth until a rule decides them.",
        [figure],
    )


SECTIONS = (
    summary_section,
    map_section,
    bpmn_section,
    journey_section,
    knock_on_section,
    dropout_section,
    waste_section,
    models_section,
    review_section,
)


def build_sections(
    reader: Reader, process: str, processes: list[str], out_dir: Path, viewer: Viewer | None
) -> tuple[list[Section], list[str]]:
    """Every section of the report of ``process`` and the key findings."""
    ctx = Context(reader, process, processes, Path(out_dir), viewer)
    sections = [make(ctx) for make in SECTIONS]
    return sections, findings(ctx)
