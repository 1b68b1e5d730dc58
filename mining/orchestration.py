"""What the Airflow DAGs call: one function per task, and the settings the DAG files are built from.

This module never imports Airflow (the DAG files in ``dags/`` import it, and stay thin). Settings
come from the environment, so the same code runs under any scheduler. ``Settings`` holds the five
the DAGs need, taken from the machine settings (``mining.settings``; docs/settings.md):

``MOT_CONFIG`` (unset: the embedded sample system's demo config, reading
``$MOT_OUT/sample_system.sqlite``), ``MOT_OUT``, ``MOT_RETRY_DELAY_SECONDS``, ``MOT_SHARED`` (a URL
all workers reach, for the files tasks hand to each other) and ``MOT_WRITER_QUEUE``.

The tasks, one function each, are described where they are defined and in docs/airflow.md
(extraction: plan, extract, load, changed, verdict) and docs/scaleout.md (mining: processes,
snapshot, analyse, merge, publish). Tasks that open the warehouse run in the one-slot pool ``POOL``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mining.config import ConfigError, ProjectConfig, Source, load_config
from mining.handover import join, read_parquet, remove, write_parquet
from mining.locking import run_lock
from mining.outputs import warehouse_path
from mining.sample_system.demo import DEMO_DATABASE
from mining.sample_system.demo import demo_project as sample_demo_project
from mining.settings import settings as machine_settings
from mining.sources import DATABASES, Bounds, extract_item, work_items
from mining.sources.database import SourceUnavailable
from mining.sources.files import SourceError
from mining.sources.sql import later
from mining.warehouse import connect
from mining.warehouse.load import load_batch, stored_watermarks

POOL = "mot_duckdb"  # one slot: DuckDB allows one writing process per file
MINING_DAG_ID = "mot_mining"
START_DATE = datetime(2000, 1, 1, tzinfo=UTC)  # the earliest interval a scheduler or backfill knows
CHANGES = ("rows_new", "rows_updated", "rows_deleted")  # what a load counts as changed data


class PermanentError(ValueError):
    """A failure another attempt cannot fix (a bad mapping, a missing table, an unreadable value):
    the DAG files turn it into Airflow's fail-now exception, so the task is not retried."""


@dataclass(frozen=True)
class Settings:
    """Where the config, the warehouse and the staged extracts are (paths resolved, for the DAGs).

    A view of the machine settings, kept as a dataclass so that tests can build one directly.
    """

    config_file: Path | None
    out_dir: Path
    retry_delay_s: float = 60.0
    shared_url: str | None = None  # MOT_SHARED; None: the output folder
    writer_queue: str | None = None  # MOT_WRITER_QUEUE; None: Airflow's default queue

    @property
    def warehouse(self) -> Path:
        """The DuckDB warehouse the DAGs load and mine (the same file ``mot run --out`` writes)."""
        return warehouse_path(self.out_dir)

    @property
    def staging(self) -> Path:
        """The local folder of the staged extracts when ``MOT_SHARED`` is not set."""
        return self.out_dir / "staging"

    @property
    def shared(self) -> str:
        """The URL of the files tasks hand to each other (``MOT_SHARED``, else the output folder)."""
        return self.shared_url or str(self.out_dir)

    @property
    def staging_url(self) -> str:
        """Where the staged Parquet extracts go: ``<source>/<data interval>/<run>/<item>.parquet``."""

        return join(self.shared_url, "staging") if self.shared_url else str(self.staging)

    def mining_url(self, run_id: str, process: str) -> str:
        """The folder of one process's mining hand-over in one run."""

        return join(self.shared, "mining", _key(run_id), _key(process))


def settings(environ: dict[str, str] | None = None) -> Settings:
    """Settings from the environment, or from ``environ`` (see the module docstring)."""
    machine = machine_settings(environ)
    return Settings(
        config_file=machine.config.resolve() if machine.config else None,
        out_dir=machine.out.resolve(),
        retry_delay_s=machine.retry_delay_seconds,
        shared_url=machine.shared,
        writer_queue=machine.writer_queue,
    )


def project(s: Settings | None = None) -> ProjectConfig:
    """The project config: ``MOT_CONFIG``, or the demo config of the embedded sample system.

    Sources are isolated: an invalid source definition is left out (``broken_sources``; the DAG
    file ``mot_sources_check.py`` shows it as an import error), the others' DAGs keep running.
    """
    s = s or settings()
    if s.config_file is not None:
        return load_config(s.config_file, isolate=True)
    return demo_project(s.out_dir)


