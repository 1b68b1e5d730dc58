"""Airflow DAG file without a DAG: while a source definition of ``MOT_CONFIG`` (or of its
``source_folder``) is invalid, importing this file fails with the source, the file and the key, so
Airflow lists it under import errors. The broken source's DAG is gone from mot_extract.py; the other
sources' DAGs keep running, because an import error there would stop them all. See docs/airflow.md."""

from __future__ import annotations

from mining import orchestration as mot

mot.check_sources()
