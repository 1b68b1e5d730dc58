"""Writers for the corpus: XES (hand-written, standard keys) and CSV (warehouse column names).

XES is written by hand rather than with ``pm4py.write_xes``: pm4py 2.7.23 exports through rustxes,
which wrote tz-aware UTC timestamps as 1970 dates when this corpus was built. The file written here
is read back by ``pm4py.read_xes`` (both its rustxes default and the ``iterparse`` variant) and by
``rustxes.import_xes``; tests/test_corpus.py checks all three.

Key mapping: case_id -> trace ``concept:name``; activity -> ``concept:name``; ts -> ``time:timestamp``;
resource -> ``org:resource``; lifecycle -> ``lifecycle:transition``; start_ts -> ``start_timestamp``
(the key pm4py's interval logs use); other columns keep their names, typed int / float / boolean /
date / string from the column dtype. Missing values are left out of the event.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import pandas as pd

XES_KEYS = {
    "activity": "concept:name",
    "ts": "time:timestamp",
    "resource": "org:resource",
    "lifecycle": "lifecycle:transition",
    "start_ts": "start_timestamp",
}
_HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<log xes.version="1.0" xes.features="nested-attributes" xmlns="http://www.xes-standard.org/">\n'
    '  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>\n'
    '  <extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>\n'
    '  <extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>\n'
    '  <extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>\n'
    '  <classifier name="Activity" keys="concept:name"/>\n'
    '  <classifier name="Activity and lifecycle" keys="concept:name lifecycle:transition"/>\n'
)


def _typed(column: pd.Series) -> tuple[str, list[str | None]]:
    """The XES type of a column and its values as attribute strings (None when missing)."""
    missing = column.isna().to_numpy()
    if isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(column):
        utc = column.dt.tz_convert("UTC") if isinstance(column.dtype, pd.DatetimeTZDtype) else column
        text = utc.dt.strftime("%Y-%m-%dT%H:%M:%S.000+00:00")
        kind = "date"
    elif pd.api.types.is_bool_dtype(column):
        text, kind = column.map(lambda v: "true" if v else "false"), "boolean"
    elif pd.api.types.is_integer_dtype(column):
        text, kind = column.astype("string"), "int"
    elif pd.api.types.is_float_dtype(column):
        text, kind = column.map(repr), "float"
    else:
        text, kind = column.astype("string"), "string"
    values = text.tolist()
    return kind, [None if m else v for m, v in zip(missing, values, strict=True)]


def xes_text(frame: pd.DataFrame) -> str:
    """The log as XES text; events of a case in frame order, cases in order of first appearance."""
    columns = [c for c in frame.columns if c != "case_id"]
    typed = {c: _typed(frame[c]) for c in columns}
    keys = {c: quoteattr(XES_KEYS.get(c, c)) for c in columns}
    parts = [_HEADER]
    cases = frame["case_id"].astype(str).tolist()
    previous = None
    for n, case in enumerate(cases):
        if case != previous:
            if previous is not None:
                parts.append("  </trace>\n")
            parts.append(f'  <trace>\n    <string key="concept:name" value={quoteattr(case)}/>\n')
            previous = case
        parts.append("    <event>\n")
        for c in columns:
            kind, values = typed[c]
            v = values[n]
            if v is not None:
                parts.append(f"      <{kind} key={keys[c]} value={quoteattr(v)}/>\n")
        parts.append("    </event>\n")
    if previous is not None:
        parts.append("  </trace>\n")
    parts.append("</log>\n")
    return "".join(parts)


def write_xes(frame: pd.DataFrame, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(xes_text(frame), encoding="utf-8")
    return path


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """CSV with the warehouse column names; timestamps as ISO 8601 with an explicit +00:00."""
    path = Path(path)
    out = frame.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.DatetimeTZDtype):
            out[c] = out[c].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    out.to_csv(path, index=False, lineterminator="\n")
    return path
