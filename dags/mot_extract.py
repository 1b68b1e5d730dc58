"""One extraction DAG per valid source of ``MOT_CONFIG``: ``plan`` -> ``extract`` (mapped) -> ``load``
-> ``changed`` (the Asset's outlet; skipped when no row changed) and ``verdict``. Permanent errors
fail at once; failed and late runs alert. An invalid source's error shows in mot_sources_check.py."""

from __future__ import annotations

from airflow.sdk import DAG, Asset, Connection, CronDataIntervalTimetable, Param, task
from airflow.sdk.exceptions import AirflowSkipException

from mining import orchestration as mot
from mot_airflow import alerts
from mot_airflow.errors import fail_fast

CONFIG = mot.project()


def build(source) -> DAG:
    """The extraction DAG of ``source``."""
    asset = Asset(name=mot.asset_name(CONFIG, source), uri=mot.asset_uri(CONFIG, source), group="mot")
    warn = CONFIG.alert_settings(source)
    schedule = source.schedule
    if mot.has_intervals(schedule):
        schedule = CronDataIntervalTimetable(schedule, timezone=CONFIG.timezone)
    with DAG(
        dag_id=mot.extract_dag_id(source),
        schedule=schedule,
        start_date=mot.START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args={**mot.task_defaults(), "on_failure_callback": alerts.on_failure(warn)},
        deadline=alerts.deadline(warn),
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
            return fail_fast(
                mot.extract,
                source.name,
                item,
                uri=uri,
                interval_start=data_interval_start,
                interval_end=data_interval_end,
                run_id=run_id,
            )

        @task(**mot.writer(), trigger_rule="all_done")
        def load(staged, planned) -> dict:
            return mot.load(source.name, list(staged), list(planned))

        @task(outlets=[asset])
        def changed(totals: dict) -> None:
            if not mot.changed(totals):
                raise AirflowSkipException("no rows added, updated or deleted: no Asset event")

        @task(on_failure_callback=[])  # the failed extractions alerted already
        def verdict(totals: dict) -> dict:
            return fail_fast(mot.verdict, source.name, totals)

        items = plan()
        totals = load(extract.expand(item=items), items)
        changed(totals)
        verdict(totals)
    return dag


for _source in CONFIG.sources:
    build(_source)
