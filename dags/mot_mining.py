"""The mining DAG: scheduled on the Assets of all extraction DAGs (any of them), it runs the
pipeline steps (``mining.pipeline.PROCESS_STEPS``) for every configured process, one mapped task
group per process. See docs/airflow.md.
"""

from __future__ import annotations

from airflow.sdk import DAG, Asset, AssetAny, task, task_group

from mining import orchestration as mot

CONFIG = mot.project()
ASSETS = [Asset(name=mot.asset_name(CONFIG, s), uri=mot.asset_uri(CONFIG, s), group="mot") for s in CONFIG.sources]

with DAG(
    dag_id=mot.MINING_DAG_ID,
    schedule=AssetAny(*ASSETS) if ASSETS else None,
    start_date=mot.START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=mot.task_defaults(),
    tags=["mot", "mining"],
    doc_md=mot.MINING_DOC,
):

    @task
    def processes() -> list[str]:
        return mot.processes()

    @task(pool=mot.POOL)
    def step(name: str, process: str) -> dict:
        return mot.run_step(name, process)

    @task_group
    def mine(process: str) -> None:
        previous = None
        for name in mot.step_names():
            current = step.override(task_id=name)(name, process)
            if previous is not None:
                previous >> current
            previous = current

    mine.expand(process=processes())
