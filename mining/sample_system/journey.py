"""The customer journey: applications simulated stage by stage, one chunk of cases at a time.

Intake, document rounds, the credit decision, offer and payout, and the courtesy calls placed
after the fact. Each stage records its rows in ``Columns`` collectors; ``rows.chunk_rows`` turns
them into table rows. Per-case state is numpy arrays, so a million cases need no per-case objects.
"""

from __future__ import annotations

import numpy as np

from mining.sample_system.columns import Columns, code_text
from mining.sample_system.draws import (
    call_hold_minutes,
    frustrated,
    in_office_hours,
    lognormal_hours,
    random_staff,
    sentiment_codes,
    slowed_hours,
    time_between,
)
from mining.sample_system.parameters import (
    BACKLOG,
    BASE,
    CLOSE,
    DAY,
    ENQ_PER_DAY,
    ENQ_PER_F,
    EXPECT_DECISION,
    EXPECT_INTAKE,
    EXPECT_OFFER,
    EXPECT_PAYOUT,
    EXPECT_REVIEW,
    F_ENQUIRY,
    F_MAX,
    F_REWORK,
    HESITATE,
    HOUR,
    K_DROP_DOCS,
    K_DROP_OFFER,
    K_DROP_WAIT,
    K_REPEAT,
    LETTER_FACTOR,
    OPEN,
    P_COURTESY,
    P_DOUBLE_CHECK,
    P_DROP_DOCS,
    P_DROP_OFFER,
    P_DROP_WAIT,
    P_PARK_INTAKE,
    P_PARK_UNDERWRITING,
    P_REPEAT,
    PARK_DAYS,
    SECOND_APPROVAL_FROM,
    SPAN_DAYS,
)
from mining.sample_system.reference import (
    ACCEPT,
    BRANCH,
    CITIES,
    CONFIRM,
    COURTESY,
    DOC_FIRST,
    DOC_REPEAT,
    EMAIL,
    ENQUIRY,
    FINAL,
    FIRST_NAMES,
    LAST_NAMES,
    LETTER,
    NOTICE,
    OFFER,
    P_PREF_OLD,
    P_PREF_YOUNG,
    PAYCONF,
    PHONE,
    PORTAL,
    PREFERRED,
    SEGMENTS,
    SYSTEM,
    TABLES,
    WITHDRAW,
)


class State:
    """Counters and per-customer attributes that carry over from chunk to chunk."""

    def __init__(self, n_cases: int) -> None:
        self.next_id = dict.fromkeys(TABLES, 1)
        self.n_customers = 0
        self.pref = np.zeros(n_cases + 1, np.int8)  # by customer_id
        self.segment = np.zeros(n_cases + 1, np.int8)


