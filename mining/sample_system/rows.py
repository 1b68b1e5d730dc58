"""Table rows of a simulated chunk, and the fixed staff list, ready for the INSERT statements.

Surrogate keys are given here, in each table's time order, so they follow time as in a real
system. Tables are converted in schema order because ``take_ids`` advances the shared counters
and the IBANs draw from the chunk's generator: the order fixes the output.
"""

from __future__ import annotations

import numpy as np

from mining.sample_system.columns import code_text
from mining.sample_system.journey import Chunk, State
from mining.sample_system.reference import (
    BANKS,
    CHANNELS,
    DOC_TYPES,
    FINAL,
    FIRST_NAMES,
    LAST_NAMES,
    PRODUCTS,
    PURPOSES,
    SENTIMENTS,
    STATUSES,
    SUBMIT,
    SYSTEM,
    TEAM,
    TEAMS,
)


def chunk_rows(chunk: Chunk) -> dict[str, list[tuple]]:
    """Rows per table, each table ordered by time; surrogate keys follow that order."""
    return {
        "customers": chunk.customer_rows,
        "applications": _application_rows(chunk),
        "status_history": _status_rows(chunk),
        "contacts": _contact_rows(chunk),
        "document_requests": _document_rows(chunk),
        "decisions": _decision_rows(chunk),
        "payments": _payment_rows(chunk),
    }


def employee_rows() -> list[tuple]:
    """Fixed staff list; employee 1 is the SYSTEM user that performs automated steps."""
    rows = []
    for team, role, _count in TEAMS:
        lo, hi = TEAM[team]
        for eid in range(lo, hi + 1):
            first, last = (
                FIRST_NAMES[eid * 7 % len(FIRST_NAMES)],
                LAST_NAMES[eid * 11 % len(LAST_NAMES)],
            )
            rows.append((eid, "SYSTEM" if team == "system" else f"{first} {last}", team, role))
    return rows


def take_ids(state: State, table: str, cols: dict[str, np.ndarray]) -> list[int]:
    """The next surrogate keys of ``table`` for these rows."""
    first = state.next_id[table]
    state.next_id[table] = first + len(cols["t"])
    return list(range(first, state.next_id[table]))


def _application_rows(chunk: Chunk) -> list[tuple]:
    # Application ids were given when the chunk was made (they are the case keys of the
    # simulation); only the counter moves on here.
    rows = list(
        zip(
            chunk.app.tolist(),
            chunk.cust.tolist(),
            code_text(PRODUCTS, chunk.product),
            chunk.amount.tolist(),
            chunk.t_sub.tolist(),
            code_text(SUBMIT, chunk.sub_channel),
            code_text(FINAL, chunk.final),
            strict=True,
        )
    )
    chunk.state.next_id["applications"] += chunk.n
    return rows


def _status_rows(chunk: Chunk) -> list[tuple]:
    c = chunk.status.sorted()
    return list(
        zip(
            take_ids(chunk.state, "status_history", c),
            c["app"].tolist(),
            code_text(STATUSES, c["status"]),
            c["t"].tolist(),
            c["emp"].tolist(),
            strict=True,
        )
    )


def _contact_rows(chunk: Chunk) -> list[tuple]:
    c = chunk.contacts.sorted()
    return list(
        zip(
            take_ids(chunk.state, "contacts", c),
            c["app"].tolist(),
            chunk.cust[c["app"] - chunk.app[0]].tolist(),
            c["t"].tolist(),
            code_text(CHANNELS, c["channel"]),
            code_text(("inbound", "outbound"), c["direction"]),
            code_text(PURPOSES, c["purpose"]),
            c["emp"].tolist(),
            # automated: no employee took part on the bank's side
            (c["emp"] == SYSTEM).astype(np.int64).tolist(),
            np.where(np.isnan(c["wait"]), None, c["wait"]).tolist(),
            code_text(SENTIMENTS, c["sent"]),
            strict=True,
        )
    )


def _document_rows(chunk: Chunk) -> list[tuple]:
    c = chunk.docs.sorted()
    received = c["received"].tolist()
    return list(
        zip(
            take_ids(chunk.state, "document_requests", c),
            c["app"].tolist(),
            code_text(DOC_TYPES, c["type"]),
            c["t"].tolist(),
            code_text(CHANNELS, c["channel"]),
            received,  # twice: the INSERT turns -1 into NULL
            received,
            c["emp"].tolist(),
            strict=True,
        )
    )


def _decision_rows(chunk: Chunk) -> list[tuple]:
    c = chunk.decisions.sorted()
    return list(
        zip(
            take_ids(chunk.state, "decisions", c),
            c["app"].tolist(),
            code_text(("credit_decision", "second_approval"), c["type"]),
            code_text(("approved", "declined"), c["outcome"]),
            c["t"].tolist(),
            c["emp"].tolist(),
            strict=True,
        )
    )


def _payment_rows(chunk: Chunk) -> list[tuple]:
    c = chunk.payments.sorted()
    k = len(c["t"])
    banks = code_text(BANKS, chunk.rng.integers(0, len(BANKS), k))
    tails = chunk.rng.integers(0, 10_000, k).tolist()
    return list(
        zip(
            take_ids(chunk.state, "payments", c),
            c["app"].tolist(),
            c["t"].tolist(),
            c["amount"].tolist(),
            [f"NL**{b}******{x:04d}" for b, x in zip(banks, tails, strict=True)],
            strict=True,
        )
    )
