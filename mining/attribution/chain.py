"""The absorbing Markov chain over the journeys: states, counting, absorption into drop-out.

A journey is ``start -> its moment states in order -> an end state`` ('dropout', 'success' or
'other'). A moment state is the activity split by its poor flag. The chain's *state* is the last
``order`` moment states and, with ``memory``, the set of activities that were poor earlier in the
journey (what the customer remembers of missed expectations: without it, a first-order chain forgets
an upstream poor moment at the next step). ``start`` and the three end states are states too.

Everything here is a pure function of the journeys; cases enter only as counts of identical
journeys (``Chain.weights``), so renaming cases or shuffling rows cannot change a figure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import spsolve

Moment = tuple[str, bool]  # (activity, poor)
# A transient state: (last `order` moments, activities poor before the current moment), or START.
State = tuple[tuple[Moment, ...], tuple[str, ...]]
START: State = ((), ())
ENDS = ("dropout", "success", "other")
END_OF_OUTCOME = {"dropout": "dropout", "success": "success"}  # declined, open, other -> 'other'


@dataclass(frozen=True)
class Journey:
    """The moments of one case in order, and how it ended ('dropout' | 'success' | 'other')."""

    moments: tuple[Moment, ...]
    end: str


def journey(moments: Iterable[Moment], outcome: str) -> Journey:
    """A journey from its moments in order and the case outcome of ``case_outcomes``."""
    return Journey(tuple((str(a), bool(p)) for a, p in moments), END_OF_OUTCOME.get(outcome, "other"))


def states_of(j: Journey, order: int, memory: bool) -> list[State]:
    """The transient states a journey passes, start first."""
    found: list[State] = [START]
    hist: tuple[Moment, ...] = ()
    poor_before: set[str] = set()
    for activity, poor in j.moments:
        hist = (*hist, (activity, poor))[-order:]
        found.append((hist, tuple(sorted(poor_before)) if memory else ()))
        if poor and memory:
            poor_before.add(activity)
    return found


@dataclass
class Chain:
    """The chain of a set of distinct journeys (``groups``, canonically sorted) for one order/memory.

    ``weights`` are the number of cases of each journey; a bootstrap resample gives other weights
    over the same journeys, so every resample shares the state index.
    """

    order: int
    memory: bool
    groups: list[Journey]
    weights: np.ndarray  # cases per journey
    states: list[State]  # transient states; index 0 is START
    index: dict[State, int]
    group_transitions: sparse.csr_matrix  # groups x transitions (count of each transition per journey)
    src: np.ndarray  # transition -> source state index
    dst: np.ndarray  # transition -> target index (transient index, or n_states + end index)
    visits: sparse.csr_matrix  # groups x states: 1 when the journey passes the state

    @property
    def n_states(self) -> int:
        return len(self.states)

    def end_index(self, end: str) -> int:
        return self.n_states + ENDS.index(end)

    @cached_property
    def current_activity(self) -> np.ndarray:
        """Per transient state, the activity of its current moment ('' for START)."""
        return np.array([s[0][-1][0] if s != START else "" for s in self.states], dtype=object)

    @cached_property
    def ends_in_dropout(self) -> np.ndarray:
        """Per journey, 1.0 when it ends in a drop-out."""
        return np.array([j.end == "dropout" for j in self.groups], dtype=float)

    @cached_property
    def poor_twins(self) -> dict[str, list[tuple[int, int]]]:
        """Per activity, the (poor state, its good twin) pairs that were observed."""
        found: dict[str, list[tuple[int, int]]] = {}
        for i, (history, memory) in enumerate(self.states):
            if history and history[-1][1]:
                activity = history[-1][0]
                twin = self.index.get(((*history[:-1], (activity, False)), memory))
                if twin is not None:
                    found.setdefault(activity, []).append((i, twin))
        return found

    @cached_property
    def skip_candidates(self) -> dict[tuple[int, int, int], tuple[int, int]]:
        """Memo of ``mining.attribution.removal``: the states a skip may lead to, per (s, t, u).

        They depend on the chain only, while the bootstrap asks for them once per resample.
        """
        return {}


def group_journeys(journeys: Iterable[Journey]) -> tuple[list[Journey], np.ndarray]:
    """Distinct journeys in a canonical order (by content, never by case id) and their case counts."""
    counts = Counter(journeys)
    groups = sorted(counts, key=lambda j: (j.end, len(j.moments), j.moments))
    return groups, np.array([counts[g] for g in groups], dtype=float)


def build_chain(groups: Sequence[Journey], weights: np.ndarray, order: int, memory: bool) -> Chain:
    """Index the states and transitions of ``groups``."""
    paths = [states_of(j, order, memory) for j in groups]
    seen = {START}
    for path in paths:
        seen.update(path)
    states = [START, *sorted(s for s in seen if s != START)]
    index = {s: i for i, s in enumerate(states)}
    n = len(states)
    pairs: dict[tuple[int, int], int] = {}
    rows, cols, vals, vrows, vcols = [], [], [], [], []
    for g, (j, path) in enumerate(zip(groups, paths, strict=True)):
        ids = [index[s] for s in path] + [n + ENDS.index(j.end)]
        for a, b in zip(ids, ids[1:], strict=False):
            t = pairs.setdefault((a, b), len(pairs))
            rows.append(g)
            cols.append(t)
            vals.append(1.0)
        for s in sorted(set(ids[:-1])):
            vrows.append(g)
            vcols.append(s)
    m = len(groups)
    group_transitions = sparse.csr_matrix((vals, (rows, cols)), shape=(m, len(pairs)))
    visits = sparse.csr_matrix((np.ones(len(vrows)), (vrows, vcols)), shape=(m, n))
    src = np.array([a for a, _ in pairs], dtype=np.int64)
    dst = np.array([b for _, b in pairs], dtype=np.int64)
    return Chain(order, memory, list(groups), weights, states, index, group_transitions, src, dst, visits)


def transition_matrix(chain: Chain, weights: np.ndarray) -> sparse.csr_matrix:
    """P over transient + end states (n x (n + 3)) estimated from the journeys with ``weights``."""
    counts = chain.group_transitions.T @ weights
    n = chain.n_states
    out = np.bincount(chain.src, weights=counts, minlength=n)
    keep = counts > 0
    probs = counts[keep] / out[chain.src[keep]]
    return sparse.csr_matrix((probs, (chain.src[keep], chain.dst[keep])), shape=(n, n + len(ENDS)))


# Up to this many transient states the chain is held as a dense array: a solve of 42 states (BPIC
# 2012's chain) then costs microseconds, where scipy.sparse spends ~1 ms building its objects; the
# bootstrap solves thousands of them. Above it, sparse storage and SuperLU scale better.
DENSE_MAX_STATES = 300


@dataclass(frozen=True)
class Entries:
    """A sparse matrix as its stored entries; duplicates count as their sum.

    The bootstrap solves one chain thousands of times with other weights and removals; building
    scipy.sparse objects for each of them cost more than the solves, plain arrays do not.
    """

    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    shape: tuple[int, int]

    @classmethod
    def of(cls, matrix: sparse.spmatrix) -> Entries:
        """The entries of a scipy sparse matrix, row by row."""
        coo = sparse.coo_matrix(matrix)
        return cls(coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data, coo.shape)

    def row_sums(self) -> np.ndarray:
        return np.bincount(self.rows, weights=self.vals, minlength=self.shape[0])

    def toarray(self) -> np.ndarray:
        out = np.zeros(self.shape)
        np.add.at(out, (self.rows, self.cols), self.vals)
        return out


Matrix = Entries | np.ndarray


def as_working_matrix(chain: Chain, matrix: sparse.csr_matrix) -> Matrix:
    """``matrix`` as the removal and solve functions work on it best for the chain's size."""
    return matrix.toarray() if chain.n_states <= DENSE_MAX_STATES else Entries.of(matrix)


