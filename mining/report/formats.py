"""How the report writes numbers, durations and dates, and the raw value kept beside each.

Tables and headline numbers show rounded text (``FORMATS``); the exact value goes into the
``data-value`` attribute (``raw``), so a test or a reader can hold every figure against the warehouse.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable


def finite(x) -> bool:
    """True for a number that can be shown (not None, not NaN or infinite)."""
    return x is not None and not (isinstance(x, float) and not math.isfinite(x))


def fmt_int(x) -> str:
    """2000 -> '2,000'."""
    return f"{x:,.0f}" if finite(x) else "n/a"


def fmt_num(x, digits: int = 2) -> str:
    """A number with ``digits`` decimals."""
    return f"{x:,.{digits}f}" if finite(x) else "n/a"


def fmt_pct(x, digits: int = 1) -> str:
    """0.1475 -> '14.8%'."""
    return f"{100 * x:.{digits}f}%" if finite(x) else "n/a"


def fmt_signed(x, digits: int = 2) -> str:
    """A score with its sign: -1.25 -> '−1.25'."""
    return f"{x:+.{digits}f}".replace("-", "−") if finite(x) else "n/a"


def fmt_duration(seconds) -> str:
    """Seconds as the largest sensible unit: '45 s', '12 min', '3.2 h', '17.9 days'."""
    if not finite(seconds):
        return "n/a"
    s = float(seconds)
    if abs(s) < 90:
        return f"{s:.0f} s"
    if abs(s) < 5400:
        return f"{s / 60:.0f} min"
    if abs(s) < 2 * 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


def fmt_date(value) -> str:
    """A timestamp as its UTC date."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).date().isoformat()
    return "n/a" if value is None else str(value)


def fmt_text(x) -> str:
    """Text as is; None as an en dash."""
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, dt.timedelta):
        return fmt_duration(x.total_seconds())
    return str(x)


FORMATS: dict[str, Callable] = {
    "int": fmt_int,
    "auto": lambda x: fmt_int(x) if finite(x) and float(x).is_integer() else fmt_num(x, 3),
    "num": fmt_num,
    "num3": lambda x: fmt_num(x, 3),
    "pct": fmt_pct,
    "pp": lambda x: f"{x:+.1f} pp" if finite(x) else "n/a",
    "score": fmt_signed,
    "dur": fmt_duration,
    "date": fmt_date,
    "text": fmt_text,
    "bool": fmt_text,
}


def raw(x) -> str | None:
    """The value for a ``data-value`` attribute: numbers in full precision, text as is."""
    if x is None:
        return None
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return repr(x) if math.isfinite(x) else None
    if isinstance(x, dt.datetime):
        return x.astimezone(dt.UTC).isoformat()
    if isinstance(x, dt.timedelta):
        return repr(x.total_seconds())
    return str(x)