class BrokenSources(ConfigError):
    """Source definitions that are invalid: their DAGs are gone until they are fixed."""


def check_sources(s: Settings | None = None) -> None:
    """BrokenSources naming every invalid source definition of the config, with file and key;
    nothing when all are valid. What the DAG file ``mot_sources_check.py`` runs: its import error is
    where Airflow shows a broken source, while the other sources' DAGs (``mot_extract.py``) run on."""
    broken = project(s).broken_sources
    if broken:
        lines = [f"{len(broken)} source definition(s) invalid; their extraction DAGs are disabled, the others run:"]
        raise BrokenSources("\n".join(lines + [f"- {name}: {why}" for name, why in broken.items()]))


def config_source(config: ProjectConfig, name: str) -> Source:
    """The source ``name`` of ``config``; a PermanentError (no retries) when its definition broke
    after its DAG was built."""
    try:
        return config.source(name)
    except ConfigError as exc:
        raise PermanentError(str(exc)) from None


def demo_project(out_dir: Path) -> ProjectConfig:
    """The packaged demo config, reading the sample system at ``out_dir/sample_system.sqlite``."""
    return sample_demo_project(Path(out_dir) / DEMO_DATABASE)


# --- what the DAG files are built from -------------------------------------------------------------


def task_defaults(s: Settings | None = None) -> dict:
    """``default_args`` of every DAG: two retries with exponential back-off."""
    s = s or settings()
    return {
        "retries": 2,
        "retry_delay": timedelta(seconds=s.retry_delay_s),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=30),
    }


def writer(s: Settings | None = None) -> dict:
    """Task arguments of every task that opens the warehouse: the one-slot pool, and the writer
    queue when ``MOT_WRITER_QUEUE`` is set (the Celery worker on the warehouse's host)."""
    s = s or settings()
    return {"pool": POOL, **({"queue": s.writer_queue} if s.writer_queue else {})}


def extract_dag_id(source: Source) -> str:
    """The id of ``source``'s extraction DAG."""
    return f"mot_extract_{source.name}"


def asset_name(config: ProjectConfig, source: Source) -> str:
    """The Asset a source's extraction updates: its events in the warehouse."""
    return f"mot.{config.project}.events.{source.name}"


def asset_uri(config: ProjectConfig, source: Source) -> str:
    """The Asset's URI (``x-`` schemes are left alone by Airflow)."""
    return f"x-mot://{config.project}/events/{source.name}"


def has_intervals(schedule: str | None) -> bool:
    """Whether a schedule makes data intervals (a cron expression or preset, not ``@once``)."""
    return schedule is not None and schedule != "@once"


def extract_doc(config: ProjectConfig, source: Source) -> str:
    """The ``doc_md`` of a source's extraction DAG: what it reads and how it loads."""
    where = f"connection `{source.conn_id}`" if source.conn_id else f"`{source.path}`"
    lines = [
        f"### Extraction of source `{source.name}` ({source.kind})",
        f"Reads {where} for process `{source.process}`; schedule `{source.schedule}` "
        f"(time zone {config.timezone}). Credentials live in the Airflow connection only.",
        "",
        f"- `plan` lists the work items and their stored watermarks (pool `{POOL}`).",
        "- `extract` reads one item into a staged Parquet file (mapped over the items).",
        f"- `load` merges each staged file into `events` in one DuckDB transaction that also "
        f"advances its watermark, writes the load audit and quarantine, and updates the Asset "
        f"`{asset_name(config, source)}` (pool `{POOL}`).",
        "",
        'Trigger with `{"backfill": true}` (or `airflow backfill create`) to re-read the data '
        "interval without the watermark filter; what is already loaded is not loaded twice.",
    ]
    for m in source.mappings:
        incremental = f", incremental on `{m.incremental_column}`" if m.incremental_column else ""
        lines.append(f"- mapping `{m.name}`{incremental}")
    return "\n".join(lines)


MINING_DOC = f"""### Mining
Runs when any source's extraction updates its Asset. For every configured process that has events
(dynamic task mapping, one group per process):

- `snapshot` writes the process's events as Parquet to the shared folder (pool `{POOL}`);
- `analyse` runs the pipeline steps before `queries` (prepare, discover, moments, waste, bpmn) in a
  private DuckDB database on whichever worker takes it, all processes at once, and writes the
  result tables (Parquet) and files (models, BPMN) to the shared folder;
- `merge` replaces the process's rows in the warehouse with them, in one transaction (pool `{POOL}`).

Then `publish` writes the files covering all processes, the SQL library and its read snapshot,
and the HTML reports (pool `{POOL}`). See docs/scaleout.md.
"""