def p_dropout(chain: Chain, matrix: Matrix | sparse.spmatrix) -> float:
    """P(absorbed in 'dropout' | start): solve (I - Q) x = R[:, dropout] (x = N R, column dropout).

    ``matrix`` is dense or sparse (``as_working_matrix``); both give the same figure up to the
    solver's last bits.
    """
    if isinstance(matrix, np.ndarray):
        return _p_dropout_dense(chain, matrix)
    m = matrix if isinstance(matrix, Entries) else Entries.of(matrix)
    n = chain.n_states
    hit = m.cols == chain.end_index("dropout")
    r = np.bincount(m.rows[hit], weights=m.vals[hit], minlength=n)
    if not r.any():
        return 0.0
    # Only states from which some end state can be reached: the others (never left in this sample,
    # or a loop that a removal closed) absorb nothing, x = 0 there, and would make I - Q singular.
    live = reaches_an_end(m, n)
    if not live[0]:
        return 0.0
    keep = np.flatnonzero(live)
    x = spsolve(_i_minus_q(m, live, keep), r[keep])
    return float(np.atleast_1d(x)[0])


def _i_minus_q(m: Entries, live: np.ndarray, keep: np.ndarray) -> sparse.csc_matrix:
    """I - Q over the states ``keep`` (in CSC form), from the entries and the identity's diagonal.

    The entries go in as they are, duplicates included, ordered by column only: ``spsolve`` sums
    duplicates (and sorts each column) before it factors. Cheaper than making them unique here
    with ``np.unique``, or scipy's COO constructor; the bootstrap builds thousands of these.
    """
    n, k = len(live), len(keep)
    at = np.full(n, -1, dtype=np.int64)
    at[keep] = np.arange(k)
    inside = m.cols < n
    both = inside & live[m.rows] & live[np.where(inside, m.cols, 0)]
    diagonal = np.arange(k)
    rows = np.concatenate([diagonal, at[m.rows[both]]])
    cols = np.concatenate([diagonal, at[m.cols[both]]])
    data = np.concatenate([np.ones(k), -m.vals[both]])
    order = np.argsort(cols, kind="stable")  # column by column: CSC
    indptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=k))])
    return sparse.csc_matrix((data[order], rows[order], indptr), shape=(k, k))


