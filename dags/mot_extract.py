"""One extraction DAG per source of the project config (``MOT_CONFIG``; see docs/airflow.md).

Each DAG: ``plan`` (watermarks, work items) -> ``extract`` mapped over the items (source -> staged
Parquet) -> ``load`` (staged -> warehouse, one transaction per item), whose outlet is the source's
Asset. Everything the tasks do is in ``mining.orchestration``.
"""

from __future__ import annotations

from airflow.sdk import DAG, Asset, Connection, CronDataIntervalTimetable, Param, task

from mining import orchestration as mot

CONFIG = mot.project()


def build(source) -> DAG:
    """The extraction DAG of ``source``."""
    asset = Asset(name=mot.asset_name(CONFIG, source), uri=mot.asset_uri(CONFIG, source), group="mot")
    schedule = source.schedule
    if mot.has_intervals(schedule):
        schedule = CronDataIntervalTimetable(schedule, timezone=CONFIG.timezone)
    with DAG(
        dag_id=mot.extract_dag_id(source),
        schedule=schedule,
        start_date=mot.START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=mot.task_defaults(),
        params={"backfill": Param(False, type="boolean", description="ignore the watermark")},
        tags=["mot", "extract", source.kind],
        doc_md=mot.extract_doc(CONFIG, source),
    ) as dag:

        @task(**mot.writer())
        def plan(params=None, dag_run=None) -> list[dict]:
            return mot.plan(source.name, run_type=dag_run.run_type, backfill=params["backfill"])

        @task
        def extract(item: dict, data_interval_start=None, data_interval_end=None, run_id=None) -> dict:
            uri = Connection.get(source.conn_id).get_uri() if source.conn_id else None
            return mot.extract(
                source.name,
                item,
                uri=uri,
                interval_start=data_interval_start,
                interval_end=data_interval_end,
                run_id=run_id,
            )

        @task(**mot.writer(), outlets=[asset])
        def load(staged) -> dict:
            return mot.load(source.name, list(staged))

        load(extract.expand(item=plan()))
    return dag


for _source in CONFIG.sources:
    build(_source)
