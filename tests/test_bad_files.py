"""Files that attack the readers (issue 17): config paths leading out of their folder, errors that
would echo a file's data, decompression bombs and huge fields, invalid UTF-8 in Parquet, YAML that
names no file or gives a key twice.

Every input is generated here, in tmp_path; loads go through ``ingest_source`` as a pipeline run
does, and a load that succeeds keeps loaded + quarantined = read.
"""

from __future__ import annotations

import gzip
import json
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mining.config import ColumnMap, ConfigError, Source, load_config, parse_config
from mining.pipeline import config_for_log, ingest_source
from mining.sources import SourceError, extract_item, files
from mining.warehouse import connect

ROOT = Path(__file__).resolve().parents[1]
SECRET = "hunter2-Very-Secret"
HEADER = "case_id,activity,timestamp\n"
ROWS = "c1,A,2024-01-01T10:00:00Z\nc1,B,2024-01-01T11:00:00Z\n"


def write_config(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "project.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def csv_source_config(path: str, extra: str = "", **keys: str) -> str:
    settings = "".join(f"    {k}: {json.dumps(v)}\n" for k, v in keys.items())
    return f"{extra}sources:\n  - name: s\n    kind: csv\n    process: p\n    path: {json.dumps(path)}\n{settings}"


def ingest(tmp_path: Path, source: Source):
    """Load ``source`` into a fresh warehouse; check loaded + quarantined = read; return the connection."""
    warehouse = tmp_path / "warehouse.duckdb"
    results = ingest_source(warehouse, parse_config({}), source)
    for r in results:
        assert r.rows_loaded + r.rows_quarantined == r.rows_read
    con = connect(warehouse)
    (read, loaded, quarantined, kept) = con.execute(
        "SELECT sum(rows_read), sum(rows_loaded), sum(rows_quarantined), (SELECT count(*) FROM quarantine) "
        "FROM load_audit WHERE status = 'committed'"
    ).fetchone()
    assert loaded + quarantined == read and kept == quarantined
    return con


def refused(tmp_path: Path, source: Source, match: str) -> str:
    """Loading ``source`` fails with ``match``; nothing of it is in the warehouse. Returns the message."""
    warehouse = tmp_path / "warehouse.duckdb"
    with pytest.raises(SourceError, match=match) as caught:
        ingest_source(warehouse, parse_config({}), source)
    con = connect(warehouse)
    try:
        assert con.execute("SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM quarantine)").fetchone() == (
            0,
        )
    finally:
        con.close()
    return str(caught.value)


# --- defect 2: config paths stay in the config's folder (or allowed_roots) ----------------------------


def test_a_config_path_leading_out_of_its_folder_is_refused_without_reading_it(tmp_path):
    # Today: /etc/passwd read with delimiter ':' and its first line printed in the error.
    secrets = tmp_path / "deploy" / "airflow.env"
    secrets.parent.mkdir()
    secrets.write_text(f"AIRFLOW_PASSWORD={SECRET}\n")
    project = tmp_path / "projects" / "loans"
    for path, delimiter in (("../../deploy/airflow.env", "="), ("../../../../../../../../etc/passwd", ":")):
        config = write_config(project, csv_source_config(path, delimiter=delimiter))
        with pytest.raises(ConfigError, match=r"sources\.0\.path: .* is outside the config's folder") as caught:
            load_config(config)
        assert SECRET not in str(caught.value) and "root:" not in str(caught.value)
    # An absolute path outside is refused as well.
    config = write_config(project, csv_source_config(str(secrets), delimiter="="))
    with pytest.raises(ConfigError, match="allowed_roots"):
        load_config(config)


def test_a_symlink_inside_the_folder_pointing_out_is_outside(tmp_path):
    (tmp_path / "outside.csv").write_text(HEADER + ROWS)
    project = tmp_path / "project"
    project.mkdir()
    (project / "log.csv").symlink_to(tmp_path / "outside.csv")
    with pytest.raises(ConfigError, match="outside the config's folder"):
        load_config(write_config(project, csv_source_config("log.csv")))
    # A drop folder that passes when the config is loaded, then gets a link placed in it.
    drops = project / "drops"
    drops.mkdir()
    (drops / "good.csv").write_text(HEADER + ROWS)
    source = load_config(write_config(project, csv_source_config("drops"))).sources[0]
    assert files(source) == [str(drops / "good.csv")]
    (drops / "planted.csv").symlink_to(tmp_path / "outside.csv")
    with pytest.raises(SourceError, match=r"planted\.csv is outside the config's folder"):
        files(source)
    # A work item name handed to an extract task that the config never listed.
    with pytest.raises(SourceError, match="outside the config's folder"):
        extract_item(source, str(tmp_path / "outside.csv"))


def test_allowed_roots_let_a_config_read_elsewhere_and_the_command_line_log_is_allowed(tmp_path):
    shared = tmp_path / "shared" / "logs"
    shared.mkdir(parents=True)
    (shared / "log.csv").write_text(HEADER + ROWS)
    project = tmp_path / "project"
    config = write_config(project, csv_source_config(str(shared / "log.csv"), "allowed_roots: [../shared]\n"))
    source = load_config(config).sources[0]
    assert extract_item(source, source.path).table.num_rows == 2
    # `mot run LOG --config`: the log given by the user is read wherever it is; the config's own
    # paths stay confined.
    elsewhere = tmp_path / "elsewhere.csv"
    elsewhere.write_text(HEADER + ROWS)
    inside = write_config(project, csv_source_config("log.csv"))
    (project / "log.csv").write_text(HEADER + ROWS)
    run_config = config_for_log(elsewhere, inside)
    (source,) = run_config.sources
    assert source.path == str(elsewhere) and extract_item(source, source.path).table.num_rows == 2


def test_the_command_line_refuses_a_config_path_outside_and_shows_no_secret(tmp_path):
    secrets = tmp_path / "airflow.env"
    secrets.write_text(f"PASSWORD={SECRET}\n")
    config = write_config(tmp_path / "project", csv_source_config("../airflow.env", delimiter="="))
    run = subprocess.run(
        [sys.executable, "-m", "mining.cli", "run", "--config", str(config), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert run.returncode == 2, run.stderr
    assert "is outside the config's folder" in run.stderr
    assert SECRET not in run.stdout + run.stderr


def test_errors_about_columns_do_not_echo_the_files_data(tmp_path):
    # Inside the folder, a file that is not a log: the errors say what to set, not what is in it.
    path = tmp_path / "settings.env"
    path.write_text(f"PASSWORD={SECRET}\nUSER=admin\n")
    source = Source(name="s", kind="csv", process="p", path=str(path), delimiter="=")
    message = refused(tmp_path, source, r"no column for case_id, activity, ts; .* the file has 2 column\(s\)")
    assert SECRET not in message and "PASSWORD" not in message
    path.write_text(f"PASSWORD;{SECRET}\n")
    source = Source(name="s", kind="csv", process="p", path=str(path), delimiter=",")
    message = refused(tmp_path, source, r"only one column found in the header \(\d+ characters, which hold ';'\)")
    assert SECRET not in message
    path.write_text(f"PASSWORD={SECRET}\n")
    mapped = source.model_copy(update={"delimiter": "=", "columns": ColumnMap(case_id="password", activity="x")})
    message = refused(tmp_path, mapped, r"column 'password' .* one differs only in case: 'PASSWORD'")
    assert SECRET not in message
    table = pa.table({"secret_" + SECRET: ["a"], "b": ["c"]})
    pq.write_table(table, tmp_path / "t.parquet")
    parquet = Source(name="s", kind="parquet", process="p", path=str(tmp_path / "t.parquet"))
    assert SECRET not in refused(tmp_path, parquet, r"the file has 2 column\(s\)")


# --- defect 6: decompression bombs and huge fields ----------------------------------------------------


def gzip_of_repeated(path: Path, head: bytes, byte: bytes, size: int, tail: bytes = b"") -> Path:
    """A gzip file of ``head``, ``size`` copies of ``byte`` and ``tail``, written in pieces."""
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(head)
        block = byte * (1 << 20)
        for _ in range(size >> 20):
            out.write(block)
        out.write(tail)
    return path


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_gzip_csv_whose_header_unpacks_to_400_mb_is_refused_early(tmp_path):
    # Today: a 400 KB .csv.gz with a 400 MB header took 11.6 GB and echoed the header.
    bomb = gzip_of_repeated(tmp_path / "bomb.csv.gz", b"case_id,", b"A", 400 << 20, b"\n" + ROWS.encode())
    assert bomb.stat().st_size < 1_000_000
    before = peak_rss_mb()
    source = Source(name="s", kind="csv", process="p", path=str(bomb))
    message = refused(tmp_path, source, r"bomb\.csv\.gz: (unpacks to more than 200 times|a line or value)")
    assert "AAAA" not in message
    assert peak_rss_mb() - before < 400  # streamed: never the whole header in memory


def test_a_gzip_xes_bomb_and_an_xml_value_past_the_field_limit_are_refused(tmp_path, monkeypatch):
    head = b'<?xml version="1.0" encoding="UTF-8"?>\n<log><trace><string key="concept:name" value="'
    bomb = gzip_of_repeated(tmp_path / "bomb.xes.gz", head, b"x", 300 << 20, b'"/></trace></log>\n')
    source = Source(name="s", kind="xes", process="p", path=str(bomb))
    refused(tmp_path, source, r"unpacks to more than 200 times its size .*MOT_MAX_COMPRESSION_RATIO")
    # Within the ratio, a total over MOT_MAX_DECOMPRESSED_BYTES is refused too.
    monkeypatch.setenv("MOT_MAX_DECOMPRESSED_BYTES", "1MB")
    refused(tmp_path, source, r"unpacks to more than 1,000,000 bytes; .*MOT_MAX_DECOMPRESSED_BYTES")
    monkeypatch.delenv("MOT_MAX_DECOMPRESSED_BYTES")
    # A value longer than the field limit, in plain XES.
    monkeypatch.setenv("MOT_MAX_FIELD_BYTES", "100KiB")
    plain = tmp_path / "long.xes"
    plain.write_bytes(head + b"y" * 200_000 + b'"/></trace></log>\n')
    refused(tmp_path, Source(name="s", kind="xes", process="p", path=str(plain)), r"longer than 102,400 bytes")


def test_a_csv_line_past_the_field_limit_is_refused_not_dropped(tmp_path, monkeypatch):
    # DuckDB drops a line far past its max_line_size without a reject row; refused before it reads.
    monkeypatch.setenv("MOT_MAX_FIELD_BYTES", "1MiB")
    path = tmp_path / "long.csv"
    path.write_text(HEADER + ROWS + "c2,A," + "9" * (3 << 20) + "\n" + ROWS)
    refused(tmp_path, Source(name="s", kind="csv", process="p", path=str(path)), r"longer than 1,048,576 bytes")
    # Under the limit it loads whole, as before.
    monkeypatch.setenv("MOT_MAX_FIELD_BYTES", "8MiB")
    path.write_text(HEADER + ROWS + f"c2,{'x' * (3 << 20)},2024-01-01\n")
    con = ingest(tmp_path, Source(name="s", kind="csv", process="p", path=str(path)))
    assert con.execute("SELECT count(*) FROM quarantine WHERE reason LIKE 'activity name longer%'").fetchone() == (1,)


def test_a_parquet_bomb_and_a_huge_parquet_value_are_refused_naming_the_limit(tmp_path, monkeypatch):
    # One 300 MB string of one letter: zstd packs it into a few KB.
    big = pa.array(["x" * (300 << 20)], pa.string())
    table = pa.table({"case_id": ["c1"], "activity": big, "timestamp": ["2024-01-01"]})
    pq.write_table(table, tmp_path / "bomb.parquet", compression="zstd")
    del table, big
    source = Source(name="s", kind="parquet", process="p", path=str(tmp_path / "bomb.parquet"))
    refused(tmp_path, source, r"bomb\.parquet: unpacks to more than 200 times its size")
    # Not packed so well, but past the field limit: refused naming the column.
    monkeypatch.setenv("MOT_MAX_FIELD_BYTES", "1000")
    noise = np.random.default_rng(1).integers(97, 123, 5000, dtype=np.uint8).tobytes().decode()
    pq.write_table(
        pa.table({"case_id": ["c1"], "activity": ["A"], "ts": ["2024-01-01"], "note": [noise]}), tmp_path / "n.parquet"
    )
    source = Source(name="s", kind="parquet", process="p", path=str(tmp_path / "n.parquet"))
    refused(tmp_path, source, r"column 'note' holds a value of 5,000 bytes, more than 1,000 \(MOT_MAX_FIELD_BYTES\)")


def test_dictionary_encoded_parquet_decoding_past_the_limit_is_refused(tmp_path, monkeypatch):
    # One label repeated 2 M times: a few KB on disk (dictionary + run-length), 60 MB decoded.
    label = pa.array(["a fairly long activity label, 26"]).take(pa.array(np.zeros(2_000_000, dtype=np.int64)))
    table = pa.table({"case_id": label, "activity": label, "ts": label})
    pq.write_table(table, tmp_path / "dict.parquet")
    assert (tmp_path / "dict.parquet").stat().st_size < 1_000_000
    monkeypatch.setenv("MOT_MAX_DECOMPRESSED_BYTES", "20MB")
    source = Source(name="s", kind="parquet", process="p", path=str(tmp_path / "dict.parquet"))
    refused(tmp_path, source, r"unpacks to more than 20,000,000 bytes")


def test_ocel_json_and_xml_with_a_value_past_the_field_limit_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("MOT_MAX_FIELD_BYTES", "100KiB")
    huge = "z" * 200_000
    document = {"objectTypes": [{"name": "order", "attributes": []}], "eventTypes": [], "objects": [], "events": []}
    document["objects"].append({"id": "o1", "type": "order", "attributes": [{"name": "n", "value": huge, "time": 0}]})
    (tmp_path / "log.jsonocel").write_text(json.dumps(document))
    source = Source(name="s", kind="ocel", process="p", path=str(tmp_path / "log.jsonocel"), ocel_object_type="order")
    message = refused(tmp_path, source, r"log\.jsonocel: a line or value .* longer than 102,400 bytes")
    assert "zzzz" not in message
    xml = f'<?xml version="1.0"?>\n<log><object-types><object-type name="{huge}"/></object-types></log>\n'
    (tmp_path / "log.xmlocel").write_text(xml)
    source = source.model_copy(update={"path": str(tmp_path / "log.xmlocel")})
    refused(tmp_path, source, r"log\.xmlocel: a line or value .* longer than 102,400 bytes")
    # Under the limit, the same JSON (a number where pm4py's Rust reader wants a string) is a clean
    # error: the reader's panic got past the error handling before.
    monkeypatch.delenv("MOT_MAX_FIELD_BYTES")
    source = source.model_copy(update={"path": str(tmp_path / "log.jsonocel")})
    message = refused(tmp_path, source, r"log\.jsonocel: not a readable OCEL 2\.0 file: PanicException: ")
    assert "zzzz" not in message


def test_bpic2012_still_loads_under_the_default_limits():
    log = Path("/work/shared/data/logs/bpic2012.xes.gz")
    source = Source(name="bpic", kind="xes", process="bpic", path=str(log))
    assert extract_item(source, str(log)).table.num_rows == 262_200


# --- defect 8: invalid UTF-8 in a Parquet string column -----------------------------------------------


def string_array_of_bytes(values: list[bytes]) -> pa.Array:
    """A pa.string() array holding exactly these bytes (pyarrow does not check them here)."""
    offsets = np.cumsum([0, *(len(v) for v in values)]).astype(np.int32)
    return pa.Array.from_buffers(
        pa.string(), len(values), [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(values))]
    )


def test_invalid_utf8_in_a_parquet_string_column_is_quarantined_by_row(tmp_path):
    # Today: a Python traceback and a DuckDB INTERNAL error.
    activity = string_array_of_bytes([b"A", b"B\xe9\xff", b"C"])
    note = string_array_of_bytes([b"ok", b"ok", b"bad \xc3"])
    table = pa.table(
        {"case_id": ["c1", "c1", "c2"], "activity": activity, "ts": ["2024-01-01T10:00:00Z"] * 3, "note": note}
    )
    pq.write_table(table, tmp_path / "bad.parquet")
    con = ingest(tmp_path, Source(name="s", kind="parquet", process="p", path=str(tmp_path / "bad.parquet")))
    assert con.execute("SELECT case_id, activity FROM events ORDER BY seq").fetchall() == [("c1", "A")]
    rows = con.execute("SELECT reason, raw FROM quarantine ORDER BY row_number").fetchall()
    assert [r[0] for r in rows] == [
        "not UTF-8 text in column(s) 'activity' (kept with \\x escapes)",
        "not UTF-8 text in column(s) 'note' (kept with \\x escapes)",
    ]
    assert json.loads(rows[0][1])["activity"] == "B\\xe9\\xff"


# --- YAML (defect 10, part) ---------------------------------------------------------------------------


def test_a_yaml_syntax_error_names_the_file(tmp_path):
    config = write_config(tmp_path, "project: x\nsources: [\n  {name: s\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert f'in "{config}", line' in str(caught.value) and "<unicode string>" not in str(caught.value)


def test_duplicate_yaml_keys_are_refused_with_key_and_line(tmp_path):
    text = "project: x\ndiscovery:\n  imf_noise_threshold: 0.2\n  imf_noise_threshold: 0.3\n"
    with pytest.raises(ConfigError, match=r"duplicate key 'imf_noise_threshold' \(first given on line 3\)") as caught:
        load_config(write_config(tmp_path, text))
    assert "line 4" in str(caught.value)
    with pytest.raises(ConfigError, match=r"duplicate key 'project'"):
        load_config(write_config(tmp_path, "{project: x, project: y}\n"))
    # A merge key overridden by the keys beside it is how anchors are used; still accepted.
    from mining.config import parse_yaml  # imported here: main has no parse_yaml, the rest runs there

    merged = "a: &b {x: 1, y: 2}\nc:\n  <<: *b\n  x: 3\n"
    assert parse_yaml(merged, "t.yaml") == {"a": {"x": 1, "y": 2}, "c": {"x": 3, "y": 2}}
