"""Security: XML entities (XXE, entity expansion), credentials that never show up in any log,
output or warehouse file, and identifiers/values from config and data that stay data.

The credential tests use real servers: a PostgreSQL role and a MariaDB user created here with a
known password. The PostgreSQL server that CI runs trusts 127.0.0.1 (pg_hba ``trust``), so it
does not check that password; MariaDB does (``mysql_native_password``), so the MariaDB test also
shows that the password from the environment is the one used, and that a wrong one fails cleanly.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from mining.config import Source, parse_config
from mining.pipeline import ingest_source
from mining.sources import SourceError
from mining.sources.database import SourceUnavailable
from mining.sources.xes import read_xes
from mining.warehouse import connect

MOT = Path(sys.executable).with_name("mot")
SECRET_TEXT = "TOP-SECRET-XXE-CANARY-5c1f"
PASSWORD = "Mot-Pa55-w0rd-9e4b7c"  # distinctive, so that a search for it finds nothing else

XES_TAIL = """<log xes.version="1.0">
 <trace><string key="concept:name" value="c1"/>
  <event><string key="concept:name" value="A {ref}"/><date key="time:timestamp" value="2024-01-01T10:00:00Z"/></event>
 </trace>
</log>
"""


def xxe_document(secret: Path) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<!DOCTYPE log [ <!ENTITY xxe SYSTEM "file://{secret}"> ]>\n' + XES_TAIL.format(ref="&xxe;")
    )


def laughs_document(levels: int = 9) -> str:
    lines = ['<!ENTITY lol0 "lol">']
    for i in range(1, levels + 1):
        lines.append(f'<!ENTITY lol{i} "' + f"&lol{i - 1};" * 10 + '">')
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE log [\n' + "\n".join(lines) + "\n]>\n" + XES_TAIL.format(ref=f"&lol{levels};")
    )


@pytest.fixture
def secret(tmp_path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET_TEXT + "\n")
    return path


def files_containing(folder: Path, needles: list[bytes]) -> list[str]:
    """Every file under ``folder`` whose bytes contain one of ``needles``."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path} holds {n!r}" for n in needles if n in data]
    return found


