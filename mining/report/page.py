"""The page the template lays out: sections of figures, each with stats, tables and its sources.

Plain dataclasses that templates/report.html.j2 renders, and the helpers that fill them from the
rows of a report query (formatted by ``formats``). A part whose data is missing becomes a figure
with ``missing`` set; nothing here raises for missing data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mining.report.data import Result, Source
from mining.report.formats import FORMATS, raw


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


def use_result(figure: Figure, result: Result, what: str = "") -> bool:
    """Record ``result``'s source on ``figure``; note what is missing; True when it has rows."""
    figure.sources.append(result.source)
    if result.missing:
        figure.missing.append((what + ": " if what else "") + result.missing)
        return False
    return bool(result.rows)
