"""Extractors: every source kind yields batches of standardized Arrow tables for the loader.

A source is read as *work items*: one per extraction mapping of a database, one per file of a
file source (a single file, a drop folder or a glob). Each item has a watermark under its name in
the warehouse's ``watermarks`` table: the largest ``incremental_column`` value loaded for a
mapping, the content hash for a file (an unchanged file is not read again).
"""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from mining.config import Source
from mining.sources.database import check_reachable, connectorx_uri, uri_from_env, with_retries
from mining.sources.delimited import read_csv
from mining.sources.files import SourceError
from mining.sources.ocel import READERS as OCEL_SUFFIXES
from mining.sources.ocel import read_ocel
from mining.sources.parquet import read_parquet
from mining.sources.sql import Bounds, complete_read, run_mapping, sqlite_uri
from mining.sources.xes import read_xes
from mining.warehouse.load import Identity, with_identity

__all__ = ["Batch", "Bounds", "SourceError", "WorkItem", "extract", "extract_item", "work_items"]

DATABASES = ("sqlite", "postgres", "mysql")
FILE_SUFFIXES = {
    "xes": (".xes", ".xes.gz"),
    "csv": (".csv", ".csv.gz", ".tsv"),
    "parquet": (".parquet",),
    "ocel": tuple(OCEL_SUFFIXES),
}


@dataclass(frozen=True)
class Batch:
    """One unit of loading: a table of events, where it came from and its new watermark."""

    location: str
    table: pa.Table
    timestamp_format: str | None = None
    name: str = ""  # the mapping name or file path: the key of the watermark
    watermark: str | None = None


@dataclass(frozen=True)
class WorkItem:
    """One mapping or file to extract, with the watermark stored for it (None before the first load)."""

    name: str
    watermark: str | None = None


def work_items(source: Source, stored: dict[str, str] | None = None) -> list[WorkItem]:
    """What a run of ``source`` has to read: every mapping; every file that is new or changed."""
    stored = stored or {}
    if source.kind in DATABASES:
        return [WorkItem(m.name, stored.get(m.name)) for m in source.mappings]
    items = []
    for path in files(source):
        if stored.get(path) != fingerprint(path):
            items.append(WorkItem(path, stored.get(path)))
    return items


def files(source: Source) -> list[str]:
    """The files of a file source, sorted: the file itself, a drop folder's files, or a glob's."""
    path = source.path or ""
    if any(c in path for c in "*?["):
        found = glob.glob(path, recursive=True)
    elif Path(path).is_dir():
        found = [str(p) for p in Path(path).iterdir()]
    else:
        return [path]
    suffixes = FILE_SUFFIXES[source.kind]
    chosen = sorted(p for p in found if Path(p).is_file() and p.lower().endswith(suffixes))
    for path in chosen:
        _check_inside(source, path)
    return chosen


def _check_inside(source: Source, path: str | Path) -> None:
    """Refuse a file outside the folders the config allows (a link in a drop folder pointing out,
    a work item name handed to an extract task that the config never listed)."""
    problem = source.outside_roots(path)
    if problem:
        raise SourceError(f"source {source.name!r}: {problem}")


def fingerprint(path: str | Path) -> str:
    """The content hash of a file: its watermark, so a file is loaded again only when it changes."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except FileNotFoundError:
        raise SourceError(f"{path}: file not found") from None
    return "sha256:" + digest.hexdigest()


def extract_item(
    source: Source,
    name: str,
    *,
    uri: str | None = None,
    bounds: Bounds | None = None,
    timezone: str = "UTC",
) -> Batch:
    """Read one work item of ``source``: the mapping or the file called ``name``.

    ``uri`` is the connection URI of a PostgreSQL or MariaDB/MySQL source; without it, it comes
    from the environment (``mining.sources.database.uri_from_env``).
    """
    if source.kind in DATABASES:
        mapping = next((m for m in source.mappings if m.name == name), None)
        if mapping is None:
            raise SourceError(f"source {source.name!r} has no mapping {name!r}")
        table, watermark = run_mapping(_database_uri(source, uri), source, mapping, bounds, timezone)
        # The change semantics travel with the table (in its schema metadata, kept through the
        # staged Parquet file) to the loader, which merges by them.
        complete = mapping.reconcile == "full" and complete_read(mapping, bounds or Bounds())
        table = with_identity(table, Identity(tuple(mapping.key or ()) or None, mapping.deleted_column, complete))
        return Batch(f"{source.name}.{name}", table, source.timestamp_format, name, watermark)
    _check_inside(source, name)
    watermark = fingerprint(name)
    # A file is read whole, so it is the truth for its events: a changed file's vanished rows go.
    table = with_identity(read_file(source, name), Identity(complete=True))
    return Batch(name, table, source.timestamp_format, name, watermark)


def read_file(source: Source, path: str) -> pa.Table:
    """Read one file of a file source with the reader of its kind."""
    if source.kind == "xes":
        return read_xes(path)
    if source.kind == "csv":
        return read_csv(path, source.columns, source.delimiter)
    if source.kind == "parquet":
        return read_parquet(path, source.columns)
    if source.kind == "ocel":
        return read_ocel(path, source.ocel_object_type or "", source.columns)
    raise SourceError(f"source {source.name!r}: kind {source.kind!r} is not a file kind")


def extract(source: Source, uri: str | None = None) -> Iterator[Batch]:
    """Read every batch of ``source`` in full: one per file, or one per mapping of a database.

    A database that is down or too slow is tried again with back-off (``with_retries``; Airflow
    tasks, which call ``extract_item``, have the scheduler's retries instead).
    """
    names = [m.name for m in source.mappings] if source.kind in DATABASES else files(source)
    for name in names:
        if source.kind in DATABASES:
            yield with_retries(lambda name=name: extract_item(source, name, uri=uri), f"source {source.name!r}")
        else:
            yield extract_item(source, name, uri=uri)


def _database_uri(source: Source, uri: str | None) -> str:
    if source.kind == "sqlite":
        _check_inside(source, source.path or "")  # the link may have been placed after loading
        return sqlite_uri(source.path)
    target = connectorx_uri(source, uri or uri_from_env(source))
    check_reachable(source, target)
    return target
