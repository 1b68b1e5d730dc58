"""The Airflow adapters the DAG files use beside ``mining.orchestration``: what must import Airflow
and still be importable outside the DAG folder (the triggerer runs deadline callbacks by their
dotted path). ``mining`` never imports Airflow; this package does, and nothing in ``mining``
imports it."""
