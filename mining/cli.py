"""The ``mot`` command line: a thin shell over ``mining.pipeline``."""

from __future__ import annotations

import errno
import os
import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from mining import pipeline, shell
from mining.config import ConfigError
from mining.sources import SourceError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Moments-of-truth process mining.")
console = Console(stderr=True)


def _run_with_progress(config, out: Path, full: bool = False) -> pipeline.RunSummary:
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("starting", total=None)
        return pipeline.run(config, out, progress=lambda msg: bar.update(task, description=msg), full=full)


def _report(summary: pipeline.RunSummary, started: float) -> None:
    loads = Table(title="Loads", show_lines=False)
    for col in ("source", "location", "read", "loaded", "new", "updated", "deleted", "quarantined"):
        loads.add_column(col, justify="right" if col not in ("source", "location") else "left")
    for r in summary.loads:
        counts = (r.rows_read, r.rows_loaded, r.rows_new, r.rows_updated, r.rows_deleted, r.rows_quarantined)
        loads.add_row(r.source, r.location, *(f"{n:,}" for n in counts))
    console.print(loads)
    for process, figures in summary.processes.items():
        table = Table(title=f"Process {process}")
        for col in ("cases", "events", "activities", "variants"):
            table.add_column(col, justify="right")
        table.add_row(*(f"{figures[c]:,}" for c in ("cases", "events", "activities", "variants")))
        console.print(table)
        models = Table(title=f"Models of {process}")
        for col in ("algorithm", "fitness", "precision"):
            models.add_column(col)
        for m in figures.get("models", []):
            fitness, precision = ("skipped" if m[k] is None else f"{m[k]:.3f}" for k in ("fitness", "precision"))
            models.add_row(m["algorithm"], fitness, precision)
        console.print(models)
        for skip in figures.get("budget_skips", []):  # what a budget left out, and why (docs/reliability.md)
            estimate = f", estimate {skip['estimate']}" if skip["estimate"] else ""
            console.print(f"skipped {skip['work']}: {skip['reason']} (budget {skip['budget']}{estimate})", markup=False)
    for process in summary.unchanged:
        console.print(
            f"Process {process}: events, config and code as when it was last mined; not mined again (--full mines it)"
        )
    console.print(
        f"Wrote {len(summary.files)} files to [bold]{summary.out_dir}[/] in {time.monotonic() - started:.1f} s"
    )


def _fail(exc: Exception) -> None:
    # Plain text: no markup parsing or wrapping of paths and messages.
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(code=2)


