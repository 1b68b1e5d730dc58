"""Property-based fuzzing (hypothesis) of the CSV and XES readers and the config loader.

Two kinds of property: what is written correctly is read back exactly (round trips), and whatever
bytes arrive, a reader either returns a table or raises SourceError (the config loader: a config
or ConfigError) — never another exception, a crash or a hang — and a table it returns loads with
loaded + quarantined = read. Example counts are modest (the suite runs on two cores in CI).
"""

from __future__ import annotations

import csv
import gzip
import io
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import quoteattr

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mining.config import ConfigError, ProjectConfig, load_config, parse_config
from mining.sources import SourceError
from mining.sources.delimited import read_csv
from mining.sources.xes import read_xes
from mining.warehouse import connect
from mining.warehouse.load import load_batch

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text as it appears in logs: any printable character, the CSV and XML specials among them.
SPECIALS = ",;|\t\"'<>&= \n"
TEXT = st.text(
    alphabet=st.one_of(st.characters(blacklist_categories=("Cs", "Cc")), st.sampled_from(SPECIALS)),
    max_size=12,
)
# XML attribute values are normalised (a line break or tab reads as a space), so XES text has none.
XES_TEXT = st.text(
    alphabet=st.one_of(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), st.sampled_from(",;|\"'<>&= ")),
    min_size=1,
    max_size=12,
)


def scratch(name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix="mot-fuzz-")) / name


def load_balances(table) -> None:
    """A table a reader returned loads, and every row is loaded or quarantined."""
    con = connect(":memory:")
    try:
        result = load_batch(con, table, process="p", source="s", location="fuzz")
        assert result.rows_loaded + result.rows_quarantined == result.rows_read == table.num_rows
        counts = con.execute("SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM quarantine)").fetchall()
        assert counts == [(result.rows_new, result.rows_quarantined)]
    finally:
        con.close()


# --- CSV -------------------------------------------------------------------------------------------


@FUZZ
@given(
    rows=st.lists(st.tuples(TEXT, TEXT, TEXT, TEXT), min_size=1, max_size=8),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    line_end=st.sampled_from(["\n", "\r\n"]),
)
def test_csv_written_by_a_csv_writer_reads_back_exactly(rows, delimiter, line_end):
    path = scratch("log.csv")
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, delimiter=delimiter, lineterminator=line_end, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(["case_id", "activity", "timestamp", "note"])
        writer.writerows(rows)
    table = read_csv(path)
    assert "__reason" not in table.column_names
    got = list(zip(*(table.column(c).to_pylist() for c in ("case_id", "activity", "ts", "note")), strict=True))
    # An empty field reads as NULL; everything else exactly as written.
    assert got == [tuple(None if v == "" else v for v in row) for row in rows]
    load_balances(table)


@FUZZ
@given(body=st.binary(max_size=400), compress=st.booleans())
def test_csv_from_arbitrary_bytes_is_a_table_or_a_clear_error(body, compress):
    data = b"case_id,activity,timestamp\n" + body
    path = scratch("log.csv.gz" if compress else "log.csv")
    path.write_bytes(gzip.compress(data) if compress else data)
    try:
        table = read_csv(path)
    except SourceError as exc:
        assert str(exc).startswith(str(path))
        return
    load_balances(table)


@FUZZ
@given(text=st.text(alphabet=st.sampled_from('ab,;|\t"\n\r '), max_size=200))
@example(text=' "\r"')  # found at 400 examples: a lone CR in a rejected line broke its message
def test_csv_made_of_delimiters_quotes_and_line_breaks(text):
    path = scratch("log.csv")
    path.write_text("case_id,activity,timestamp\n" + text, encoding="utf-8")
    try:
        table = read_csv(path)
    except SourceError as exc:
        assert str(exc).startswith(str(path))
        return
    load_balances(table)


# --- XES -------------------------------------------------------------------------------------------

MOMENTS = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)  # XES times carry milliseconds
)
OFFSETS = st.integers(min_value=-14 * 4, max_value=14 * 4).map(lambda q: timezone(timedelta(minutes=15 * q)))
EVENT = st.tuples(XES_TEXT, MOMENTS, OFFSETS)
TRACES = st.lists(st.tuples(XES_TEXT, st.lists(EVENT, min_size=1, max_size=4)), min_size=1, max_size=5)


def xes(traces) -> str:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0">']
    for case, trace_events in traces:
        parts.append(f'<trace><string key="concept:name" value={quoteattr(case)}/>')
        for activity, moment, offset in trace_events:
            stamp = moment.replace(tzinfo=offset).isoformat(timespec="milliseconds")
            parts.append(
                f'<event><string key="concept:name" value={quoteattr(activity)}/>'
                f'<date key="time:timestamp" value="{stamp}"/></event>'
            )
        parts.append("</trace>")
    parts.append("</log>\n")
    return "\n".join(parts)


