"""The SQL library on BPIC 2012: DFG and variants equal pm4py's exactly, and docs/sql.md shows the
real results of its five questions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mining import pipeline, shell, sqllib
from mining.warehouse import connect
from mining.warehouse.prepare import prepare_process

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
BPIC = REPO.parent / "shared" / "data" / "logs" / "bpic2012.xes.gz"
DOC = REPO / "docs" / "sql.md"


@pytest.fixture(scope="module")
def bpic(tmp_path_factory):
    """BPIC 2012 loaded and prepared (no model discovery: these tests need the tables only)."""
    assert BPIC.exists(), f"{BPIC} is missing: the shared real logs belong next to the repository"
    warehouse = tmp_path_factory.mktemp("queries-bpic") / "warehouse.duckdb"
    config = pipeline.config_for_log(BPIC)
    pipeline.ingest_source(warehouse, config, config.sources[0])
    prepare_process(warehouse, "bpic2012")
    con = connect(warehouse)
    sqllib.install_queries(con)
    yield con
    con.close()


@pytest.fixture(scope="module")
def pm4py_log():
    import pm4py

    return pm4py.read_xes(str(BPIC))


def test_dfg_equals_pm4py(bpic, pm4py_log):
    import pm4py

    dfg, starts, ends = pm4py.discover_dfg(pm4py_log)
    got = bpic.execute(
        "SELECT source_activity, target_activity, frequency FROM dfg WHERE process = 'bpic2012'"
    ).fetchall()
    assert {(a, b): n for a, b, n in got} == dict(dfg)
    assert len(got) == 125
    endpoints = bpic.execute(
        "SELECT endpoint, activity, n_cases FROM dfg_endpoints WHERE process = 'bpic2012'"
    ).fetchall()
    assert {a: n for e, a, n in endpoints if e == "start"} == dict(starts)
    assert {a: n for e, a, n in endpoints if e == "end"} == dict(ends)


def test_dfg_durations_equal_pm4py(bpic, pm4py_log):
    import pm4py

    performance = pm4py.discover_performance_dfg(pm4py_log)[0]
    got = {
        (a, b): (mean, median, low, high)
        for a, b, mean, median, low, high in bpic.execute(
            "SELECT source_activity, target_activity, mean_s, median_s, min_s, max_s FROM dfg WHERE process = 'bpic2012'"
        ).fetchall()
    }
    assert set(got) == set(performance)
    for edge, figures in performance.items():
        expected = (figures["mean"], figures["median"], figures["min"], figures["max"])
        assert got[edge] == pytest.approx(expected, abs=1e-3), edge  # timestamps have milliseconds


def test_variants_equal_pm4py(bpic, pm4py_log):
    import pm4py

    expected = pm4py.get_variants(pm4py_log)
    got = bpic.execute("SELECT activities, n_cases FROM variant_coverage WHERE process = 'bpic2012'").fetchall()
    assert {tuple(acts): n for acts, n in got} == dict(expected)
    assert len(got) == 4366
    # Same ids and ranks as the prepared variants table that discovery mines from.
    mismatched = bpic.execute(
        "SELECT count(*) FROM variant_coverage v FULL JOIN variants t USING (process, variant_id) "
        "WHERE v.rank IS DISTINCT FROM t.rank OR v.n_cases IS DISTINCT FROM t.n_cases"
    ).fetchall()
    assert mismatched == [(0,)]


def test_coverage_of_the_top_variants(bpic):
    rows = bpic.execute("SELECT rank, cumulative_share FROM top_variants('bpic2012', coverage := 0.5)").fetchall()
    assert rows[-1][1] >= 0.5 > rows[-2][1]


# --- docs/sql.md -------------------------------------------------------------------------------


def markdown_table(result: shell.Result) -> str:
    """A result as the markdown table docs/sql.md shows (numbers rounded to 3 decimals)."""

    def cell(value) -> str:
        if isinstance(value, float):
            value = round(value, 3)
        return shell.text_value(value).replace("|", "\\|")

    lines = ["| " + " | ".join(result.columns) + " |", "|" + "---|" * len(result.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in result.rows]
    return "\n".join(lines)


def doc_questions() -> list[tuple[str, str]]:
    """(sql, result table) for every question of docs/sql.md's BPIC 2012 section."""
    text = DOC.read_text("utf-8")
    section = text.split("## Five questions about BPIC 2012", 1)[1].split("\n## ", 1)[0]
    pattern = re.compile(r"```sql\n(.*?)```\n+Result:\n\n((?:\|[^\n]*\n)+)", re.S)
    return [(sql.strip(), table.strip()) for sql, table in pattern.findall(section)]


def test_the_doc_shows_five_questions():
    assert len(doc_questions()) == 5


@pytest.mark.parametrize("index", range(5))
def test_the_doc_shows_the_real_results(bpic, index):
    sql, table = doc_questions()[index]
    result = shell.execute(bpic, sql)[-1]
    assert markdown_table(result) == table