def _p_dropout_dense(chain: Chain, matrix: np.ndarray) -> float:
    n = chain.n_states
    r = matrix[:, chain.end_index("dropout")]
    if not r.any():
        return 0.0
    live = _reaches_an_end_dense(matrix, n)  # as in the sparse path: I - Q over these is regular
    if not live[0]:
        return 0.0
    keep = np.flatnonzero(live)
    system = np.eye(len(keep)) - matrix[np.ix_(keep, keep)]
    return float(np.linalg.solve(system, r[keep])[0])


def _reaches_an_end_dense(matrix: np.ndarray, n: int) -> np.ndarray:
    """Transient states from which an end state is reachable, on a dense matrix."""
    step = matrix[:, :n] > 0
    live = matrix[:, n:].sum(axis=1) > 0
    while True:
        grown = live | step[:, live].any(axis=1)
        if (grown == live).all():
            return live
        live = grown


def reaches_an_end(matrix: Entries, n: int) -> np.ndarray:
    """Transient states from which an end state is reachable: breadth-first backwards from the
    states with a way out, one layer of predecessors at a time (no graph object to build)."""
    positive = matrix.vals > 0
    inside = (matrix.cols < n) & positive
    live = np.zeros(n, dtype=bool)
    live[matrix.rows[~inside & positive]] = True
    src, dst = matrix.rows[inside], matrix.cols[inside]
    frontier = live.copy()
    while True:
        found = np.zeros(n, dtype=bool)
        found[src[frontier[dst]]] = True
        found &= ~live
        if not found.any():
            return live
        live |= found
        frontier = found


def support(chain: Chain, min_state_cases: int) -> float:
    """Share of all state visits (cases x moment states) at states that >= ``min_state_cases`` cases pass."""
    cases_per_state = chain.visits.T @ chain.weights
    moment_states = np.arange(1, chain.n_states)  # START is passed by every case
    if not len(moment_states):
        return 1.0
    visits = cases_per_state[moment_states]
    total = visits.sum()
    return 1.0 if total == 0 else float(visits[visits >= min_state_cases].sum() / total)