def arrivals(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Submission times (sorted, so application ids follow time) and submission channels."""
    channel = rng.choice(3, size=n, p=(0.60, 0.15, 0.25))
    # The portal is open 07:00-23:00 every day; branch and phone in office hours on weekdays.
    week = BASE + rng.integers(0, SPAN_DAYS // 7, n) * 7 * DAY  # BASE is a Monday
    portal = week + rng.integers(0, 7, n) * DAY + rng.integers(7 * HOUR, 23 * HOUR, n)
    staffed = week + rng.integers(0, 5, n) * DAY + rng.integers(OPEN, CLOSE, n)
    t = np.where(channel == 0, portal, staffed)
    order = np.argsort(t, kind="stable")
    return t[order], channel[order]


class Chunk:
    """One chunk of applications, simulated stage by stage; every array has one value per case.

    Per-case state: ``alive`` (still in the process), ``final`` (index into FINAL) and ``f``, the
    latent frustration that drives the vicious circle.
    """

    def __init__(self, rng: np.random.Generator, state: State, t_sub: np.ndarray, channel: np.ndarray) -> None:
        self.rng, self.state = rng, state
        self.n = n = len(t_sub)
        self.t_sub, self.sub_channel = t_sub, channel
        self.app = state.next_id["applications"] + np.arange(n)
        self.all = np.arange(n)
        self.alive = np.ones(n, bool)
        self.final = np.zeros(n, np.int8)
        self.f = np.zeros(n)
        self.status = Columns("app", "t", "status", "emp")
        self.contacts = Columns("app", "t", "channel", "direction", "purpose", "emp", "wait", "sent")
        self.docs = Columns("app", "t", "type", "channel", "received", "emp")
        self.decisions = Columns("app", "t", "type", "outcome", "emp")
        self.payments = Columns("app", "t", "amount")
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
        first = code_text(FIRST_NAMES, rng.integers(0, len(FIRST_NAMES), k))
        last = code_text(LAST_NAMES, rng.integers(0, len(LAST_NAMES), k))
        names = [f"{a} {b}" for a, b in zip(first, last, strict=True)]
        city = code_text(CITIES, rng.integers(0, len(CITIES), k))
        return list(
            zip(
                ids.tolist(),
                names,
                birth.tolist(),
                code_text(SEGMENTS, segment),
                code_text(PREFERRED, pref),
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
        wait = np.where(phone, call_hold_minutes(rng, fk), np.nan)
        sent = np.where(phone, sentiment_codes(rng, fk, 0.9), -1)
        self.contact(idx, t, ch, 0, purpose, random_staff(rng, "front office", k), wait, sent)

    def enquiries(self, start: np.ndarray, end: np.ndarray, expect: float) -> None:
        """'Status enquiry' calls while the customer waits for the bank: likelier when the wait
        is long and the customer already frustrated."""
        rng, f = self.rng, self.f
        days = (end - start) / DAY
        p = 1.0 - np.exp(-(ENQ_PER_DAY * np.maximum(0.0, days - 2.0) + ENQ_PER_F * f))
        idx = np.flatnonzero(self.alive & (rng.random(self.n) < p) & (end - start > 1200))
        t = time_between(rng, start[idx], end[idx])
        fk = frustrated(f[idx], t - start[idx], expect)  # the wait so far weighs on the call
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
        self.t_reg = in_office_hours(self.t_conf + lognormal_hours(rng, 2.0, 0.8, n), rng)
        self.status.add(n, app=app, t=self.t_reg, status=0, emp=random_staff(rng, "back office", n))
        t_chk = in_office_hours(self.t_reg + lognormal_hours(rng, 3.0, 0.7, n), rng)
        self.status.add(n, app=app, t=t_chk, status=1, emp=random_staff(rng, "credit", n))
        # Some files are parked in the intake queue: the exogenous trigger of the vicious circle.
        park = (rng.random(n) < P_PARK_INTAKE) * rng.integers(PARK_DAYS[0] * DAY, PARK_DAYS[1] * DAY, n)
        self.t_req = in_office_hours(t_chk + 1800 + lognormal_hours(rng, 8.0, 0.7, n) + park, rng)
        # Waste (b): the internal double-check, done while the document request is prepared.
        # Nothing branches on it and it delays nothing, so it cannot change any outcome: it
        # costs effort and a hand-off only.
        dc = rng.random(n) < P_DOUBLE_CHECK
        t_dc = time_between(rng, t_chk, self.t_req)
        emp = random_staff(rng, "credit", n)
        self.status.add(int(dc.sum()), app=app[dc], t=t_dc[dc], status=2, emp=emp[dc])
        self.enquiries(self.t_conf, self.t_req, EXPECT_INTAKE)
        self.f = frustrated(self.f, self.t_req - self.t_conf, EXPECT_INTAKE)
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
                t_req = in_office_hours(self.last_recv + slowed_hours(rng, 20.0, 0.6, f, BACKLOG), rng)
                waited = frustrated(f[idx], t_req[idx] - self.last_recv[idx], EXPECT_REVIEW)
                f[idx] = np.minimum(F_MAX, waited + F_REWORK)
            drop = need & (rng.random(n) < np.minimum(0.3, P_DROP_DOCS + K_DROP_DOCS * f))
            self.withdraw(drop, in_office_hours(t_req + rng.integers(DAY, 8 * DAY, n), rng))
            got = need & ~drop
            # The customer's own turnaround (post, e-mail) is not a bank-side wait.
            t_recv = in_office_hours(t_req + slowed_hours(rng, reply_h, 0.5, f, HESITATE), rng)
            kinds = np.array(DOC_REPEAT if rnd else DOC_FIRST)
            kinds = kinds[rng.integers(0, len(kinds), n)]
            self.docs.add(
                len(idx),
                app=self.app[idx],
                t=t_req[idx],
                type=kinds[idx],
                channel=self.doc_channel[idx],
                received=np.where(got, t_recv, -1)[idx],
                emp=random_staff(rng, "back office", len(idx)),
            )
            self.last_recv = np.where(got, t_recv, self.last_recv)
            p_repeat = np.minimum(0.8, P_REPEAT[min(rnd, 1)] + K_REPEAT * f)
            need = got & (rng.random(n) < p_repeat) if rnd < 2 else np.zeros(n, bool)

    def decision(self) -> None:
        """Credit decision (the value step), second approval (waste d), decision notification."""
        rng, n, f = self.rng, self.n, self.f
        start = self.last_recv
        park = (rng.random(n) < P_PARK_UNDERWRITING) * rng.integers(PARK_DAYS[0] * DAY, PARK_DAYS[1] * DAY, n)
        t_dec = in_office_hours(start + slowed_hours(rng, 30.0, 0.6, f, BACKLOG) + park, rng)
        p_drop = np.minimum(0.3, P_DROP_WAIT + K_DROP_WAIT * f)
        drop = self.alive & (rng.random(n) < p_drop) & (t_dec - start > 1200)
        self.withdraw(drop, time_between(rng, start, np.maximum(t_dec, start + 1201)))
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
            emp=random_staff(rng, "credit", len(idx)),
        )
        # Waste (d): the second approval always agrees with the first; it only adds a wait.
        sa = self.alive & approved & (self.amount >= SECOND_APPROVAL_FROM)
        t_sa = in_office_hours(t_dec + slowed_hours(rng, 26.0, 0.4, f, BACKLOG), rng)
        idx = np.flatnonzero(sa)
        emp = random_staff(rng, "management", len(idx))
        self.decisions.add(len(idx), app=self.app[idx], t=t_sa[idx], type=1, outcome=0, emp=emp)
        # Decision notification: an automated letter or e-mail, for approvals and declines.
        self.t_dl = in_office_hours(np.where(sa, t_sa, t_dec) + slowed_hours(rng, 3.0, 0.8, f, BACKLOG), rng)
        self.enquiries(start, self.t_dl, EXPECT_DECISION)
        self.f = f = np.where(self.alive, frustrated(f, self.t_dl - start, EXPECT_DECISION), f)
        idx = np.flatnonzero(self.alive)
        self.contact(idx, self.t_dl[idx], self.notice_channel[idx], 1, NOTICE, SYSTEM)
        self.final[self.alive & ~approved] = 1
        self.alive &= approved

    def offer_and_payout(self) -> None:
        """Offer, the main drop-out point (cause upstream: documents by letter), signing, payout."""
        rng, n = self.rng, self.n
        t_off = in_office_hours(self.t_dl + slowed_hours(rng, 5.0, 0.8, self.f, BACKLOG), rng)
        self.f = f = np.where(self.alive, frustrated(self.f, t_off - self.t_dl, EXPECT_OFFER), self.f)
        idx = np.flatnonzero(self.alive)
        emp = random_staff(rng, "back office", len(idx))
        self.contact(idx, t_off[idx], self.offer_channel[idx], 1, OFFER, emp)
        cause = np.where(self.doc_channel == LETTER, LETTER_FACTOR, 1.0)
        p_drop = np.minimum(0.9, P_DROP_OFFER * cause * (1.0 + K_DROP_OFFER * f))
        drop = self.alive & (rng.random(n) < p_drop)
        self.withdraw(drop, in_office_hours(t_off + lognormal_hours(rng, 40.0, 0.7, n), rng))
        # The customer signs on the portal (no staff involved) or in a branch.
        by_letter = self.offer_channel == LETTER
        t_acc = in_office_hours(t_off + slowed_hours(rng, np.where(by_letter, 96.0, 30.0), 0.5, f, HESITATE), rng)
        idx = np.flatnonzero(self.alive)
        k = len(idx)
        branch = (rng.random(n) < np.where(by_letter, 0.6, 0.25))[idx]
        emp = np.where(branch, random_staff(rng, "front office", k), SYSTEM)
        sent = np.where(branch, sentiment_codes(rng, f[idx], 0.9), sentiment_codes(rng, f[idx], 0.4))
        self.contact(idx, t_acc[idx], np.where(branch, BRANCH, PORTAL), 0, ACCEPT, emp, np.nan, sent)
        t_con = in_office_hours(t_acc + slowed_hours(rng, 8.0, 0.6, f, BACKLOG), rng)
        self.status.add(k, app=self.app[idx], t=t_con[idx], status=3, emp=random_staff(rng, "back office", k))
        t_pay = in_office_hours(t_con + slowed_hours(rng, 24.0, 0.5, f, BACKLOG), rng)
        self.enquiries(t_acc, t_pay, EXPECT_PAYOUT)
        self.f = f = np.where(self.alive, frustrated(self.f, t_pay - t_acc, EXPECT_PAYOUT), self.f)
        self.payments.add(k, app=self.app[idx], t=t_pay[idx], amount=self.amount[idx])
        t_conf = t_pay + rng.integers(120, 1800, n)
        self.contact(idx, t_conf[idx], EMAIL, 1, PAYCONF, SYSTEM, np.nan, sentiment_codes(rng, f[idx], 0.3))

    def courtesy_calls(self) -> None:
        """Waste (c): an outbound 'Courtesy call' between registration and the document request.

        It changes nothing, so it is placed after the fact: the same share P_COURTESY of every
        outcome group gets one, and outcome rates with and without a call are identical.
        """
        rng, n = self.rng, self.n
        t = in_office_hours(self.t_reg + lognormal_hours(rng, 1.5, 0.8, n), rng)
        t = np.maximum(np.minimum(t, self.t_req - rng.integers(60, 600, n)), self.t_reg + 60)
        for outcome in range(len(FINAL)):
            members = np.flatnonzero(self.final == outcome)
            k = int(round(P_COURTESY * len(members)))
            idx = np.sort(rng.choice(members, k, replace=False))
            # Frustration at that point is only what the intake wait caused; the courtesy call
            # is recorded as it would have been then (hold time 0: the bank calls out).
            emp = random_staff(rng, "front office", k)
            sent = sentiment_codes(rng, self.f_intake[idx], 0.9)
            self.contact(idx, t[idx], PHONE, 1, COURTESY, emp, 0.0, sent)