@FUZZ
@given(traces=TRACES, compress=st.booleans())
def test_xes_written_correctly_reads_back_exactly(traces, compress):
    path = scratch("log.xes.gz" if compress else "log.xes")
    text = xes(traces).encode("utf-8")
    path.write_bytes(gzip.compress(text) if compress else text)
    table = read_xes(path)
    got = list(zip(*(table.column(c).to_pylist() for c in ("case_id", "activity", "ts")), strict=True))
    expected = [
        (case, activity, moment.replace(tzinfo=offset).astimezone(UTC))
        for case, trace_events in traces
        for activity, moment, offset in trace_events
    ]
    assert [(c, a, t.to_pydatetime()) for c, a, t in got] == expected
    load_balances(table)


SEED = xes(
    [
        ("c1", [("A", datetime(2024, 1, 1, 10), UTC), ("B & C", datetime(2024, 1, 1, 11), UTC)]),
        ("c2", [("A", datetime(2024, 1, 2), UTC)]),
    ]
)


@FUZZ
@given(
    edits=st.lists(
        st.tuples(
            st.sampled_from(["delete", "insert", "replace"]),
            st.integers(0, len(SEED)),
            st.binary(min_size=1, max_size=8),
        ),
        min_size=1,
        max_size=4,
    )
)
# Found by this test on 2026-12-07: every trace's concept:name damaged, so the case ids came back as
# Arrow's null type and the duplicate-trace check crashed instead of the clear error.
@example(
    edits=[("delete", 0, b"\x00"), ("delete", 357, b"\x00"), ("delete", 70, b"\x00"), ("delete", 357, b"\x00" * 8)]
)
def test_damaged_xes_is_a_table_or_a_clear_error(edits):
    data = bytearray(SEED.encode())
    for operation, at, chunk in edits:
        at = min(at, len(data))
        if operation == "delete":
            del data[at : at + len(chunk)]
        elif operation == "insert":
            data[at:at] = chunk
        else:
            data[at : at + len(chunk)] = chunk
    path = scratch("log.xes")
    path.write_bytes(bytes(data))
    try:
        table = read_xes(path)
    except SourceError as exc:
        assert str(exc).startswith(str(path))
        return
    load_balances(table)


# --- config ----------------------------------------------------------------------------------------

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=10))
KEYS = st.one_of(
    st.sampled_from(
        [
            "project",
            "timezone",
            "sources",
            "discovery",
            "moments",
            "name",
            "kind",
            "path",
            "process",
            "mappings",
            "sql",
            "columns",
            "delimiter",
            "conn_id",
            "schedule",
            "algorithms",
            "case_id",
        ]
    ),
    st.text(max_size=8),
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5), max_leaves=20
)


@FUZZ
@given(data=st.one_of(VALUES, st.dictionaries(KEYS, VALUES, max_size=6)))
def test_any_config_data_is_a_config_or_a_config_error(data):
    try:
        config = parse_config(data, "fuzz.yaml")
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.yaml: ")
        return
    assert isinstance(config, ProjectConfig)


@FUZZ
@given(text=st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_any_config_file_is_a_config_or_a_config_error(text):
    path = scratch("mot.yaml")
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    try:
        load_config(path)
    except ConfigError as exc:
        assert str(exc).startswith(str(path))


NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True)
FILE_SOURCE = st.fixed_dictionaries(
    {
        "name": NAMES,
        "kind": st.sampled_from(["xes", "csv", "parquet"]),
        "path": st.text(min_size=1, max_size=20).map(lambda p: "/" + p),
    },
    optional={
        "process": NAMES,
        "delimiter": st.sampled_from([",", ";"]),
        "schedule": st.sampled_from(["@daily", None, "0 6 * * *"]),
    },
)


@FUZZ
@given(
    sources=st.lists(FILE_SOURCE, max_size=4, unique_by=lambda s: s["name"]),
    zone=st.sampled_from(["UTC", "Europe/Amsterdam", "America/Sao_Paulo"]),
    noise=st.floats(0, 1),
)
def test_valid_configs_survive_a_round_trip_through_yaml(sources, zone, noise):
    data = {"project": "fuzz", "timezone": zone, "sources": sources, "discovery": {"imf_noise_threshold": noise}}
    config = parse_config(data)
    again = parse_config(yaml.safe_load(io.StringIO(yaml.safe_dump(config.model_dump(mode="json")))))
    assert again == config
