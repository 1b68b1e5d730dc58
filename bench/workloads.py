"""The benchmark workloads, built once into a work folder and reused while their parameters match.

- ``bpic2012``: the BPI Challenge 2012 log as published (262,200 events, 13,087 cases).
- ``bpic2012_x40``: BPIC2012 replicated 40 times (10,488,000 events). Copy 0 is the log as loaded;
  copy k >= 1 gets ``-k`` appended to every case id and its timestamps shifted by k times the
  log's span (rounded up to whole days), so the copies follow one another in time. Built inside
  DuckDB as a warehouse (our side starts from it) and written as Parquet with pm4py's column
  names (the pm4py side reads it with pandas).
- ``sample_1m``: the sample loan-origination business system (mining.sample_system) with
  1,000,000 applications in SQLite; both sides extract it with the mappings of
  ``mining/sample_system/demo.yaml``.
- ``long_trace``: one case of 200,000 events (CSV; activities cycling, one in four drawn at random):
  the memory and time budgets of issue 17. Only the end-to-end runs: peak RSS and time of `mot run`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from mining.config import ProjectConfig, Source, parse_config
from mining.pipeline import config_for_log
from mining.warehouse.sqlfiles import sql_file

ROOT = Path(__file__).resolve().parent.parent
LOGS = (ROOT / ".." / "shared" / "data" / "logs").resolve()
BPIC2012 = LOGS / "bpic2012.xes.gz"
BPIC_RULES = ROOT / "data" / "bpic2012_rules.yaml"
NAMES = ("bpic2012", "bpic2012_x40", "sample_1m", "long_trace")
LONG_TRACE_EVENTS = 200_000


@dataclass
class Workload:
    """One workload: what each side reads, and the config our pipeline runs with.

    ``kind`` is ``xes`` (both read the file), ``warehouse`` (ours starts from a built warehouse,
    pm4py from the Parquet copy) or ``sqlite`` (both extract the business database).
    """

    name: str
    kind: str
    process: str
    description: str
    xes: str | None = None
    parquet: str | None = None
    warehouse: str | None = None
    sqlite: str | None = None
    csv: str | None = None
    config_file: str | None = None
    events: int | None = None
    cases: int | None = None
    params: dict = field(default_factory=dict)
    only: list[str] = field(default_factory=list)  # the stages run on this workload (empty: all)

    def config(self) -> ProjectConfig:
        """The project config our pipeline runs this workload with."""
        if self.kind == "xes":
            return config_for_log(self.xes, self.config_file)
        if self.kind == "csv":
            return config_for_log(self.csv, self.config_file)
        if self.kind == "warehouse":
            base = config_for_log(BPIC2012, self.config_file)
            source = Source(name=self.process, kind="parquet", process=self.process, path=self.parquet)
            return base.model_copy(update={"sources": [source]})
        return sample_config(Path(self.sqlite))

    def to_json(self) -> dict:
        """The workload as recorded in the results."""
        return asdict(self)


def sample_config(database: Path) -> ProjectConfig:
    """The demo extraction config (mining/sample_system/demo.yaml) pointed at ``database``."""
    text = resources.files("mining.sample_system").joinpath("demo.yaml").read_text("utf-8")
    config = parse_config(yaml.safe_load(text), "mining/sample_system/demo.yaml")
    sources = [s.model_copy(update={"path": str(database.resolve())}) for s in config.sources]
    return config.model_copy(update={"sources": sources})


# --- manifest: rebuild only what changed --------------------------------------------------------


def _manifest_path(work: Path) -> Path:
    return work / "workloads.json"


def _read_manifest(work: Path) -> dict:
    path = _manifest_path(work)
    return json.loads(path.read_text("utf-8")) if path.exists() else {}


def _write_manifest(work: Path, manifest: dict) -> None:
    _manifest_path(work).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _cached(work: Path, name: str, params: dict, files: list[Path]) -> Workload | None:
    entry = _read_manifest(work).get(name)
    if entry and entry.get("params") == params and all(f.exists() for f in files):
        return Workload(**entry)
    return None


def _remember(work: Path, workload: Workload) -> Workload:
    manifest = _read_manifest(work)
    manifest[workload.name] = workload.to_json()
    _write_manifest(work, manifest)
    return workload


# --- builders ------------------------------------------------------------------------------------


def bpic2012(work: Path, say=print) -> Workload:
    """BPIC2012 as published; nothing to build."""
    if not BPIC2012.exists():
        raise FileNotFoundError(f"{BPIC2012}: the BPIC2012 log is missing (see ../shared/data/logs/README)")
    return Workload(
        name="bpic2012",
        kind="xes",
        process="bpic2012",
        description="BPIC2012 XES (262,200 events, 13,087 cases)",
        xes=str(BPIC2012),
        config_file=str(BPIC_RULES),
        events=262_200,
        cases=13_087,
    )


def bpic2012_replicated(work: Path, copies: int = 40, say=print) -> Workload:
    """BPIC2012 replicated ``copies`` times: a DuckDB warehouse and a Parquet file with the same events."""
    from mining.sources.xes import read_xes
    from mining.warehouse import connect, run_sql, scalar
    from mining.warehouse.load import load_batch

    name = f"bpic2012_x{copies}"
    warehouse, parquet = work / f"{name}.duckdb", work / f"{name}.parquet"
    params = {"copies": copies, "version": 1}
    cached = _cached(work, name, params, [warehouse, parquet])
    if cached:
        return cached
    say(f"building {name}: BPIC2012 x {copies} in DuckDB, then Parquet")
    for stale in (warehouse, Path(str(warehouse) + ".wal"), parquet):
        stale.unlink(missing_ok=True)
    con = connect(warehouse)
    try:
        load_batch(con, read_xes(BPIC2012), process=name, source=name, location=f"{BPIC2012} (copy 0)")
        span = scalar(con, "SELECT epoch(max(ts)) - epoch(min(ts)) FROM events WHERE process = $p", {"p": name})
        shift_days = math.ceil(span / 86400) + 1
        run_sql(
            con,
            sql_file("bench", "replicate"),
            {"process": name, "copies": copies, "shift_days": shift_days},
        )
        con.execute("CHECKPOINT").fetchall()
        run_sql(con, sql_file("bench", "to_parquet").replace("/*PATH*/", _sql_string(parquet)))
        events, cases = con.execute(
            "SELECT count(*), count(DISTINCT case_id) FROM events WHERE process = $p", {"p": name}
        ).fetchall()[0]
    finally:
        con.close()
    workload = Workload(
        name=name,
        kind="warehouse",
        process=name,
        description=f"BPIC2012 x {copies} ({events:,} events, {cases:,} cases), warehouse / Parquet",
        parquet=str(parquet),
        warehouse=str(warehouse),
        config_file=str(BPIC_RULES),
        events=events,
        cases=cases,
        params=params,
    )
    return _remember(work, workload)


def sample_system(work: Path, n_cases: int = 1_000_000, seed: int = 42, say=print) -> Workload:
    """The sample business system with ``n_cases`` applications (SQLite)."""
    from mining.sample_system.generator import generate

    name = "sample_1m" if n_cases == 1_000_000 else f"sample_{n_cases}"
    database = work / f"{name}.sqlite"
    params = {"n_cases": n_cases, "seed": seed, "version": 1}
    cached = _cached(work, name, params, [database])
    if cached:
        return cached
    say(f"building {name}: the sample business system with {n_cases:,} applications")
    counts = generate(database, n_cases=n_cases, seed=seed)
    workload = Workload(
        name=name,
        kind="sqlite",
        process="loan_origination",
        description=f"sample business system, {n_cases:,} applications (SQLite)",
        sqlite=str(database),
        cases=n_cases,
        params={**params, "rows": counts},
    )
    return _remember(work, workload)


def long_trace(work: Path, n_events: int = LONG_TRACE_EVENTS, seed: int = 7, say=print) -> Workload:
    """One case of ``n_events`` (CSV): 20 activities cycling, one in four drawn at random."""
    import random
    from datetime import datetime, timedelta

    name = "long_trace"
    path = work / f"{name}.csv"
    params = {"n_events": n_events, "seed": seed, "version": 1}
    cached = _cached(work, name, params, [path])
    if cached:
        return cached
    say(f"building {name}: one case of {n_events:,} events")
    rng = random.Random(seed)
    activities = [f"Step {c}" for c in "ABCDEFGHIJKLMNOPQRST"]
    ts = datetime(2024, 1, 1)
    with open(path, "w", encoding="utf-8") as out:
        out.write("case_id,activity,timestamp,resource\n")
        for i in range(n_events):
            activity = activities[i % len(activities)] if rng.random() < 0.75 else rng.choice(activities)
            ts += timedelta(seconds=rng.randint(1, 600))
            out.write(f"c1,{activity},{ts.isoformat()},r{rng.randint(1, 5)}\n")
    workload = Workload(
        name=name,
        kind="csv",
        process=name,
        description=f"one case of {n_events:,} events (CSV)",
        csv=str(path),
        events=n_events,
        cases=1,
        params=params,
        only=["end_to_end"],
    )
    return _remember(work, workload)


def build(names: list[str], work: Path, say=print, copies: int = 40, sample_cases: int = 1_000_000) -> list[Workload]:
    """Build (or reuse) the named workloads in ``work``."""
    work.mkdir(parents=True, exist_ok=True)
    built = []
    for name in names:
        if name == "bpic2012":
            built.append(bpic2012(work, say=say))
        elif name.startswith("bpic2012_x"):
            built.append(bpic2012_replicated(work, copies=copies, say=say))
        elif name == "long_trace":
            built.append(long_trace(work, say=say))
        elif name.startswith("sample"):
            built.append(sample_system(work, n_cases=sample_cases, say=say))
        else:
            raise ValueError(f"unknown workload {name!r}; choose from {', '.join(NAMES)}")
    return built


def _sql_string(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"
