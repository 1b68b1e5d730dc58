"""The machine settings: every ``MOT_*`` environment variable, typed, with its default, in one place.

The project config (YAML, ``mining.config``) says what to mine; these settings say how the machine
that runs it behaves: DuckDB's memory and threads, how long a writer waits, where the Airflow tasks
keep their files, the connection URIs of business databases. docs/settings.md lists every variable.

``settings()`` reads the environment each time it is called, never at import time, because tests
and Airflow tasks set variables at run time; ``settings(environ)`` reads a mapping instead of
``os.environ``. An empty variable counts as unset. A bad value raises SettingsError, a ValueError
whose message names the variable and the value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

PREFIX = "MOT_"
# Connection URIs: one variable per connection id, ours first, then the one Airflow itself reads.
CONNECTION_PREFIXES = ("MOT_CONN_", "AIRFLOW_CONN_")
DUCKDB_MEMORY = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.I)
DUCKDB_THREADS = re.compile(r"^[1-9]\d{0,3}$")
SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$", re.I)
SIZE_UNITS = {
    "B": 1,
    **{u: 1000**i for i, u in enumerate(("KB", "MB", "GB", "TB"), 1)},
    **{u.upper(): 1024**i for i, u in enumerate(("KiB", "MiB", "GiB", "TiB"), 1)},
}


class SettingsError(ValueError):
    """A machine setting has a value it cannot take.

    A ValueError, like the other errors the command line reports as one plain line.
    """


def _blank_is_unset(value: Any) -> Any:
    """Stray blanks around a DuckDB setting are forgiven, as they always were; blanks alone mean unset."""
    return (value.strip() or None) if isinstance(value, str) else value


def _expects(phrase: str) -> dict[str, str]:
    """Field metadata: what a valid value is, for the error message ('is not <phrase>')."""
    return {"expects": phrase}


class MachineSettings(BaseSettings):
    """The settings of the machine a run happens on; the field ``out`` comes from ``MOT_OUT``, and so on."""

    # Each field names its variable (validation_alias), so that a grep for it finds this file.
    model_config = SettingsConfigDict(
        case_sensitive=True,  # MOT_OUT, not mot_out
        env_ignore_empty=True,  # MOT_SHARED= (empty) means unset
        validate_by_name=True,  # MachineSettings(out=...) in code, MOT_OUT in the environment
        extra="ignore",
        frozen=True,
    )

    # --- DuckDB (mining.warehouse) ---
    duckdb_memory_limit: str | None = Field(
        None,
        validation_alias="MOT_DUCKDB_MEMORY_LIMIT",
        description="caps DuckDB's memory (e.g. 1GB); beyond it, sorts, joins and temporary tables "
        "spill to disk next to the warehouse. Unset: DuckDB's default, 80 % of the memory",
        json_schema_extra=_expects("a valid DuckDB memory_limit"),
    )
    duckdb_threads: int | None = Field(
        None,
        validation_alias="MOT_DUCKDB_THREADS",
        description="caps DuckDB's threads (1 to 9999). Unset: one per core",
        json_schema_extra=_expects("a valid DuckDB threads"),
    )
    sql_profile: Path | None = Field(
        None,
        validation_alias="MOT_SQL_PROFILE",
        description="a file to which the wall time of every SQL statement is appended "
        "(tab-separated: seconds, the statement's first line of code)",
        json_schema_extra=_expects("a file name"),
    )
    # --- writers (mining.locking) ---
    lock_wait_seconds: float = Field(
        600.0,
        validation_alias="MOT_LOCK_WAIT_SECONDS",
        description="how long a second writer waits for the warehouse before it fails (negative: 0)",
        json_schema_extra=_expects("a number of seconds"),
    )
    # --- extraction from databases (mining.sources.database) ---
    source_retries: int = Field(
        2,
        validation_alias="MOT_SOURCE_RETRIES",
        description="retries of a database extraction after the server was down or too slow (negative: 0)",
        json_schema_extra=_expects("a whole number"),
    )
    source_retry_delay_seconds: float = Field(
        5.0,
        validation_alias="MOT_SOURCE_RETRY_DELAY_SECONDS",
        description="first delay between those attempts; doubles each time, at most 5 minutes (negative: 0)",
        json_schema_extra=_expects("a number of seconds"),
    )
    # --- Airflow tasks (mining.orchestration) ---
    config: Path | None = Field(
        None,
        validation_alias="MOT_CONFIG",
        description="the project config (YAML). Unset: the embedded sample system's demo config, "
        "reading $MOT_OUT/sample_system.sqlite",
        json_schema_extra=_expects("a file name"),
    )
    out: Path = Field(
        Path("out/airflow"),
        validation_alias="MOT_OUT",
        description="the output folder of the DAGs: warehouse, staged extracts, models",
        json_schema_extra=_expects("a folder name"),
    )
    retry_delay_seconds: float = Field(
        60.0,
        validation_alias="MOT_RETRY_DELAY_SECONDS",
        description="the first retry delay of every Airflow task; doubles per try, at most 30 minutes",
        json_schema_extra=_expects("a number of seconds"),
    )
    shared: str | None = Field(
        None,
        validation_alias="MOT_SHARED",
        description="a folder or fsspec URL (file://, s3://...) for the files tasks hand to each other "
        "(staged extracts, per-process mining results). Unset: $MOT_OUT",
        json_schema_extra=_expects("a URL"),
    )
    writer_queue: str | None = Field(
        None,
        validation_alias="MOT_WRITER_QUEUE",
        description="the Celery queue of the tasks that open the warehouse. Unset: Airflow's default queue",
        json_schema_extra=_expects("a queue name"),
    )
    # --- scale-out workers (mining.scaleout) ---
    worker_hostname: str | None = Field(
        None,
        validation_alias="MOT_WORKER_HOSTNAME",
        description="the host name Airflow records for a task (several workers on one machine need "
        "distinct names). Unset: the machine's fully qualified name",
        json_schema_extra=_expects("a host name"),
    )
    scratch: Path | None = Field(
        None,
        validation_alias="MOT_SCRATCH",
        description="the local folder under which an analyse task mines in a private database. "
        "Unset: the system's temporary folder",
        json_schema_extra=_expects("a folder name"),
    )
    # --- connection URIs (mining.sources.database): MOT_CONN_<ID>, AIRFLOW_CONN_<ID> ---
    # Not one variable but a family; filled by EnvironSource. URIs hold passwords: never shown.
    connections: dict[str, str] = Field(default_factory=dict, repr=False, exclude=True)
    # --- limits of the file readers (mining.sources.files): decompression bombs, huge fields ---
    max_decompressed_bytes: int = Field(
        16 * 1024**3,
        validation_alias="MOT_MAX_DECOMPRESSED_BYTES",
        description="the most bytes a file may unpack to (gzip stream, Parquet pages, Arrow data "
        "read from Parquet); beyond it the file is refused. Takes a suffix: 16GiB, 500MB",
        json_schema_extra=_expects("a size in bytes (e.g. 16GiB)"),
    )
    max_compression_ratio: float = Field(
        200.0,
        validation_alias="MOT_MAX_COMPRESSION_RATIO",
        description="the most a gzip file or Parquet's pages may unpack to, as a multiple of the "
        "file's size, once past 64 MiB unpacked (BPIC2012's .xes.gz: 22)",
        json_schema_extra=_expects("a number above 1"),
    )
    max_field_bytes: int = Field(
        64 * 1024**2,
        validation_alias="MOT_MAX_FIELD_BYTES",
        description="the longest field a reader takes: a CSV line or header, an XML value or text, "
        "an OCEL JSON string, a Parquet string value; a file with a longer one is refused",
        json_schema_extra=_expects("a size in bytes (e.g. 64MiB)"),
    )

    @field_validator("duckdb_memory_limit", mode="before")
    @classmethod
    def _check_memory(cls, value: Any) -> Any:
        # The value ends up inside SET memory_limit = '...', which takes no parameters.
        value = _blank_is_unset(value)
        if value is None or DUCKDB_MEMORY.match(str(value)):
            return value
        raise ValueError("not a DuckDB memory size")

    @field_validator("duckdb_threads", mode="before")
    @classmethod
    def _check_threads(cls, value: Any) -> Any:
        value = _blank_is_unset(value)
        if value is None or isinstance(value, int) or DUCKDB_THREADS.match(str(value)):
            return value
        raise ValueError("not a DuckDB thread count")

    @field_validator("lock_wait_seconds", "source_retries", "source_retry_delay_seconds")
    @classmethod
    def _at_least_zero(cls, value: float) -> float:
        # A negative wait or retry count means none at all, as it always has.
        return value if value > 0 else type(value)(0)

    @field_validator("max_decompressed_bytes", "max_field_bytes", mode="before")
    @classmethod
    def _check_size(cls, value: Any) -> Any:
        # Sizes read as '16GiB' or '500MB' as well as a plain number of bytes.
        if isinstance(value, str) and (match := SIZE.match(value.strip())):
            number, unit = match.groups()
            return int(float(number) * SIZE_UNITS[(unit or "B").upper()])
        return value

    @field_validator("max_decompressed_bytes", "max_field_bytes", "max_compression_ratio")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= (1 if isinstance(value, float) else 0):
            raise ValueError("too small")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments, then the environment; no .env file, no secrets folder."""
        return init_settings, EnvironSource(settings_cls, os.environ)

    def connection_uri(self, conn_id: str) -> str | None:
        """The URI of connection ``conn_id``: ``MOT_CONN_<ID>``, else ``AIRFLOW_CONN_<ID>``, else None."""
        for name in connection_variables(conn_id):
            if self.connections.get(name):
                return self.connections[name]
        return None


