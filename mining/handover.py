"""Files that tasks hand to each other, at fsspec URLs: a local folder, ``file://``, ``s3://``...

Staged extracts (extract -> load) and per-process mining results (analyse -> merge) travel as
Parquet and JSON files here, so workers on different hosts meet on shared storage. Every writer
makes a reader see a whole file or none.
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path

import fsspec

from mining.locking import atomic_path


def filesystem(url: str | Path) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fsspec file system of ``url`` and the path within it (a plain path is a local file)."""
    return fsspec.core.url_to_fs(str(url))


def join(url: str | Path, *parts: str) -> str:
    """``url`` with ``parts`` appended, '/'-separated (also for local paths)."""
    return posixpath.join(str(url).rstrip("/"), *parts)


def is_local(fs: fsspec.AbstractFileSystem) -> bool:
    """Whether ``fs`` is this machine's own file system (DuckDB and os calls can use its paths)."""
    return "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,))


def write_parquet(table, url: str) -> str:
    """Write an Arrow table as a Parquet file at ``url``; a reader sees the whole file or none."""
    import pyarrow.parquet as pq

    fs, path = filesystem(url)
    if is_local(fs):
        with atomic_path(path) as temp:
            pq.write_table(table, temp)
    else:
        with fs.open(path, "wb") as sink:  # object stores publish an object when it is closed
            pq.write_table(table, sink)
    return url


def read_parquet(url: str):
    """The Arrow table of the Parquet file at ``url``."""
    import pyarrow.parquet as pq

    fs, path = filesystem(url)
    if is_local(fs):
        return pq.read_table(path)
    with fs.open(path, "rb") as source:
        return pq.read_table(source)


def remove(url: str, *, prune_to: str | None = None) -> None:
    """Remove the folder (or file) ``url``; then its parents while empty, up to ``prune_to``."""
    fs, path = filesystem(url)
    if fs.exists(path):
        fs.rm(path, recursive=True)
    if prune_to is None or not is_local(fs):
        return  # object stores have no empty folders
    stop = Path(filesystem(prune_to)[1]).resolve()
    parent = Path(path).resolve().parent
    while parent != stop and stop in parent.parents:
        try:
            parent.rmdir()
        except OSError:
            return
        parent = parent.parent


def write_json(data: dict, url: str) -> None:
    """Write ``data`` as JSON at ``url`` (sorted keys, so equal data gives equal files)."""
    fs, path = filesystem(url)
    text = json.dumps(data, indent=1, sort_keys=True, default=str) + "\n"
    if is_local(fs):
        with atomic_path(path) as temp:
            temp.write_text(text, encoding="utf-8")
    else:
        with fs.open(path, "w") as sink:
            sink.write(text)


def read_json(url: str) -> dict:
    """The JSON document at ``url``."""
    fs, path = filesystem(url)
    with fs.open(path, "r") as source:
        return json.load(source)
