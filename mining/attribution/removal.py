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

from mining.attribution.chain import Chain, Entries, Matrix, as_working_matrix, p_dropout, transition_matrix

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


def without_moment(chain: Chain, matrix: Matrix | sparse.spmatrix, activity: str) -> Matrix:
    """The transition matrix with every state whose current moment is ``activity`` skipped
    (dense, or ``Entries`` for a sparse one)."""
    is_x = chain.current_activity == activity
    xs = np.flatnonzero(is_x)
    if not len(xs):
        return matrix
    dense = isinstance(matrix, np.ndarray)
    m = _entries(matrix)
    n, size = chain.n_states, m.shape[1]
    left = m.row_sums() > 0
    at = np.full(size, -1, dtype=np.int64)
    at[xs] = np.arange(len(xs))
    from_x, into_x = is_x[m.rows], at[m.cols] >= 0
    block = np.zeros((len(xs), len(xs)))
    inner = from_x & into_x
    np.add.at(block, (at[m.rows[inner]], at[m.cols[inner]]), m.vals[inner])
    leaving = from_x & ~into_x
    # Only the states the X states lead into (ascending) are columns: the others' would be zero.
    exits, exit_at = np.unique(m.cols[leaving], return_inverse=True)
    out = np.zeros((len(xs), len(exits)))
    np.add.at(out, (at[m.rows[leaving]], exit_at), m.vals[leaving])
    # H[t, j]: from X state t, the probability of leaving the X states into exits[j].
    h = np.linalg.solve(np.eye(len(xs)) - block, out)
    keep = ~from_x & ~into_x
    entering = ~from_x & into_x
    s, t, q = m.rows[entering], m.cols[entering], m.vals[entering]
    ht = h[at[t]]
    e, j = np.nonzero(ht > 0)  # per entering entry in storage order, exits ascending
    u = exits[j]
    memo = chain.skip_candidates
    first, second = (
        np.array(
            [
                _skip_candidates(chain, memo, a, b, c) if c < n else (-1, -1)
                for a, b, c in zip(s[e].tolist(), t[e].tolist(), u.tolist(), strict=True)
            ],
            dtype=np.int64,
        )
        .reshape(-1, 2)
        .T
    )
    # An end state stays what it is; a transient one goes to the first candidate the journeys leave.
    to = np.where(
        (first >= 0) & left[np.maximum(first, 0)],
        first,
        np.where((second >= 0) & left[np.maximum(second, 0)], second, u),
    )
    changed = Entries(
        np.concatenate([m.rows[keep], s[e]]),
        np.concatenate([m.cols[keep], to]),
        np.concatenate([m.vals[keep], q[e] * ht[e, j]]),
        m.shape,
    )
    return changed.toarray() if dense else changed


def _skip_candidates(chain: Chain, memo: dict, s: int, t: int, u: int) -> tuple[int, int]:
    """Where a journey may go from state ``s`` when it skips X (entered at ``t``) and goes on to
    ``u`` (a transient state): the state without X, else (order 2) the observed history with X good
    and X's poor mark forgotten; -1 where it was never observed. The first of them that the
    journeys leave is taken, and failing both, ``u`` itself."""
    found = memo.get((s, t, u))
    if found is None:
        activity = chain.states[t][0][-1][0]
        memory = chain.states[t][1]
        history = (*chain.states[s][0], chain.states[u][0][-1])[-chain.order :]
        good = tuple((a, False) if a == activity else (a, p) for a, p in chain.states[u][0])
        found = tuple(chain.index.get(candidate, -1) for candidate in ((history, memory), (good, memory)))
        memo[(s, t, u)] = found
    return found


def without_poor(chain: Chain, matrix: Matrix | sparse.spmatrix, activity: str) -> Matrix:
    """The transition matrix with the inflow of every poor ``activity`` state sent to its good twin
    (dense, or ``Entries`` for a sparse one)."""
    dense = isinstance(matrix, np.ndarray)
    m = matrix if dense else _entries(matrix)
    left = (matrix.sum(axis=1) if dense else m.row_sums()) > 0
    size = matrix.shape[1]
    target = np.arange(size)
    for poor, twin in chain.poor_twins.get(activity, ()):
        if left[twin]:
            target[poor] = twin
    if (target == np.arange(size)).all():
        return matrix
    if dense:
        moved = np.zeros_like(matrix)
        np.add.at(moved, (slice(None), target), matrix)
        return moved
    return Entries(m.rows, target[m.cols], m.vals, m.shape)


def _entries(matrix: Matrix | sparse.spmatrix) -> Entries:
    if isinstance(matrix, Entries):
        return matrix
    if isinstance(matrix, np.ndarray):
        rows, cols = np.nonzero(matrix)
        return Entries(rows, cols, matrix[rows, cols], matrix.shape)
    return Entries.of(matrix)


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
    dropout = chain.ends_in_dropout
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
