"""A deterministic simulator of a consumer-loan origination system, written to SQLite.

The database looks like a real business system (surrogate keys, naive local timestamps, status
codes, contact purposes), and has known effects injected so that the analytics can be tested
against a ground truth (see ``ground_truth.yaml`` and ``data/sample_system/GROUND_TRUTH.md``):

* waste: a rework loop (``Documents requested`` repeated), a zero-value ``Internal double-check``,
  a ``Courtesy call`` that changes nothing, a redundant ``Second approval``;
* a vicious circle: a latent per-case *frustration* ``F`` grows with the bank-side waits the
  customer sits through; ``F`` makes later waits longer (the file falls to the bottom of the pile),
  later contacts more often negative, repeated document requests and status enquiries likelier,
  and withdrawal likelier;
* an upstream drop-out cause: cases whose documents were requested by *letter* withdraw about
  three times as often, mostly right after ``Offer sent`` (where they leave is not the cause).

How it is built: applications are simulated stage by stage with numpy, vectorised over chunks of
``CHUNK`` cases, so a million cases need no per-case Python objects. All times are integer seconds
of naive Europe/Amsterdam wall-clock time; SQLite formats them with ``datetime(?, 'unixepoch')``.
Nothing happens between 23:30 and 06:30, so no time falls into a daylight-saving gap or overlap.
The same ``(n_cases, seed)`` gives a byte-identical file: one ``numpy.random.default_rng(seed)``
drives everything, chunks are processed in order, and rows are inserted in a fixed sort order.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

# ---------------------------------------------------------------------------------------------
# Calendar
DAY = 86_400
HOUR = 3_600
BASE_DATE = "2025-01-06"  # a Monday; the first day applications can arrive
BASE = int(np.datetime64(BASE_DATE, "s").astype(np.int64))
SPAN_DAYS = 364  # applications arrive over 52 weeks, whatever n_cases is
OPEN, CLOSE = 8 * HOUR, 17 * HOUR  # office hours, Monday to Friday
CHUNK = 50_000  # cases simulated and inserted together

# ---------------------------------------------------------------------------------------------
# Injected effects (documented in GROUND_TRUTH.md; change both together)
P_DOUBLE_CHECK = 0.85  # waste (b): share of cases with an 'Internal double-check'
P_COURTESY = 0.40  # waste (c): share of cases with a 'Courtesy call', the same in every outcome
SECOND_APPROVAL_FROM = 10_000  # waste (d): approved amounts from here get a 'Second approval'
P_REPEAT = (0.34, 0.28)  # waste (a): P(another document request) after round 1 and round 2 ...
K_REPEAT = 0.06  # ... plus this per unit of frustration (at most 3 requests)

# Vicious circle. Exogenous trigger: some files are parked in a queue for 3-8 extra days.
P_PARK_INTAKE = 0.10  # before the first document request
P_PARK_UNDERWRITING = 0.15  # before the credit decision
PARK_DAYS = (3, 8)
# A bank-side wait adds K_WAIT frustration per day beyond what the customer expects for it
# (about the 75th percentile of that wait in a file that is not parked):
EXPECT_INTAKE, EXPECT_REVIEW, EXPECT_DECISION, EXPECT_OFFER, EXPECT_PAYOUT = 3.0, 2.0, 5.0, 2.0, 4.0
K_WAIT = 0.5
F_REWORK = 0.4  # having to send documents again
F_ENQUIRY = 0.3  # having to chase the bank by phone or e-mail
F_MAX = 6.0
BACKLOG = 0.60  # later bank-side waits are multiplied by (1 + BACKLOG * F)
HESITATE = 0.40  # the customer's own replies (documents, signing) by (1 + HESITATE * F)
ENQ_PER_DAY, ENQ_PER_F = 0.08, 0.15  # P(status enquiry) = 1 - exp(-(a*(wait-2 days) + b*F))
NEG_BASE, NEG_PER_F = 0.08, 0.35  # P(negative sentiment) = 1 - exp(-(base + k*F))

P_DROP_DOCS, K_DROP_DOCS = 0.008, 0.01  # withdraw while documents are outstanding
P_DROP_WAIT, K_DROP_WAIT = 0.002, 0.008  # withdraw while waiting for the credit decision
P_DROP_OFFER, K_DROP_OFFER = 0.05, 0.5  # withdraw right after 'Offer sent': base*(1+k*F) ...
LETTER_FACTOR = 4.0  # ... times this when documents were requested by letter (upstream cause)

# ---------------------------------------------------------------------------------------------
# Code lists: the index is what the simulation stores, the text is what the database holds.
CHANNELS = ("phone", "email", "letter", "portal", "branch")
PHONE, EMAIL, LETTER, PORTAL, BRANCH = range(5)
PREFERRED = ("email", "portal", "letter", "phone")  # customers.preferred_channel
P_PREF_YOUNG, P_PREF_OLD = (0.45, 0.30, 0.12, 0.13), (0.35, 0.12, 0.40, 0.13)
SEGMENTS = ("new", "existing", "premium")
PRODUCTS = ("personal_loan", "car_loan", "renovation_loan")
SUBMIT = ("portal", "branch", "phone")  # applications.submission_channel
PURPOSES = (
    "confirmation",
    "courtesy_call",
    "status_enquiry",
    "decision_notice",
    "offer",
    "offer_acceptance",
    "withdrawal",
    "payout_confirmation",
)
CONFIRM, COURTESY, ENQUIRY, NOTICE, OFFER, ACCEPT, WITHDRAW, PAYCONF = range(8)
STATUSES = ("REGISTERED", "CREDIT_CHECK_DONE", "DOUBLE_CHECK_DONE", "CONTRACT_PREPARED")
SENTIMENTS = ("positive", "neutral", "negative")
DOC_TYPES = (
    "proof_of_income",
    "identity_document",
    "bank_statements",
    "payslip",
    "employer_statement",
)
DOC_FIRST, DOC_REPEAT = (0, 1, 2), (3, 2, 4, 1)  # what is asked first, and what is asked again
FINAL = ("paid_out", "declined", "withdrawn")

FIRST_NAMES = (
    "Anna", "Bram", "Charlotte", "Daan", "Emma", "Finn", "Julia", "Lars", "Lotte", "Luuk",
    "Maria", "Milan", "Noah", "Olivia", "Ruben", "Sanne", "Sem", "Sophie", "Thijs", "Tess",
    "Willem", "Yara", "Jan", "Ingrid", "Pieter", "Fatima", "Mohamed", "Eva", "Kees", "Nina",
)  # fmt: skip
LAST_NAMES = (
    "de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser",
    "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks",
    "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer",
)  # fmt: skip
CITIES = (
    "Amsterdam", "Rotterdam", "Den Haag", "Utrecht", "Eindhoven", "Groningen", "Tilburg",
    "Almere", "Breda", "Nijmegen", "Haarlem", "Arnhem", "Zwolle", "Leiden", "Maastricht",
)  # fmt: skip
BANKS = ("INGB", "RABO", "ABNA", "SNSB", "ASNB", "TRIO", "KNAB", "BUNQ")

# Employees: (team, role, how many). employee_id 1 is the SYSTEM user for automated steps.
TEAMS = (
    ("system", "automation", 1),
    ("front office", "customer service agent", 12),
    ("credit", "credit analyst", 8),
    ("back office", "loan administrator", 10),
    ("management", "credit manager", 3),
)
SYSTEM = 1


def _team_ranges() -> dict[str, tuple[int, int]]:
    """First and last employee_id of each team, in TEAMS order."""
    ranges, first = {}, 1
    for team, _role, count in TEAMS:
        ranges[team] = (first, first + count - 1)
        first += count
    return ranges


TEAM = _team_ranges()

SCHEMA = """
CREATE TABLE customers (
    customer_id       INTEGER PRIMARY KEY,
    name              TEXT NOT NULL,
    birth_year        INTEGER NOT NULL,
    segment           TEXT NOT NULL,
    preferred_channel TEXT NOT NULL,
    city              TEXT NOT NULL,
    created_at        TEXT NOT NULL
);
CREATE TABLE employees (
    employee_id INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    team        TEXT NOT NULL,
    role        TEXT NOT NULL
);
CREATE TABLE applications (
    application_id     INTEGER PRIMARY KEY,
    customer_id        INTEGER NOT NULL REFERENCES customers,
    product            TEXT NOT NULL,
    amount_requested   INTEGER NOT NULL,
    submitted_at       TEXT NOT NULL,
    submission_channel TEXT NOT NULL,
    final_status       TEXT NOT NULL
);
CREATE TABLE status_history (
    history_id     INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications,
    status         TEXT NOT NULL,
    changed_at     TEXT NOT NULL,
    changed_by     INTEGER NOT NULL REFERENCES employees
);
CREATE TABLE contacts (
    contact_id         INTEGER PRIMARY KEY,
    application_id     INTEGER NOT NULL REFERENCES applications,
    customer_id        INTEGER NOT NULL REFERENCES customers,
    contact_at         TEXT NOT NULL,
    channel            TEXT NOT NULL,
    direction          TEXT NOT NULL,
    purpose            TEXT NOT NULL,
    employee_id        INTEGER NOT NULL REFERENCES employees,
    automated          INTEGER NOT NULL,
    wait_minutes       REAL,
    customer_sentiment TEXT
);
CREATE TABLE document_requests (
    request_id     INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications,
    document_type  TEXT NOT NULL,
    requested_at   TEXT NOT NULL,
    requested_via  TEXT NOT NULL,
    received_at    TEXT,
    requested_by   INTEGER NOT NULL REFERENCES employees
);
CREATE TABLE decisions (
    decision_id    INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications,
    decision_type  TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    decided_at     TEXT NOT NULL,
    decided_by     INTEGER NOT NULL REFERENCES employees
);
CREATE TABLE payments (
    payment_id     INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications,
    paid_at        TEXT NOT NULL,
    amount         INTEGER NOT NULL,
    iban_masked    TEXT NOT NULL
);
"""

# Created after the bulk insert (faster); the extraction mappings join on these.
INDEXES = """
CREATE INDEX applications_customer ON applications(customer_id);
CREATE INDEX status_history_application ON status_history(application_id);
CREATE INDEX contacts_application ON contacts(application_id);
CREATE INDEX document_requests_application ON document_requests(application_id);
CREATE INDEX decisions_application ON decisions(application_id);
CREATE INDEX payments_application ON payments(application_id);
"""

TABLES = (
    "customers",
    "employees",
    "applications",
    "status_history",
    "contacts",
    "document_requests",
    "decisions",
    "payments",
)

TS = "datetime(?, 'unixepoch')"  # integer seconds of naive local time -> 'YYYY-MM-DD HH:MM:SS'
INSERT = {
    "customers": f"INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, {TS})",
    "applications": f"INSERT INTO applications VALUES (?, ?, ?, ?, {TS}, ?, ?)",
    "status_history": f"INSERT INTO status_history VALUES (?, ?, ?, {TS}, ?)",
    "contacts": f"INSERT INTO contacts VALUES (?, ?, ?, {TS}, ?, ?, ?, ?, ?, ?, ?)",
    "document_requests": (
        f"INSERT INTO document_requests VALUES (?, ?, ?, {TS}, ?, "
        f"CASE WHEN ? < 0 THEN NULL ELSE datetime(?, 'unixepoch') END, ?)"
    ),
    "decisions": f"INSERT INTO decisions VALUES (?, ?, ?, ?, {TS}, ?)",
    "payments": f"INSERT INTO payments VALUES (?, ?, {TS}, ?, ?)",
}


# ---------------------------------------------------------------------------------------------
# Small vectorised helpers
def _office(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
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


def _hours(rng: np.random.Generator, median: float | np.ndarray, sigma: float, n: int) -> np.ndarray:
    """Log-normal durations in seconds with the given median (hours); at least ten minutes."""
    return np.maximum(600, (median * HOUR * rng.lognormal(0.0, sigma, n)).astype(np.int64))


def _slowed(
    rng: np.random.Generator,
    median: float | np.ndarray,
    sigma: float,
    f: np.ndarray,
    k: float = 0.0,
) -> np.ndarray:
    """Durations like ``_hours``, stretched by frustration: times ``1 + k * f`` (vicious circle)."""
    return (_hours(rng, median, sigma, len(f)) * (1.0 + k * f)).astype(np.int64)


def _between(rng: np.random.Generator, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A time in office hours strictly between ``a`` and ``b`` (``b - a`` must exceed 15 min)."""
    t = _office(a + ((b - a) * rng.uniform(0.3, 0.8, len(a))).astype(np.int64), rng)
    t = np.where(t >= b - 60, b - rng.integers(60, 600, len(a)), t)
    return np.maximum(t, a + 30)