class EnvironSource(EnvSettingsSource):
    """The environment source of pydantic-settings, reading a given mapping instead of os.environ,
    plus the connection URIs (``MOT_CONN_<ID>``, ``AIRFLOW_CONN_<ID>``) as the field ``connections``."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]):
        self.environ = environ  # before super().__init__, which loads the variables
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k: v for k, v in self.environ.items() if not (self.env_ignore_empty and v == "")}

    def __call__(self) -> dict[str, Any]:
        values = super().__call__()
        values["connections"] = {k: v for k, v in self.environ.items() if k.startswith(CONNECTION_PREFIXES) and v}
        return values


def connection_variables(conn_id: str) -> tuple[str, str]:
    """The environment variables that may hold the URI of ``conn_id``, in the order they are read."""
    key = re.sub(r"[^A-Za-z0-9]", "_", conn_id).upper()
    return tuple(prefix + key for prefix in CONNECTION_PREFIXES)


def variables() -> dict[str, str]:
    """The environment variable of every field of MachineSettings: ``{"MOT_OUT": "out", ...}``."""
    fields = MachineSettings.model_fields.items()
    return {f.validation_alias: name for name, f in fields if isinstance(f.validation_alias, str)}


def settings(environ: Mapping[str, str] | None = None) -> MachineSettings:
    """The machine settings from the environment (or from ``environ``), validated.

    Reads the variables at every call. Only their validation is remembered, for the same values,
    since a run asks once per SQL statement (``MOT_SQL_PROFILE``).
    """
    environ = os.environ if environ is None else environ
    relevant = tuple(sorted((k, v) for k, v in environ.items() if k.startswith((PREFIX, *CONNECTION_PREFIXES))))
    return _validated(relevant)


@lru_cache(maxsize=16)
def _validated(relevant: tuple[tuple[str, str], ...]) -> MachineSettings:
    source = EnvironSource(MachineSettings, dict(relevant))
    try:
        return MachineSettings(_build_sources=((source,), {}))
    except ValidationError as exc:
        raise SettingsError(_explain(exc)) from None


def _explain(exc: ValidationError) -> str:
    """One line per bad variable: 'environment variable MOT_X='value' is not <what it expects>'."""
    fields = variables()
    lines = []
    for error in exc.errors(include_url=False):
        name = str(error["loc"][0])
        expects = (MachineSettings.model_fields[fields[name]].json_schema_extra or {}).get("expects", "valid")
        lines.append(f"environment variable {name}={error['input']!r} is not {expects}")
    return "; ".join(lines)
