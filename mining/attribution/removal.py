"""Removal effects on the chain: drop-outs that would not happen without a moment or its poor variant.

- **moment** X: journeys pass X by. The inflow of every X state goes on along X's outflow (through
  X's own repeats, ``H = (I - Q_XX)^-1 P_X,rest``) into the state the journey would be in had X never
  happened: the same history without X and, with memory, without X's poor mark. Where that state was
  never observed, the journey goes on in the observed one (the estimate keeps X's trace there).
- **poor_variant** X: the inflow of every "X (poor)" state goes to the matching "X" state (same
  history, same memory) when that state was observed; the moment is never poor.

Where the state without X was never observed (order 2: X always stands between the same two
moments), the journey goes on in the observed history with X made good and its poor mark forgotten,
and failing that in the state it was in (the estimate then keeps X's trace: understated).

drop-outs avoided = (P(drop-out | chain) - P(drop-out | chain without it)) x cases. A target that no
drop-out journey passes gets exactly 0: the chain can route probability along paths no case took, and
no drop-out is attributed to a moment that no drop-out passed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from mining.attribution.chain import START, Chain, Matrix, as_working_matrix, p_dropout, transition_matrix

MOMENT = "moment"
POOR_VARIANT = "poor_variant"


@dataclass(frozen=True)
class Target:
    kind: str  # MOMENT | POOR_VARIANT
    activity: str

    @property
    def state(self) -> str:
        return self.activity + (" (poor)" if self.kind == POOR_VARIANT else "")


def targets_of(chain: Chain) -> list[Target]:
    """A moment row per MOT activity, a poor-variant row per activity that is ever poor (sorted)."""
    moments = sorted({a for j in chain.groups for a, _ in j.moments})
    poor = sorted({a for j in chain.groups for a, p in j.moments if p})
    return [Target(MOMENT, a) for a in moments] + [Target(POOR_VARIANT, a) for a in poor]


def passes(chain: Chain, targets: list[Target]) -> sparse.csr_matrix:
    """groups x targets: 1 when the journey passes the target (the moment, or its poor variant)."""
    rows, cols = [], []
    for g, j in enumerate(chain.groups):
        acts = {a for a, _ in j.moments}
        poor = {a for a, p in j.moments if p}
        for k, t in enumerate(targets):
            if t.activity in (acts if t.kind == MOMENT else poor):
                rows.append(g)
                cols.append(k)
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(chain.groups), len(targets)))


def without_moment(chain: Chain, matrix: Matrix, activity: str) -> Matrix:
    """The transition matrix with every state whose current moment is ``activity`` skipped
    (sparse or dense, as given)."""
    is_x = np.array([s != START and s[0][-1][0] == activity for s in chain.states])
    xs = np.flatnonzero(is_x)
    if not len(xs):
        return matrix
    dense = isinstance(matrix, np.ndarray)
    p = matrix if dense else matrix.tocsr()
    left = np.asarray(p.sum(axis=1)).ravel() > 0
    block = p[np.ix_(xs, xs)] if dense else p[xs][:, xs].toarray()
    out = p[xs].copy() if dense else p[xs].toarray()
    out[:, xs] = 0.0
    # H[t, u]: from X state t, the probability of leaving the X states into u (u not an X state).
    h = np.linalg.solve(np.eye(len(xs)) - block, out)
    position = {int(x): i for i, x in enumerate(xs)}
    if dense:
        row, col = np.nonzero(p)
        data = p[row, col]
    else:
        coo = p.tocoo()
        row, col, data = coo.row, coo.col, coo.data
    keep = ~is_x[row] & ~np.isin(col, xs)
    rows, cols, vals = list(row[keep]), list(col[keep]), list(data[keep])
    entering = ~is_x[row] & np.isin(col, xs)
    for s, t, q in zip(row[entering], col[entering], data[entering], strict=True):
        ht = h[position[int(t)]]
        for u in np.flatnonzero(ht > 0):
            rows.append(int(s))
            cols.append(_skipped(chain, int(s), int(t), int(u), left))
            vals.append(q * ht[u])
    if dense:
        changed = np.zeros_like(matrix)
        np.add.at(changed, (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)), vals)
        return changed
    return sparse.csr_matrix((vals, (rows, cols)), shape=matrix.shape)


def _skipped(chain: Chain, s: int, t: int, u: int, left: np.ndarray) -> int:
    """Where a journey goes from state ``s`` when it skips X (entered at ``t``) and goes on to ``u``."""
    n = chain.n_states
    if u >= n:
        return u
    activity = chain.states[t][0][-1][0]
    memory = chain.states[t][1]
    history = (*chain.states[s][0], chain.states[u][0][-1])[-chain.order :]
    # the state without X; else (order 2) the observed history with X good and X's poor mark forgotten
    good = tuple((a, False) if a == activity else (a, p) for a, p in chain.states[u][0])
    for candidate in ((history, memory), (good, memory)):
        found = chain.index.get(candidate)
        if found is not None and left[found]:
            return found
    return u


def without_poor(chain: Chain, matrix: Matrix, activity: str) -> Matrix:
    """The transition matrix with the inflow of every poor ``activity`` state sent to its good twin
    (sparse or dense, as given)."""
    left = np.asarray(matrix.sum(axis=1)).ravel() > 0
    size = matrix.shape[1]
    target = np.arange(size)
    for i, (history, memory) in enumerate(chain.states):
        if history and history[-1] == (activity, True):
            twin = chain.index.get(((*history[:-1], (activity, False)), memory))
            if twin is not None and left[twin]:
                target[i] = twin
    if (target == np.arange(size)).all():
        return matrix
    if isinstance(matrix, np.ndarray):
        moved = np.zeros_like(matrix)
        np.add.at(moved, (slice(None), target), matrix)
        return moved
    mapping = sparse.csr_matrix((np.ones(size), (np.arange(size), target)), shape=(size, size))
    return (matrix @ mapping).tocsr()


@dataclass
class Effects:
    p_dropout: float
    p_without: np.ndarray  # per target
    avoided: np.ndarray  # per target: drop-outs avoided
    n_dropout_through: np.ndarray
    n_cases_through: np.ndarray


def effects(chain: Chain, weights: np.ndarray, targets: list[Target], through: sparse.csr_matrix) -> Effects:
    """Removal effects of ``targets`` on the chain estimated from the journeys with ``weights``."""
    matrix = as_working_matrix(chain, transition_matrix(chain, weights))
    base = p_dropout(chain, matrix)
    dropout = np.array([j.end == "dropout" for j in chain.groups], dtype=float)
    n_dropout_through = through.T @ (weights * dropout)
    n_cases_through = through.T @ weights
    n_cases = float(weights.sum())
    p_without = np.full(len(targets), base)
    for k, t in enumerate(targets):
        if n_dropout_through[k] == 0:
            continue  # exactly 0 by the rule above
        changed = (without_moment if t.kind == MOMENT else without_poor)(chain, matrix, t.activity)
        if changed is not matrix:
            p_without[k] = p_dropout(chain, changed)
    # Rounded to a millionth of a case: the solver's last bits (1e-13) are not a finding.
    avoided = np.round((base - p_without) * n_cases, 6) + 0.0
    avoided[n_dropout_through == 0] = 0.0
    return Effects(base, p_without, avoided, n_dropout_through, n_cases_through)


def bootstrap(
    chain: Chain, targets: list[Target], through: sparse.csr_matrix, resamples: int, seed: int, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of drop-outs avoided per target: cases resampled with replacement.

    A resample of n cases with replacement is a multinomial draw of n over the distinct journeys
    (in their canonical order), from a numpy Generator seeded with ``seed``: deterministic, and
    independent of case names and row order.
    """
    if resamples == 0:
        nan = np.full(len(targets), np.nan)
        return nan, nan.copy()
    rng = np.random.default_rng(seed)
    n = int(chain.weights.sum())
    share = chain.weights / chain.weights.sum()
    draws = np.empty((resamples, len(targets)))
    for b in range(resamples):
        weights = rng.multinomial(n, share).astype(float)
        draws[b] = effects(chain, weights, targets, through).avoided
    alpha = 1.0 - level
    return np.quantile(draws, alpha / 2, axis=0), np.quantile(draws, 1 - alpha / 2, axis=0)