def _staff(rng: np.random.Generator, team: str, n: int) -> np.ndarray:
    """Random employee ids of ``team``."""
    lo, hi = TEAM[team]
    return rng.integers(lo, hi + 1, n)


def _frustrate(f: np.ndarray, wait_s: np.ndarray, expect_days: float) -> np.ndarray:
    """Frustration after a bank-side wait of ``wait_s`` seconds (the vicious-circle driver)."""
    return np.minimum(F_MAX, f + K_WAIT * np.maximum(0.0, wait_s / DAY - expect_days))


def _sentiment(rng: np.random.Generator, f: np.ndarray, p_recorded: float) -> np.ndarray:
    """Sentiment codes (index into SENTIMENTS, -1 = not recorded); frustration makes it worse."""
    n = len(f)
    recorded = rng.random(n) < p_recorded
    p_neg = 1.0 - np.exp(-(NEG_BASE + NEG_PER_F * f))
    p_pos = (1.0 - p_neg) * 0.55 * np.exp(-0.35 * f)
    u = rng.random(n)
    code = np.where(u < p_neg, 2, np.where(u < p_neg + p_pos, 0, 1))
    return np.where(recorded, code, -1).astype(np.int8)


def _queue_minutes(rng: np.random.Generator, f: np.ndarray) -> np.ndarray:
    """Hold time of an inbound call; frustrated customers call when the backlog is worst."""
    return np.round(3.0 * rng.lognormal(0.0, 0.7, len(f)) * (1.0 + 0.5 * f), 1)


