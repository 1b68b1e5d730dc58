"""Moments of truth: mark every customer-facing event, score each case's journey over its moments,
measure the knock-on effect between poor moments, and attribute drop-outs to upstream causes.

Modules: ``settings`` (the ``moments`` config section), ``rules`` (marking and outcome rules, pure),
``analysis`` (``analyse(con, process, settings)``: the warehouse tables, counted in the SQL of
``sql/``), ``export`` (the CSV files) and ``step`` (``moments_step`` for mining/pipeline.py).
This package's ``__init__`` imports nothing, so that ``mining.config`` can import the settings
cheaply. Documented in docs/moments.md.
"""