# --- extraction tasks ------------------------------------------------------------------------------


def plan(source_name: str, *, run_type: object = None, backfill: bool = False, s: Settings | None = None) -> list[dict]:
    """Task ``plan``: the work items of a run, each with its stored watermark.

    A backfill (``run_type`` 'backfill' or ``backfill=True``) reads its data interval without the
    watermark filter; the watermark itself never moves back.
    """

    s = s or settings()
    source = config_source(project(s), source_name)
    with run_lock(s.warehouse, purpose=f"airflow plan {source.name}"):  # a CLI run may be writing
        con = connect(s.warehouse)
        try:
            stored = stored_watermarks(con, source.name)
        finally:
            con.close()
    full = backfill or getattr(run_type, "value", run_type) == "backfill"
    return [{"name": i.name, "watermark": i.watermark, "filter": not full} for i in work_items(source, stored)]


def extract(
    source_name: str,
    item: dict,
    *,
    uri: str | None = None,
    interval_start: datetime | str | None = None,
    interval_end: datetime | str | None = None,
    run_id: str = "manual",
    s: Settings | None = None,
) -> dict:
    """Task ``extract``: read one work item into a staged Parquet file; return what ``load`` needs.

    ``uri`` is the connection URI of a database source (the DAG resolves the Airflow connection);
    it is used, never returned or written anywhere.
    """

    s = s or settings()
    config = project(s)
    source = config_source(config, source_name)
    bounds = Bounds(
        watermark=item["watermark"] if item.get("filter", True) else None,
        interval_start=_moment(interval_start),
        interval_end=_moment(interval_end),
    )
    try:
        batch = extract_item(source, item["name"], uri=uri, bounds=bounds, timezone=config.timezone)
    except SourceUnavailable:
        raise  # the server is gone or slow: the task retries with back-off
    except SourceError as exc:  # trying again cannot fix it: say where, once
        where = f"source {source.name!r}, item {item['name']!r}: "
        said = str(exc).startswith(f"source {source.name!r}") and repr(item["name"]) in str(exc)
        raise PermanentError(f"{'' if said else where}{exc}") from exc
    # Partitioned by source and data interval; the run keeps two runs of one interval apart.
    partition = (source.name, _interval_key(bounds.interval_start, bounds.interval_end), _key(run_id))
    staged = write_parquet(batch.table, join(s.staging_url, *partition, f"{_key(item['name'])}.parquet"))
    return {
        "name": batch.name,
        "location": batch.location,
        "staged": staged,
        "rows": batch.table.num_rows,
        "watermark_after": batch.watermark,
        "timestamp_format": batch.timestamp_format,
    }


def load(source_name: str, staged: list[dict], planned: list[dict] | None = None, *, s: Settings | None = None) -> dict:
    """Task ``load``: merge the staged extracts into the warehouse, one transaction per item.

    Each transaction stages, quarantines, merges on the event key, writes the audit row and
    advances the item's watermark (never backwards), so a failed load leaves no trace but its
    audit row, and re-running an interval adds nothing. The load runs when every extraction has
    ended, with the items that were extracted: the ``planned`` items without a staged file are
    returned under ``failed`` (``verdict`` fails the run with them, after the good items loaded).
    """

    s = s or settings()
    config = project(s)
    source = config_source(config, source_name)
    staged = [i for i in staged if i]
    done = {i["name"] for i in staged}
    totals = {"loads": 0, "rows_read": 0, "rows_loaded": 0, "rows_new": 0, "rows_quarantined": 0}
    totals |= {
        "rows_updated": 0,
        "rows_deleted": 0,
        "failed": [i["name"] for i in planned or [] if i["name"] not in done],
    }
    if not staged:
        return totals
    with run_lock(s.warehouse, purpose=f"airflow load {source.name}"):  # a CLI run may be writing
        con = connect(s.warehouse)
        try:
            for item in sorted(staged, key=lambda i: i["name"]):
                before = stored_watermarks(con, source.name).get(item["name"])
                after = item["watermark_after"]
                if source.kind in DATABASES:
                    after = later(before, after)
                result = load_batch(
                    con,
                    read_parquet(item["staged"]),
                    process=source.process,
                    source=source.name,
                    location=item["location"],
                    timezone=config.timezone,
                    timestamp_format=item["timestamp_format"],
                    watermark=(item["name"], before, after),
                )
                totals["loads"] += 1
                for key in ("rows_read", "rows_loaded", "rows_new", "rows_quarantined", *CHANGES[1:]):
                    totals[key] += getattr(result, key, 0)
        finally:
            con.close()
    for folder in sorted({i["staged"].rsplit("/", 1)[0] for i in staged}):
        remove(folder, prune_to=join(s.staging_url, source.name))
    return totals


