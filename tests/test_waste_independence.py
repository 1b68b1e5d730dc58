"""waste's chi-square test of independence (mining.waste.units.independence_p) against scipy's."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2_contingency

from mining.waste.units import independence_p


def _random_tables(seed: int, count: int) -> list[list[list[int]]]:
    """Tables as waste forms them: 2-6 value rows of at least 5 cases, 2-5 outcome columns, every
    column holding some count; small and skewed counts included, where Yates' correction matters."""
    rng = np.random.default_rng(seed)
    tables = []
    while len(tables) < count:
        rows, cols = rng.integers(2, 7), rng.integers(2, 6)
        scale = rng.choice([3, 20, 500])
        table = rng.poisson(rng.uniform(0.2, 1.0, size=(rows, cols)) * scale)
        if (table.sum(axis=1) >= 5).all() and (table.sum(axis=0) > 0).all():
            tables.append(table.tolist())
    return tables


@pytest.mark.parametrize("table", _random_tables(seed=20, count=300))
def test_p_equals_scipy(table):
    assert independence_p(table) == pytest.approx(float(chi2_contingency(table)[1]), rel=1e-9, abs=1e-15)


def test_yates_applies_at_one_degree_of_freedom():
    """A 2 x 2 table: the corrected p is larger than the uncorrected one, and equals scipy's."""
    table = [[12, 3], [5, 11]]
    uncorrected = float(chi2_contingency(table, correction=False)[1])
    assert independence_p(table) == pytest.approx(float(chi2_contingency(table)[1]), rel=1e-12)
    assert independence_p(table) > uncorrected


def test_independent_table_is_not_significant():
    """Rows in the same proportions: statistic 0, p 1."""
    assert independence_p([[10, 20, 30], [20, 40, 60]]) == pytest.approx(1.0)
