"""The mining DAG: scheduled on the Assets of all extraction DAGs (any of them); it mines the
processes of the sources whose Asset events triggered the run. One mapped task group per process: ``snapshot`` (events -> Parquet) -> ``analyse`` (the pipeline steps in
a private database, on any worker, all processes at once) -> ``merge`` (results -> warehouse); then
``publish`` once. Only the warehouse tasks share the pool. See docs/airflow.md and docs/scaleout.md.
"""

from __future__ import annotations

from airflow.sdk import DAG, Asset, AssetAny, task, task_group

from mining import orchestration as mot
from mot_airflow import alerts

CONFIG = mot.project()
WARN = CONFIG.alert_settings()
ASSETS = [Asset(name=mot.asset_name(CONFIG, s), uri=mot.asset_uri(CONFIG, s), group="mot") for s in CONFIG.sources]

with DAG(
    dag_id=mot.MINING_DAG_ID,
    schedule=AssetAny(*ASSETS) if ASSETS else None,
    start_date=mot.START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args={**mot.task_defaults(), "on_failure_callback": alerts.on_failure(WARN)},
    deadline=alerts.deadline(WARN),
    tags=["mot", "mining"],
    doc_md=mot.MINING_DOC,
):

    @task(**mot.writer())
    def processes(triggering_asset_events=None) -> list[str]:
        return mot.processes([a.name for a in triggering_asset_events or ()])

    @task(**mot.writer())
    def snapshot(process: str, run_id=None) -> dict:
        return mot.snapshot(process, run_id=run_id)

    @task
    def analyse(work: dict) -> dict:
        return mot.analyse(work)

    @task(**mot.writer())
    def merge(work: dict) -> dict:
        return mot.merge(work)

    @task(**mot.writer())
    def publish(mined: list[str]) -> dict:
        return mot.publish(list(mined))

    @task_group
    def mine(process: str) -> None:
        merge(analyse(snapshot(process)))

    mined = processes()
    mine.expand(process=mined) >> publish(mined)