def changed(totals: dict) -> bool:
    """Task ``changed``: whether a load added, updated or deleted rows (its Asset event only then)."""
    return any(totals.get(key, 0) for key in CHANGES)


def verdict(source_name: str, totals: dict) -> dict:
    """Task ``verdict``: PermanentError naming the items whose extraction failed (their task logs
    hold the error); the items that were extracted are loaded already."""
    if totals["failed"]:
        names = ", ".join(repr(n) for n in totals["failed"])
        raise PermanentError(
            f"source {source_name!r}: the extraction of {names} failed (see its extract task); "
            f"the other items were loaded ({totals['rows_new']} new rows)"
        )
    return totals


# --- mining tasks ----------------------------------------------------------------------------------


def processes(assets: list[str] | None = None, s: Settings | None = None) -> list[str]:
    """Task ``processes`` (writer): the configured processes that have events, in config order.

    With ``assets`` (the names of the Assets whose events triggered the run), only the processes
    of those sources: an unchanged process is not mined again. Without (a manual run), all.
    A process whose sources have not loaded yet is left out, so the first source to load (its Asset
    triggers the mining DAG) does not fail the run for the others.
    """

    s = s or settings()
    config = project(s)
    configured = config.processes
    if assets:
        changed = {src.process for src in config.sources if asset_name(config, src) in set(assets)}
        configured = [p for p in configured if p in changed]
    if not s.warehouse.exists():
        return []
    with run_lock(s.warehouse, purpose="airflow processes"):
        con = connect(s.warehouse)
        try:
            rows = con.execute("SELECT DISTINCT process FROM events").fetchall()
        finally:
            con.close()
    loaded = {p for (p,) in rows}
    return [p for p in configured if p in loaded]


def snapshot(process: str, run_id: str = "manual", s: Settings | None = None) -> dict:
    """Task ``snapshot`` (writer): hand the events of ``process`` over to ``analyse`` as Parquet."""
    from mining.scaleout import snapshot as write_snapshot  # heavy (every analysis): kept out of DAG parsing

    s = s or settings()
    with run_lock(s.warehouse, purpose=f"airflow snapshot {process}"):
        return write_snapshot(s.warehouse, process, s.mining_url(run_id, process))


def analyse(work: dict, s: Settings | None = None) -> dict:
    """Task ``analyse`` (any worker, no warehouse): mine one process from its snapshot."""
    from mining.scaleout import analyse as mine

    s = s or settings()
    manifest = mine(project(s), work["process"], work["folder"])
    return {"process": work["process"], "folder": work["folder"], "seconds": manifest["seconds"]}


def merge(work: dict, s: Settings | None = None) -> dict:
    """Task ``merge`` (writer): load one process's results into the warehouse, then drop its folder."""
    from mining.scaleout import merge as load_results

    s = s or settings()
    with run_lock(s.warehouse, purpose=f"airflow merge {work['process']}"):
        merged = load_results(s.warehouse, s.out_dir, work["folder"])
    remove(work["folder"], prune_to=s.shared)
    return merged


def publish(mined: list[str] | None = None, s: Settings | None = None) -> dict:
    """Task ``publish`` (writer): after all merges, the run's files, SQL library and the reports of
    the ``mined`` processes (default: all configured)."""
    from mining.scaleout import publish as finish

    s = s or settings()
    with run_lock(s.warehouse, purpose="airflow publish"):
        return finish(s.warehouse, project(s), s.out_dir, mined)


def _interval_key(start: datetime | None, end: datetime | None) -> str:
    """The staging partition of a data interval: ``20250301T000000Z--20250302T000000Z``, or ``all``."""
    if start is None and end is None:
        return "all"
    return "--".join(v.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ") if v else "open" for v in (start, end))


def _moment(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def _key(name: str) -> str:
    """A file-name-safe, collision-free key: readable tail plus a short hash."""
    readable = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[-60:]
    return f"{readable}-{hashlib.sha256(name.encode()).hexdigest()[:10]}"