class _Rows:
    """Column arrays of one table, collected stage by stage within a chunk."""

    def __init__(self, *names: str) -> None:
        self.names = names
        self.parts: dict[str, list[np.ndarray]] = {k: [] for k in names}

    def add(self, n: int, **cols: object) -> None:
        for k in self.names:
            v = np.asarray(cols[k])
            self.parts[k].append(np.broadcast_to(v, (n,)) if v.ndim == 0 else v)

    def sorted(self) -> dict[str, np.ndarray]:
        """All columns, ordered by time, then application, then insertion order."""
        cols = {k: np.concatenate(v) if v else np.zeros(0, np.int64) for k, v in self.parts.items()}
        order = np.lexsort((np.arange(len(cols["t"])), cols["app"], cols["t"]))
        return {k: v[order] for k, v in cols.items()}


# ---------------------------------------------------------------------------------------------
# The simulation
class _State:
    """Counters and per-customer attributes that carry over from chunk to chunk."""

    def __init__(self, n_cases: int) -> None:
        self.next_id = dict.fromkeys(TABLES, 1)
        self.n_customers = 0
        self.pref = np.zeros(n_cases + 1, np.int8)  # by customer_id
        self.segment = np.zeros(n_cases + 1, np.int8)


def _arrivals(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Submission times (sorted, so application ids follow time) and submission channels."""
    channel = rng.choice(3, size=n, p=(0.60, 0.15, 0.25))
    # The portal is open 07:00-23:00 every day; branch and phone in office hours on weekdays.
    week = BASE + rng.integers(0, SPAN_DAYS // 7, n) * 7 * DAY  # BASE is a Monday
    portal = week + rng.integers(0, 7, n) * DAY + rng.integers(7 * HOUR, 23 * HOUR, n)
    staffed = week + rng.integers(0, 5, n) * DAY + rng.integers(OPEN, CLOSE, n)
    t = np.where(channel == 0, portal, staffed)
    order = np.argsort(t, kind="stable")
    return t[order], channel[order]


def _text(codes: tuple[str, ...], values: np.ndarray) -> list[str | None]:
    """Code indexes to their text; -1 becomes None (NULL)."""
    return np.array((*codes, None), dtype=object)[values].tolist()


class _Chunk:
    """One chunk of applications, simulated stage by stage; every array has one value per case.

    Per-case state: ``alive`` (still in the process), ``final`` (index into FINAL) and ``f``, the
    latent frustration that drives the vicious circle.
    """

    def __init__(self, rng: np.random.Generator, state: _State, t_sub: np.ndarray, channel: np.ndarray) -> None:
        self.rng, self.state = rng, state
        self.n = n = len(t_sub)
        self.t_sub, self.sub_channel = t_sub, channel
        self.app = state.next_id["applications"] + np.arange(n)
        self.all = np.arange(n)
        self.alive = np.ones(n, bool)
        self.final = np.zeros(n, np.int8)
        self.f = np.zeros(n)
        self.status = _Rows("app", "t", "status", "emp")
        self.contacts = _Rows("app", "t", "channel", "direction", "purpose", "emp", "wait", "sent")
        self.docs = _Rows("app", "t", "type", "channel", "received", "emp")
        self.decisions = _Rows("app", "t", "type", "outcome", "emp")
        self.payments = _Rows("app", "t", "amount")
        self.customer_rows = self._customers()
        self._application()

    # --- master data -------------------------------------------------------------------------
    def _customers(self) -> list[tuple]:
        """Pick each application's customer; about 6% are customers who applied before."""
        rng, state, n = self.rng, self.state, self.n
        is_new = rng.random(n) >= 0.06
        if state.n_customers == 0:
            is_new[0] = True
        new_before = np.cumsum(is_new) - is_new
        known = state.n_customers + new_before  # customers that exist when this one applies
        reuse = 1 + (rng.random(n) * np.maximum(known, 1)).astype(np.int64)
        self.cust = np.where(is_new, known + 1, reuse)
        ids = self.cust[is_new]
        k = len(ids)
        birth = rng.integers(1945, 2006, k)
        pref = np.where(birth < 1965, rng.choice(4, k, p=P_PREF_OLD), rng.choice(4, k, p=P_PREF_YOUNG))
        segment = rng.choice(3, k, p=(0.55, 0.35, 0.10))
        state.pref[ids], state.segment[ids] = pref, segment
        state.n_customers += k
        # Existing customers were onboarded years ago, new ones just before they applied.
        onboarded = BASE - rng.integers(30, 7000, k) * DAY + rng.integers(9 * HOUR, 17 * HOUR, k)
        created = np.where(segment == 0, self.t_sub[is_new] - rng.integers(120, 1800, k), onboarded)
        first = _text(FIRST_NAMES, rng.integers(0, len(FIRST_NAMES), k))
        last = _text(LAST_NAMES, rng.integers(0, len(LAST_NAMES), k))
        names = [f"{a} {b}" for a, b in zip(first, last, strict=True)]
        city = _text(CITIES, rng.integers(0, len(CITIES), k))
        return list(
            zip(
                ids.tolist(),
                names,
                birth.tolist(),
                _text(SEGMENTS, segment),
                _text(PREFERRED, pref),
                city,
                created.tolist(),
                strict=True,
            )
        )

    def _application(self) -> None:
        """Product, amount, and the channels the bank will use with this customer."""
        rng, n = self.rng, self.n
        self.pref = self.state.pref[self.cust]
        self.segment = self.state.segment[self.cust]
        self.product = rng.choice(3, n, p=(0.60, 0.25, 0.15))
        amount = rng.lognormal(np.log(12_000), 0.6, n) * np.array([1.0, 1.3, 1.1])[self.product]
        self.amount = (np.clip(amount, 2_000, 75_000) / 500).round().astype(np.int64) * 500
        # The clerk requests documents on the customer's preferred channel, mostly.
        doc_p = np.array(
            [
                [0.85, 0.05, 0.10],  # prefers e-mail -> email, portal, letter
                [0.15, 0.85, 0.00],  # prefers portal
                [0.10, 0.00, 0.90],  # prefers letter
                [0.50, 0.00, 0.50],  # prefers phone
            ]
        )
        pick = (rng.random(n)[:, None] >= np.cumsum(doc_p[self.pref], axis=1)).sum(axis=1)
        self.doc_channel = np.array([EMAIL, PORTAL, LETTER])[pick]
        letter = (self.pref == 2) | (self.pref == 3)  # prefers letter or phone
        self.notice_channel = np.where(letter, LETTER, EMAIL)
        self.offer_channel = np.where(self.pref == 1, PORTAL, self.notice_channel)

    # --- building blocks ---------------------------------------------------------------------
    def contact(self, idx, t, channel, direction, purpose, emp, wait=np.nan, sent=-1) -> None:
        """Record contacts of the cases ``idx`` (direction: 0 inbound, 1 outbound)."""
        self.contacts.add(
            len(idx),
            app=self.app[idx],
            t=t,
            channel=channel,
            direction=direction,
            purpose=purpose,
            emp=emp,
            wait=wait,
            sent=sent,
        )

    def customer_call(self, idx, t, purpose, fk, p_phone) -> None:
        """An inbound contact: by phone (hold time, sentiment noted by the agent) or e-mail."""
        rng, k = self.rng, len(idx)
        ch = np.where(rng.random(k) < p_phone, PHONE, EMAIL)
        phone = ch == PHONE
        wait = np.where(phone, _queue_minutes(rng, fk), np.nan)
        sent = np.where(phone, _sentiment(rng, fk, 0.9), -1)
        self.contact(idx, t, ch, 0, purpose, _staff(rng, "front office", k), wait, sent)

    def enquiries(self, start: np.ndarray, end: np.ndarray, expect: float) -> None:
        """'Status enquiry' calls while the customer waits for the bank: likelier when the wait
        is long and the customer already frustrated."""
        rng, f = self.rng, self.f
        days = (end - start) / DAY
        p = 1.0 - np.exp(-(ENQ_PER_DAY * np.maximum(0.0, days - 2.0) + ENQ_PER_F * f))
        idx = np.flatnonzero(self.alive & (rng.random(self.n) < p) & (end - start > 1200))
        t = _between(rng, start[idx], end[idx])
        fk = _frustrate(f[idx], t - start[idx], expect)  # the wait so far weighs on the call
        self.customer_call(idx, t, ENQUIRY, fk, 0.85)
        # Having to chase is frustrating in itself; the wait is counted when it ends.
        f[idx] = np.minimum(F_MAX, f[idx] + F_ENQUIRY)

    def withdraw(self, mask: np.ndarray, t: np.ndarray) -> None:
        """'Customer withdrew' at ``t`` (phone, e-mail or portal self-service); ends the case."""
        rng = self.rng
        idx = np.flatnonzero(mask)
        k = len(idx)
        portal = rng.random(k) < 0.2
        fk = self.f[idx] + 1.0  # nobody leaves happy
        self.customer_call(idx[~portal], t[idx[~portal]], WITHDRAW, fk[~portal], 0.6)
        self.contact(idx[portal], t[idx[portal]], PORTAL, 0, WITHDRAW, SYSTEM)
        self.final[idx] = 2
        self.alive &= ~mask

    # --- the process -------------------------------------------------------------------------
    def run(self) -> None:
        """Simulate every stage, in process order."""
        self.intake()
        self.documents()
        self.decision()
        self.offer_and_payout()
        self.courtesy_calls()

    def intake(self) -> None:
        """Confirmation e-mail, registration, credit check, double-check, first document request."""
        rng, n, app = self.rng, self.n, self.app
        self.t_conf = self.t_sub + rng.integers(30, 900, n)
        self.contact(self.all, self.t_conf, EMAIL, 1, CONFIRM, SYSTEM)
        self.t_reg = _office(self.t_conf + _hours(rng, 2.0, 0.8, n), rng)
        self.status.add(n, app=app, t=self.t_reg, status=0, emp=_staff(rng, "back office", n))
        t_chk = _office(self.t_reg + _hours(rng, 3.0, 0.7, n), rng)
        self.status.add(n, app=app, t=t_chk, status=1, emp=_staff(rng, "credit", n))
        # Some files are parked in the intake queue: the exogenous trigger of the vicious circle.
        park = (rng.random(n) < P_PARK_INTAKE) * rng.integers(PARK_DAYS[0] * DAY, PARK_DAYS[1] * DAY, n)
        self.t_req = _office(t_chk + 1800 + _hours(rng, 8.0, 0.7, n) + park, rng)
        # Waste (b): the internal double-check, done while the document request is prepared.
        # Nothing branches on it and it delays nothing, so it cannot change any outcome: it
        # costs effort and a hand-off only.
        dc = rng.random(n) < P_DOUBLE_CHECK
        t_dc = _between(rng, t_chk, self.t_req)
        emp = _staff(rng, "credit", n)
        self.status.add(int(dc.sum()), app=app[dc], t=t_dc[dc], status=2, emp=emp[dc])
        self.enquiries(self.t_conf, self.t_req, EXPECT_INTAKE)
        self.f = _frustrate(self.f, self.t_req - self.t_conf, EXPECT_INTAKE)
        self.f_intake = self.f.copy()

    def documents(self) -> None:
        """Up to three rounds of 'Documents requested' / 'Documents received'.

        Waste (a): rounds 2 and 3 are rework, because the first answer was incomplete.
        """
        rng, n, f = self.rng, self.n, self.f
        self.last_recv = np.zeros(n, np.int64)
        need = self.alive.copy()
        t_req = self.t_req
        reply_h = np.where(self.doc_channel == LETTER, 130.0, np.where(self.doc_channel == EMAIL, 40.0, 30.0))
        for rnd in range(3):
            idx = np.flatnonzero(need)
            if rnd > 0:
                t_req = _office(self.last_recv + _slowed(rng, 20.0, 0.6, f, BACKLOG), rng)
                waited = _frustrate(f[idx], t_req[idx] - self.last_recv[idx], EXPECT_REVIEW)
                f[idx] = np.minimum(F_MAX, waited + F_REWORK)
            drop = need & (rng.random(n) < np.minimum(0.3, P_DROP_DOCS + K_DROP_DOCS * f))
            self.withdraw(drop, _office(t_req + rng.integers(DAY, 8 * DAY, n), rng))
            got = need & ~drop
            # The customer's own turnaround (post, e-mail) is not a bank-side wait.
            t_recv = _office(t_req + _slowed(rng, reply_h, 0.5, f, HESITATE), rng)
            kinds = np.array(DOC_REPEAT if rnd else DOC_FIRST)
            kinds = kinds[rng.integers(0, len(kinds), n)]
            self.docs.add(
                len(idx),
                app=self.app[idx],
                t=t_req[idx],
                type=kinds[idx],
                channel=self.doc_channel[idx],
                received=np.where(got, t_recv, -1)[idx],
                emp=_staff(rng, "back office", len(idx)),
            )
            self.last_recv = np.where(got, t_recv, self.last_recv)
            p_repeat = np.minimum(0.8, P_REPEAT[min(rnd, 1)] + K_REPEAT * f)
            need = got & (rng.random(n) < p_repeat) if rnd < 2 else np.zeros(n, bool)

    def decision(self) -> None:
        """Credit decision (the value step), second approval (waste d), decision notification."""
        rng, n, f = self.rng, self.n, self.f
        start = self.last_recv
        park = (rng.random(n) < P_PARK_UNDERWRITING) * rng.integers(PARK_DAYS[0] * DAY, PARK_DAYS[1] * DAY, n)
        t_dec = _office(start + _slowed(rng, 30.0, 0.6, f, BACKLOG) + park, rng)
        p_drop = np.minimum(0.3, P_DROP_WAIT + K_DROP_WAIT * f)
        drop = self.alive & (rng.random(n) < p_drop) & (t_dec - start > 1200)
        self.withdraw(drop, _between(rng, start, np.maximum(t_dec, start + 1201)))
        # The real decision: depends on the customer and the amount, on nothing in the process.
        logit = 1.2 + np.array([0.0, 0.6, 1.2])[self.segment] - 0.9 * np.log(self.amount / 12_000)
        approved = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
        idx = np.flatnonzero(self.alive)
        self.decisions.add(
            len(idx),
            app=self.app[idx],
            t=t_dec[idx],
            type=0,
            outcome=np.where(approved[idx], 0, 1),
            emp=_staff(rng, "credit", len(idx)),
        )
        # Waste (d): the second approval always agrees with the first; it only adds a wait.
        sa = self.alive & approved & (self.amount >= SECOND_APPROVAL_FROM)
        t_sa = _office(t_dec + _slowed(rng, 26.0, 0.4, f, BACKLOG), rng)
        idx = np.flatnonzero(sa)
        emp = _staff(rng, "management", len(idx))
        self.decisions.add(len(idx), app=self.app[idx], t=t_sa[idx], type=1, outcome=0, emp=emp)
        # Decision notification: an automated letter or e-mail, for approvals and declines.
        self.t_dl = _office(np.where(sa, t_sa, t_dec) + _slowed(rng, 3.0, 0.8, f, BACKLOG), rng)
        self.enquiries(start, self.t_dl, EXPECT_DECISION)
        self.f = f = np.where(self.alive, _frustrate(f, self.t_dl - start, EXPECT_DECISION), f)
        idx = np.flatnonzero(self.alive)
        self.contact(idx, self.t_dl[idx], self.notice_channel[idx], 1, NOTICE, SYSTEM)
        self.final[self.alive & ~approved] = 1
        self.alive &= approved

    def offer_and_payout(self) -> None:
        """Offer, the main drop-out point (cause upstream: documents by letter), signing, payout."""
        rng, n = self.rng, self.n
        t_off = _office(self.t_dl + _slowed(rng, 5.0, 0.8, self.f, BACKLOG), rng)
        self.f = f = np.where(self.alive, _frustrate(self.f, t_off - self.t_dl, EXPECT_OFFER), self.f)
        idx = np.flatnonzero(self.alive)
        emp = _staff(rng, "back office", len(idx))
        self.contact(idx, t_off[idx], self.offer_channel[idx], 1, OFFER, emp)
        cause = np.where(self.doc_channel == LETTER, LETTER_FACTOR, 1.0)
        p_drop = np.minimum(0.9, P_DROP_OFFER * cause * (1.0 + K_DROP_OFFER * f))
        drop = self.alive & (rng.random(n) < p_drop)
        self.withdraw(drop, _office(t_off + _hours(rng, 40.0, 0.7, n), rng))
        # The customer signs on the portal (no staff involved) or in a branch.
        by_letter = self.offer_channel == LETTER
        t_acc = _office(t_off + _slowed(rng, np.where(by_letter, 96.0, 30.0), 0.5, f, HESITATE), rng)
        idx = np.flatnonzero(self.alive)
        k = len(idx)
        branch = (rng.random(n) < np.where(by_letter, 0.6, 0.25))[idx]
        emp = np.where(branch, _staff(rng, "front office", k), SYSTEM)
        sent = np.where(branch, _sentiment(rng, f[idx], 0.9), _sentiment(rng, f[idx], 0.4))
        self.contact(idx, t_acc[idx], np.where(branch, BRANCH, PORTAL), 0, ACCEPT, emp, np.nan, sent)
        t_con = _office(t_acc + _slowed(rng, 8.0, 0.6, f, BACKLOG), rng)
        self.status.add(k, app=self.app[idx], t=t_con[idx], status=3, emp=_staff(rng, "back office", k))
        t_pay = _office(t_con + _slowed(rng, 24.0, 0.5, f, BACKLOG), rng)
        self.enquiries(t_acc, t_pay, EXPECT_PAYOUT)
        self.f = f = np.where(self.alive, _frustrate(self.f, t_pay - t_acc, EXPECT_PAYOUT), self.f)
        self.payments.add(k, app=self.app[idx], t=t_pay[idx], amount=self.amount[idx])
        t_conf = t_pay + rng.integers(120, 1800, n)
        self.contact(idx, t_conf[idx], EMAIL, 1, PAYCONF, SYSTEM, np.nan, _sentiment(rng, f[idx], 0.3))

    def courtesy_calls(self) -> None:
        """Waste (c): an outbound 'Courtesy call' between registration and the document request.

        It changes nothing, so it is placed after the fact: the same share P_COURTESY of every
        outcome group gets one, and outcome rates with and without a call are identical.
        """
        rng, n = self.rng, self.n
        t = _office(self.t_reg + _hours(rng, 1.5, 0.8, n), rng)
        t = np.maximum(np.minimum(t, self.t_req - rng.integers(60, 600, n)), self.t_reg + 60)
        for outcome in range(len(FINAL)):
            members = np.flatnonzero(self.final == outcome)
            k = int(round(P_COURTESY * len(members)))
            idx = np.sort(rng.choice(members, k, replace=False))
            # Frustration at that point is only what the intake wait caused; the courtesy call
            # is recorded as it would have been then (hold time 0: the bank calls out).
            emp = _staff(rng, "front office", k)
            sent = _sentiment(rng, self.f_intake[idx], 0.9)
            self.contact(idx, t[idx], PHONE, 1, COURTESY, emp, 0.0, sent)

    # --- output ------------------------------------------------------------------------------
    def rows(self) -> dict[str, list[tuple]]:
        """Rows per table, each table ordered by time; surrogate keys follow that order."""
        state = self.state
        out: dict[str, list[tuple]] = {"customers": self.customer_rows}
        out["applications"] = list(
            zip(
                self.app.tolist(),
                self.cust.tolist(),
                _text(PRODUCTS, self.product),
                self.amount.tolist(),
                self.t_sub.tolist(),
                _text(SUBMIT, self.sub_channel),
                _text(FINAL, self.final),
                strict=True,
            )
        )
        state.next_id["applications"] += self.n
        c = self.status.sorted()
        out["status_history"] = list(
            zip(
                _ids(state, "status_history", c),
                c["app"].tolist(),
                _text(STATUSES, c["status"]),
                c["t"].tolist(),
                c["emp"].tolist(),
                strict=True,
            )
        )
        c = self.contacts.sorted()
        out["contacts"] = list(
            zip(
                _ids(state, "contacts", c),
                c["app"].tolist(),
                self.cust[c["app"] - self.app[0]].tolist(),
                c["t"].tolist(),
                _text(CHANNELS, c["channel"]),
                _text(("inbound", "outbound"), c["direction"]),
                _text(PURPOSES, c["purpose"]),
                c["emp"].tolist(),
                # automated: no employee took part on the bank's side
                (c["emp"] == SYSTEM).astype(np.int64).tolist(),
                np.where(np.isnan(c["wait"]), None, c["wait"]).tolist(),
                _text(SENTIMENTS, c["sent"]),
                strict=True,
            )
        )
        c = self.docs.sorted()
        received = c["received"].tolist()
        out["document_requests"] = list(
            zip(
                _ids(state, "document_requests", c),
                c["app"].tolist(),
                _text(DOC_TYPES, c["type"]),
                c["t"].tolist(),
                _text(CHANNELS, c["channel"]),
                received,  # twice: the INSERT turns -1 into NULL
                received,
                c["emp"].tolist(),
                strict=True,
            )
        )
        c = self.decisions.sorted()
        out["decisions"] = list(
            zip(
                _ids(state, "decisions", c),
                c["app"].tolist(),
                _text(("credit_decision", "second_approval"), c["type"]),
                _text(("approved", "declined"), c["outcome"]),
                c["t"].tolist(),
                c["emp"].tolist(),
                strict=True,
            )
        )
        c = self.payments.sorted()
        k = len(c["t"])
        banks = _text(BANKS, self.rng.integers(0, len(BANKS), k))
        tails = self.rng.integers(0, 10_000, k).tolist()
        out["payments"] = list(
            zip(
                _ids(state, "payments", c),
                c["app"].tolist(),
                c["t"].tolist(),
                c["amount"].tolist(),
                [f"NL**{b}******{x:04d}" for b, x in zip(banks, tails, strict=True)],
                strict=True,
            )
        )
        return out


def _ids(state: _State, table: str, cols: dict[str, np.ndarray]) -> list[int]:
    """The next surrogate keys of ``table`` for these rows."""
    first = state.next_id[table]
    state.next_id[table] = first + len(cols["t"])
    return list(range(first, state.next_id[table]))


def _employees() -> list[tuple]:
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


# ---------------------------------------------------------------------------------------------
def generate(path: str | Path, n_cases: int = 2000, seed: int = 42) -> dict[str, int]:
    """Write a fresh loan-origination database with ``n_cases`` applications to ``path``.

    Overwrites ``path``. The same ``(n_cases, seed)`` gives a byte-identical file. Returns the row
    count of each table, in schema order.
    """
    if n_cases < 1:
        raise ValueError(f"n_cases must be at least 1, got {n_cases}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, path.with_name(path.name + "-journal")):
        stale.unlink(missing_ok=True)
    rng = np.random.default_rng(seed)
    state = _State(n_cases)
    t_sub, sub_channel = _arrivals(rng, n_cases)
    counts = dict.fromkeys(TABLES, 0)
    con = sqlite3.connect(path, isolation_level=None)
    try:
        # No journal and no fsync: the file is written once, from scratch, and rebuilt on failure.
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        con.execute("PRAGMA cache_size=-200000")
        con.execute("BEGIN")
        for statement in SCHEMA.split(";"):
            if statement.strip():
                con.execute(statement)
        employees = _employees()
        con.executemany("INSERT INTO employees VALUES (?, ?, ?, ?)", employees)
        counts["employees"] = len(employees)
        for start in range(0, n_cases, CHUNK):
            stop = min(n_cases, start + CHUNK)
            chunk = _Chunk(rng, state, t_sub[start:stop], sub_channel[start:stop])
            chunk.run()
            rows = chunk.rows()
            for table in TABLES:
                if table in rows:
                    con.executemany(INSERT[table], rows[table])
                    counts[table] += len(rows[table])
        for statement in INDEXES.split(";"):
            if statement.strip():
                con.execute(statement)
        con.execute("COMMIT")
    except BaseException:
        con.close()
        path.unlink(missing_ok=True)
        raise
    con.close()
    return counts


def expected_event_count(db_path: str | Path) -> int:
    """How many events the extraction mappings must yield, counted from the business tables.

    One event per application, status change, contact, document request, received document,
    decision and payment. Deliberately plain SQL, independent of the mapping queries.
    """
    con = sqlite3.connect(Path(db_path).resolve().as_uri() + "?mode=ro", uri=True)
    try:
        (total,) = con.execute(
            """
            SELECT (SELECT count(*) FROM applications)
                 + (SELECT count(*) FROM status_history)
                 + (SELECT count(*) FROM contacts)
                 + (SELECT count(*) FROM document_requests)
                 + (SELECT count(*) FROM document_requests WHERE received_at IS NOT NULL)
                 + (SELECT count(*) FROM decisions)
                 + (SELECT count(*) FROM payments)
            """
        ).fetchone()
    finally:
        con.close()
    return int(total)