def _disk_full(exc: BaseException) -> str | None:
    """The reason when ``exc`` (or an error it was raised from) is a full disk or a file-size limit:
    an OSError ENOSPC/EFBIG from Python, or DuckDB's IO error quoting the same system message."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG):
            return os.strerror(exc.errno) + (f": {exc.filename}" if exc.filename else "")
        for reason in (os.strerror(errno.ENOSPC), os.strerror(errno.EFBIG)):
            if reason in str(exc):
                return reason
        exc = exc.__cause__ or exc.__context__
    return None


def _fail_run(exc: Exception, out: Path) -> None:
    """One line for the errors a run can end with; anything else keeps its traceback (a bug)."""
    reason = _disk_full(exc)
    if reason is not None:
        _fail(
            f"the disk is full ({reason}); the run stopped and the previous outputs in {out} are as they were. "
            "Free some space and run again"
        )
    if isinstance(exc, (ConfigError, SourceError, ValueError)):
        _fail(exc)
    raise exc


@app.command()
def run(
    log: Path = typer.Argument(None, help="Event-log file (.xes, .xes.gz, .csv, .parquet); optional with --config"),
    config: Path = typer.Option(None, "--config", "-c", help="Project config (YAML)"),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder"),
    full: bool = typer.Option(
        False, "--full", help="Mine every process again, also those whose events, config and code are unchanged"
    ),
) -> None:
    """Run the pipeline on an event-log file and/or the sources of a config file."""
    started = time.monotonic()
    try:
        cfg = pipeline.config_for_log(log, config) if log else pipeline.load_config(config)
        summary = _run_with_progress(cfg, out, full)
    except Exception as exc:
        _fail_run(exc, out)
    _report(summary, started)


@app.command()
def demo(
    out: Path = typer.Option(Path("out/demo"), "--out", "-o", help="Output folder"),
    cases: int = typer.Option(2000, help="Number of loan applications to simulate"),
    seed: int = typer.Option(42, help="Random seed of the simulator"),
) -> None:
    """Generate the embedded sample business system and run the pipeline on it."""
    started = time.monotonic()
    console.print(f"Generating the sample loan-origination system ({cases:,} applications, seed {seed})")
    try:
        cfg = pipeline.demo_config(out, cases, seed)
        summary = _run_with_progress(cfg, out)
    except Exception as exc:
        _fail_run(exc, out)
    _report(summary, started)


@app.command()
def generate(
    path: Path = typer.Argument(..., help="SQLite file to write (overwritten)"),
    cases: int = typer.Option(2000, help="Number of loan applications"),
    seed: int = typer.Option(42, help="Random seed"),
) -> None:
    """Write the sample business system database (deterministic for a size and seed)."""
    from mining.sample_system.generator import generate as write

    counts = write(path, n_cases=cases, seed=seed)
    for table, n in counts.items():
        console.print(f"{table:>20}: {n:,}")


@app.command()
def sql(
    warehouse: Path = typer.Argument(..., help="warehouse.duckdb, or the output folder holding it"),
    file: Path = typer.Argument(None, help="SQL file to run; with neither FILE nor -c: a prompt"),
    command: str = typer.Option(None, "--command", "-c", help="SQL statement(s) to run"),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json (csv/json: last result)"),
    max_rows: int = typer.Option(100, "--max-rows", help="Rows a table shows (0: all)"),
    live: bool = typer.Option(False, "--live", help="Read the live warehouse, not the last run's snapshot"),
    wait: float = typer.Option(60.0, "--wait", help="Seconds to wait while a run holds the live warehouse"),
) -> None:
    """Query a warehouse with SQL: the views and macros of queries/ are there (FROM mot_queries)."""
    try:
        shell.sql_command(
            warehouse,
            file,
            command,
            fmt,
            live=live,
            wait_s=wait,
            max_rows=max_rows,
            say=lambda msg: console.print(msg, markup=False, highlight=False),
        )
    except shell.SqlError as exc:
        _fail(exc)


@app.command()
def serve(
    out: Path = typer.Argument(..., help="Output folder of a run (holding warehouse.snapshot.duckdb)"),
    port: int = typer.Option(8765, "--port", "-p", help="Port to listen on (0: any free port)"),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (the default keeps it on this machine)"),
) -> None:
    """Explore a run in the browser: process map, filters, drill-down, findings, what-if, exports."""
    import socket

    import uvicorn

    from mining.explore.app import create_app
    from mining.outputs import snapshot_path, warehouse_path

    snapshot = snapshot_path(warehouse_path(out))
    if not snapshot.is_file():
        found = "has a warehouse but no read snapshot" if warehouse_path(out).is_file() else "holds no warehouse"
        _fail(
            f"{out} {found}: run `mot run LOG --out {out}` (or `mot demo --out {out}`) first; it publishes {snapshot.name}"
        )
    # Bind the socket here, so port 0 gets a free port and the URL printed is the one that answers.
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror}; try another --port (0 picks a free one)")
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"Exploring {snapshot} at http://{shown}:{bound}/ (Ctrl-C stops)", err=True)
    server = uvicorn.Server(uvicorn.Config(create_app(snapshot), log_level="warning"))
    server.run(sockets=[sock])


def main() -> None:  # pragma: no cover - entry point for `python -m mining.cli`
    app(sys.argv[1:])


if __name__ == "__main__":  # pragma: no cover
    main()