def warehouse_rows_containing(warehouse: Path, needle: str) -> list[str]:
    """Every table of the warehouse with a row whose text contains ``needle`` (DuckDB compresses
    strings on disk, so a byte search of the file alone could miss one)."""
    con = connect(warehouse, read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        return [
            t
            for t in tables
            if con.execute(
                f'SELECT count(*) FROM "{t}" AS r WHERE contains(CAST(r AS VARCHAR), ?)', [needle]
            ).fetchall()[0][0]
        ]
    finally:
        con.close()


# --- XML -----------------------------------------------------------------------------------------


def test_external_entity_is_refused_and_nothing_of_the_file_reaches_the_warehouse(tmp_path, secret):
    log = tmp_path / "xxe.xes"
    log.write_text(xxe_document(secret))
    warehouse = tmp_path / "warehouse.duckdb"
    with pytest.raises(SourceError, match=r"xxe\.xes: line 2: the document type declares entities"):
        ingest_source(warehouse, parse_config({}), Source(name="s", kind="xes", process="p", path=str(log)))
    assert files_containing(tmp_path, [SECRET_TEXT.encode()]) == [f"{secret} holds {SECRET_TEXT.encode()!r}"]
    assert warehouse_rows_containing(warehouse, SECRET_TEXT) == []


def test_rustxes_itself_does_not_resolve_external_entities(tmp_path, secret):
    # Below our own refusal: rustxes (quick-xml 0.37) has no DTD processing at all; the reference
    # stays text. Checked on the library directly, so that a change of rustxes shows up here.
    import rustxes

    log = tmp_path / "xxe.xes"
    log.write_text(xxe_document(secret))
    frame, _ = rustxes.import_xes(str(log))
    assert frame["concept:name"].to_list() == ["A &xxe;"]
    assert SECRET_TEXT not in str(frame.to_dicts())


def test_entity_expansion_is_refused_at_once(tmp_path):
    log = tmp_path / "laughs.xes"
    log.write_text(laughs_document())
    with pytest.raises(SourceError, match=r"laughs\.xes: line 2: the document type declares entities"):
        read_xes(log)


def test_rustxes_itself_does_not_expand_entities(tmp_path):
    # A billion laughs is 3 GB expanded: read under a 1 GB address-space limit in a child process.
    log = tmp_path / "laughs.xes"
    log.write_text(laughs_document())
    script = textwrap.dedent(
        f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        import rustxes
        frame, _ = rustxes.import_xes({str(log)!r})
        print(frame["concept:name"].to_list())
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "['A &lol9;']"


def test_entity_declarations_padded_past_the_prolog_are_still_refused(tmp_path, secret):
    padding = "<!-- " + "x" * 200_000 + " -->"
    text = xxe_document(secret).replace("<!DOCTYPE log [ ", f"<!DOCTYPE log [ {padding} ")
    log = tmp_path / "padded.xes"
    log.write_text(text)
    with pytest.raises(SourceError, match=r"padded\.xes: line 2: the document type declares entities"):
        read_xes(log)


def test_ocel_xml_with_an_external_entity_is_refused(tmp_path, secret):
    from mining.sources.ocel import read_ocel

    log = tmp_path / "orders.xmlocel"
    log.write_text(
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE log [ <!ENTITY xxe SYSTEM "file://{secret}"> ]>\n'
        '<log><object-types><object-type name="&xxe;"/></object-types></log>\n'
    )
    with pytest.raises(SourceError, match=r"orders\.xmlocel: line 2: the document type declares entities"):
        read_ocel(log, "order")


def test_doctype_without_declarations_is_fine(tmp_path):
    log = tmp_path / "doctype.xes"
    log.write_text('<?xml version="1.0"?>\n<!DOCTYPE log>\n' + XES_TAIL.format(ref="x"))
    assert read_xes(log).column("activity").to_pylist() == ["A x"]


# --- credentials -----------------------------------------------------------------------------------

CASES = [
    (f"c{i}", activity, f"2024-01-{1 + i % 28:02d} {hour:02d}:00:00")
    for i in range(40)
    for hour, activity in ((9, "submit"), (11, "review"), (15, "decide"))
]


def mapping(table: str = "history") -> dict:
    return {"name": "history", "sql": f"SELECT case_id, activity, ts FROM {table}", "incremental_column": "ts"}


def write_config(folder: Path, kind: str, conn_id: str, mappings: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mot.yaml"
    source = {"name": "crm", "kind": kind, "process": "crm", "conn_id": conn_id, "mappings": mappings}
    path.write_text(yaml.safe_dump({"project": "secrets", "sources": [source]}))
    return path


def mot(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    full = {**os.environ, **env, "MOT_SOURCE_RETRIES": "1", "MOT_SOURCE_RETRY_DELAY_SECONDS": "0.1", "COLUMNS": "200"}
    return subprocess.run([str(MOT), *args], env=full, cwd=cwd, capture_output=True, text=True, timeout=600)


def needles(password: str) -> list[bytes]:
    return sorted({password.encode(), quote(password, safe="").encode()})


@pytest.fixture(scope="module")
def postgres_crm(postgres):
    """A database owned by a login role with a known password; the role is dropped afterwards."""
    role = f"mot_secret_{os.getpid()}"
    with postgres.database("mot_secret") as admin_uri:
        postgres.execute(postgres.admin_uri, f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'")
        try:
            postgres.execute(admin_uri, "CREATE TABLE history (case_id TEXT, activity TEXT, ts TIMESTAMP)")
            for row in CASES:
                postgres.execute(admin_uri, "INSERT INTO history VALUES (%s, %s, %s)", row)
            postgres.execute(admin_uri, f"GRANT SELECT ON history TO {role}")
            database = admin_uri.rsplit("/", 1)[1]
            yield f"postgresql://{role}:{quote(PASSWORD, safe='')}@127.0.0.1:5432/{database}"
        finally:
            postgres.execute(admin_uri, f"REVOKE ALL ON history FROM {role}")
            postgres.execute(postgres.admin_uri, f"DROP ROLE IF EXISTS {role}")


def test_postgres_password_never_appears_in_logs_outputs_or_the_warehouse(tmp_path, postgres_crm):
    runs = {}
    good = write_config(tmp_path / "good", "postgres", "crm_pg", [mapping()])
    env = {"MOT_CONN_CRM_PG": postgres_crm}
    runs["success"] = mot(["run", "--config", str(good), "--out", str(tmp_path / "out")], env, tmp_path)
    assert runs["success"].returncode == 0, runs["success"].stderr[-3000:]
    con = connect(tmp_path / "out" / "warehouse.duckdb", read_only=True)
    assert con.execute("SELECT count(*) FROM events").fetchall() == [(len(CASES),)]
    con.close()
    # Failures print errors, which must not carry the URI either.
    bad_sql = write_config(tmp_path / "bad_sql", "postgres", "crm_pg", [mapping("no_such_table")])
    runs["bad_sql"] = mot(["run", "--config", str(bad_sql), "--out", str(tmp_path / "out_bad_sql")], env, tmp_path)
    down = {"MOT_CONN_CRM_PG": postgres_crm.replace(":5432/", f":{closed_port()}/")}
    runs["down"] = mot(["run", "--config", str(good), "--out", str(tmp_path / "out_down")], down, tmp_path)
    assert 'relation "no_such_table" does not exist' in runs["bad_sql"].stderr
    assert "does not answer" in runs["down"].stderr and "gave up after 2 attempts" in runs["down"].stderr
    for name in ("bad_sql", "down"):
        assert runs[name].returncode == 2, (name, runs[name].stderr[-2000:])
        errors = [line for line in runs[name].stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and errors[0].startswith("error: source 'crm'"), (name, runs[name].stderr[-2000:])
    # The Airflow side: the same tasks the DAGs run, with the URI handed in as the DAG does and
    # every log record of every library written to a file at DEBUG level.
    dag_log = tmp_path / "dag.log"
    script = textwrap.dedent(
        f"""
        import logging, os
        logging.basicConfig(filename={str(dag_log)!r}, level=logging.DEBUG)
        from mining import orchestration as mot
        items = mot.plan("crm")
        staged = [mot.extract("crm", item, uri=os.environ["CRM_URI"], run_id="scheduled__2024") for item in items]
        print(mot.load("crm", staged))
        print(mot.merge(mot.analyse(mot.snapshot("crm"))))
        """
    )
    dag_env = {**os.environ, "MOT_CONFIG": str(good), "MOT_OUT": str(tmp_path / "out_dag"), "CRM_URI": postgres_crm}
    runs["dag"] = subprocess.run(
        [sys.executable, "-c", script], env=dag_env, capture_output=True, text=True, timeout=300
    )
    assert runs["dag"].returncode == 0, runs["dag"].stderr[-3000:]
    assert f"'rows_new': {len(CASES)}" in runs["dag"].stdout
    for name, done in runs.items():
        for needle in needles(PASSWORD):
            assert needle.decode() not in done.stdout + done.stderr, name
    # Nothing: not the configs, outputs, staged extracts, warehouses, WAL files, lock files, logs.
    assert files_containing(tmp_path, needles(PASSWORD)) == []
    assert dag_log.exists()
    for warehouse in sorted(tmp_path.rglob("warehouse.duckdb")):
        assert warehouse_rows_containing(warehouse, PASSWORD) == [], warehouse


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def mariadb_crm(mariadb):
    """A MariaDB database and a user with a known password (MariaDB checks it)."""
    user = f"mot_secret_{os.getpid()}"
    with mariadb.database("mot_secret") as admin_uri:
        database = admin_uri.rsplit("/", 1)[1]
        mariadb.execute(admin_uri, "CREATE TABLE history (case_id VARCHAR(20), activity VARCHAR(20), ts DATETIME)")
        for row in CASES:
            mariadb.execute(admin_uri, "INSERT INTO history VALUES (%s, %s, %s)", row)
        mariadb.execute(admin_uri, f"CREATE USER '{user}'@'%' IDENTIFIED BY '{PASSWORD}'")
        try:
            mariadb.execute(admin_uri, f"GRANT SELECT ON {database}.* TO '{user}'@'%'")
            yield f"mysql://{user}:{quote(PASSWORD, safe='')}@127.0.0.1:3306/{database}"
        finally:
            mariadb.execute(admin_uri, f"DROP USER IF EXISTS '{user}'@'%'")


def test_mariadb_uses_the_password_from_the_environment_and_never_shows_it(tmp_path, mariadb_crm):
    config = parse_config(
        {"sources": [{"name": "crm", "kind": "mysql", "process": "crm", "conn_id": "crm_my", "mappings": [mapping()]}]}
    )
    source = config.sources[0]
    warehouse = tmp_path / "warehouse.duckdb"
    wrong = mariadb_crm.replace(quote(PASSWORD, safe=""), "Not-" + PASSWORD[4:])
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MOT_CONN_CRM_MY", wrong)
        env.setenv("MOT_SOURCE_RETRIES", "2")  # a refused login is not retried: waiting cannot fix it
        with pytest.raises(SourceError) as err:
            ingest_source(warehouse, config, source)
        env.setenv("MOT_CONN_CRM_MY", mariadb_crm)
        results = ingest_source(warehouse, config, source)
    message = str(err.value)
    assert message.startswith("source 'crm', mapping 'history': the query failed:") and "Access denied" in message
    assert not isinstance(err.value, SourceUnavailable) and "gave up" not in message
    assert PASSWORD[4:] not in message and PASSWORD not in message
    assert [(r.rows_read, r.rows_loaded) for r in results] == [(len(CASES), len(CASES))]
    assert files_containing(tmp_path, needles(PASSWORD)) == []
    assert warehouse_rows_containing(warehouse, PASSWORD) == []
