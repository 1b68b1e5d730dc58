"""The summary section: the process in numbers, data quality and the most frequent variants."""

from __future__ import annotations

from mining.report.context import Context
from mining.report.page import Column, Figure, Section, stat, table, use_result


def summary_section(ctx: Context) -> Section:
    """Cases, events, period and data quality."""
    size = Figure("summary", "The process in numbers")
    if use_result(size, ctx.get("summary")):
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
    if use_result(quality, loads, "loads"):
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
                    Column("rows_new", "new", "int"),
                    Column("rows_updated", "updated in place", "int"),
                    Column("rows_deleted", "deleted", "int"),
                    Column("rows_quarantined", "quarantined", "int"),
                    Column("n_failed", "failed loads", "int"),
                    Column("last_error", "last error"),
                    Column("notes", "notes"),
                ],
            )
        )
    reasons = ctx.get("quarantine")
    if use_result(quality, reasons, "quarantine"):
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
    if use_result(variants, ctx.get("variants")):
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
