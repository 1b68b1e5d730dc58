"""Read a Parquet event log with pyarrow; column types are kept as written."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from mining.config import ColumnMap
from mining.sources.files import SourceError, check_readable, plain_strings, standardize_columns


def read_parquet(path: str | Path, columns: ColumnMap | None = None) -> pa.Table:
    """Read a Parquet file; column types are kept as written."""
    path = Path(path)
    check_readable(path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise SourceError(f"{path}: not a readable Parquet file: {exc}") from None
    return standardize_columns(plain_strings(table), columns or ColumnMap(), str(path))
