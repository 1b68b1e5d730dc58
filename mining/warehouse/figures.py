"""Figures that leave SQL for Python: floats rounded to 12 significant digits.

The same rounding as the SQL macro ``mot_figure`` (migration 008): both give the double nearest to
the 12-digit decimal, so a figure rounded in SQL and again here stays the same value.
"""

from __future__ import annotations

import math

SIGNIFICANT_DIGITS = 12


def stable_figure(value):
    """``value`` with every float in it rounded to ``SIGNIFICANT_DIGITS`` significant digits.

    DuckDB adds floats up in parallel, in an order that changes from run to run, so an average can
    come out as -1.068256713942107 in one run and -1.0682567139420653 in the next. Rounded here,
    where figures leave SQL (the report's reader, the waste analysis), the same warehouse gives the
    same bytes. Lists and
    structs (dicts) are rounded inside; NaN, infinities and everything that is not a float pass as
    they are.
    """
    if isinstance(value, float):
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}") if math.isfinite(value) else value
    if isinstance(value, list | tuple):
        return type(value)(stable_figure(v) for v in value)
    if isinstance(value, dict):
        return {k: stable_figure(v) for k, v in value.items()}
    return value
