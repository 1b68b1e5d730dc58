"""The packages of the distribution; everything else is in pyproject.toml.

Only here because pyproject.toml cannot combine a find with one extra package: the packages found
under mining/, plus mining.sqllib_files, which pyproject.toml's package-dir maps onto queries/.
"""

from setuptools import find_namespace_packages, setup

setup(packages=[*find_namespace_packages(include=["mining*", "mot_airflow*"]), "mining.sqllib_files"])
