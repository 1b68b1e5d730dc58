"""Vectorised random draws of the simulation: office hours, durations, staff, frustration, sentiment.

Every function takes and returns one value per case (numpy arrays) and draws from the one
generator it is given, so the order of calls fixes the output.
"""

from __future__ import annotations

import numpy as np

from mining.sample_system.parameters import CLOSE, DAY, F_MAX, HOUR, K_WAIT, NEG_BASE, NEG_PER_F, OPEN
from mining.sample_system.reference import TEAM


def in_office_hours(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Move times outside office hours (Mon-Fri 08:00-17:00) to the next opening, plus jitter.

    Staff only work in office hours, so a step that would finish at night waits for the morning.
    The result is never earlier than ``t``, which keeps every case causally ordered.
    """
    day, sec = np.divmod(t, DAY)
    jitter = rng.integers(0, 90 * 60, size=t.shape)
    late = sec >= CLOSE
    moved = (sec < OPEN) | late
    day = day + late
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    skip = np.where(weekday == 5, 2, np.where(weekday == 6, 1, 0))
    day = day + skip
    moved |= skip > 0
    return day * DAY + np.where(moved, OPEN + jitter, sec)


def lognormal_hours(rng: np.random.Generator, median: float | np.ndarray, sigma: float, n: int) -> np.ndarray:
    """Log-normal durations in seconds with the given median (hours); at least ten minutes."""
    return np.maximum(600, (median * HOUR * rng.lognormal(0.0, sigma, n)).astype(np.int64))


def slowed_hours(
    rng: np.random.Generator,
    median: float | np.ndarray,
    sigma: float,
    f: np.ndarray,
    k: float = 0.0,
) -> np.ndarray:
    """Durations like ``lognormal_hours``, stretched by frustration: times ``1 + k * f`` (vicious circle)."""
    return (lognormal_hours(rng, median, sigma, len(f)) * (1.0 + k * f)).astype(np.int64)


def time_between(rng: np.random.Generator, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A time in office hours strictly between ``a`` and ``b`` (``b - a`` must exceed 15 min)."""
    t = in_office_hours(a + ((b - a) * rng.uniform(0.3, 0.8, len(a))).astype(np.int64), rng)
    t = np.where(t >= b - 60, b - rng.integers(60, 600, len(a)), t)
    return np.maximum(t, a + 30)


def random_staff(rng: np.random.Generator, team: str, n: int) -> np.ndarray:
    """Random employee ids of ``team``."""
    lo, hi = TEAM[team]
    return rng.integers(lo, hi + 1, n)


def frustrated(f: np.ndarray, wait_s: np.ndarray, expect_days: float) -> np.ndarray:
    """Frustration after a bank-side wait of ``wait_s`` seconds (the vicious-circle driver)."""
    return np.minimum(F_MAX, f + K_WAIT * np.maximum(0.0, wait_s / DAY - expect_days))


def sentiment_codes(rng: np.random.Generator, f: np.ndarray, p_recorded: float) -> np.ndarray:
    """Sentiment codes (index into SENTIMENTS, -1 = not recorded); frustration makes it worse."""
    n = len(f)
    recorded = rng.random(n) < p_recorded
    p_neg = 1.0 - np.exp(-(NEG_BASE + NEG_PER_F * f))
    p_pos = (1.0 - p_neg) * 0.55 * np.exp(-0.35 * f)
    u = rng.random(n)
    code = np.where(u < p_neg, 2, np.where(u < p_neg + p_pos, 0, 1))
    return np.where(recorded, code, -1).astype(np.int8)


def call_hold_minutes(rng: np.random.Generator, f: np.ndarray) -> np.ndarray:
    """Hold time of an inbound call; frustrated customers call when the backlog is worst."""
    return np.round(3.0 * rng.lognormal(0.0, 0.7, len(f)) * (1.0 + 0.5 * f), 1)
