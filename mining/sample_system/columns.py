"""The column arrays of one table, collected stage by stage, and code indexes turned into text."""

from __future__ import annotations

import numpy as np


class Columns:
    """Column arrays of one table, collected stage by stage within a chunk."""

    def __init__(self, *names: str) -> None:
        self.names = names
        self.parts: dict[str, list[np.ndarray]] = {k: [] for k in names}

    def add(self, n: int, **cols: object) -> None:
        """Append ``n`` rows; a scalar column value is repeated for all of them."""
        for k in self.names:
            v = np.asarray(cols[k])
            self.parts[k].append(np.broadcast_to(v, (n,)) if v.ndim == 0 else v)

    def sorted(self) -> dict[str, np.ndarray]:
        """All columns, ordered by time, then application, then insertion order."""
        cols = {k: np.concatenate(v) if v else np.zeros(0, np.int64) for k, v in self.parts.items()}
        order = np.lexsort((np.arange(len(cols["t"])), cols["app"], cols["t"]))
        return {k: v[order] for k, v in cols.items()}


def code_text(codes: tuple[str, ...], values: np.ndarray) -> list[str | None]:
    """Code indexes to their text; -1 becomes None (NULL)."""
    return np.array((*codes, None), dtype=object)[values].tolist()
