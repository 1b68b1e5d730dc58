"""The simulators of the validation corpus: small event logs whose truth is known by construction.

Each public function ``name(n_cases=..., seed=...)`` returns a pandas DataFrame in the warehouse
vocabulary: ``case_id``, ``activity``, ``ts`` (tz-aware UTC), ``resource``, ``lifecycle``,
``channel`` (``internal`` for back-office steps), ``direction`` (inbound / outbound / internal),
plus the log's own attribute columns (None where they do not apply). Interval logs add ``start_ts``.

Determinism: every draw comes from ``numpy.random.default_rng`` seeded with ``[seed, stream]``; no
wall clock, no uuid. Rows are sorted by case, time and generation order; timestamps are whole
seconds. Components whose removal the truth prices (a double-check, a ping-pong, repeats) draw from
their own per-case stream, so the same seed with ``whatif=...`` gives the same cases without that component:
the difference between the two logs is the exact saving (see ``corpus.truth``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

T0 = pd.Timestamp("2025-01-06 00:00:00", tz="UTC")  # a Monday
BASE_COLUMNS = ["case_id", "activity", "ts", "resource", "lifecycle", "channel", "direction"]

# Stream numbers: the main flow and one stream per removable or noise component.
MAIN, NOISE, WASTE_A, WASTE_B = 0, 1, 2, 3


def _rngs(seed: int) -> dict[int, np.random.Generator]:
    return {k: np.random.default_rng([seed, k]) for k in (MAIN, NOISE)}


def _case_rng(seed: int, stream: int, case_index: int) -> np.random.Generator:
    """A stream of its own for one component of one case: skipping it never shifts any other draw."""
    return np.random.default_rng([seed, stream, case_index])


def _arrivals(rng: np.random.Generator, n: int, span_days: float) -> np.ndarray:
    """Arrival times in hours after T0, sorted, on whole seconds (so fixed timers stay exact after rounding)."""
    return _q(np.sort(rng.uniform(0.0, span_days * 24.0, size=n)))


def _q(hours):
    """Round hours to whole seconds."""
    return np.round(np.asarray(hours) * 3600.0) / 3600.0


def _gamma_h(rng: np.random.Generator, mean_h: float, shape: float = 2.0, floor_h: float = 1 / 60) -> float:
    """A gamma-distributed duration in hours with the given mean, at least ``floor_h`` (one minute)."""
    return max(floor_h, float(rng.gamma(shape, mean_h / shape)))


def _logn_h(rng: np.random.Generator, median_h: float, sigma: float, floor_h: float = 1 / 60) -> float:
    return max(floor_h, float(median_h * np.exp(sigma * rng.standard_normal())))


class _Log:
    """Collects rows; ``t`` is in hours after T0; ``start``/``sched`` likewise (or None)."""

    def __init__(self, prefix: str, extra: list[str], interval: bool = False):
        self.prefix = prefix
        self.extra = extra
        self.interval = interval
        self.rows: list[tuple] = []
        self._seq = 0

    def case_id(self, i: int) -> str:
        return f"{self.prefix}-{i + 1:05d}"

    def add(
        self,
        case: str,
        activity: str,
        t: float,
        resource: str,
        channel: str,
        direction: str,
        lifecycle: str = "complete",
        start: float | None = None,
        **attrs,
    ) -> None:
        unknown = set(attrs) - set(self.extra)
        if unknown:
            raise KeyError(f"attributes not declared for this log: {sorted(unknown)}")
        self._seq += 1
        self.rows.append(
            (
                case,
                activity,
                t,
                resource,
                lifecycle,
                channel,
                direction,
                start,
                self._seq,
                *[attrs.get(c) for c in self.extra],
            )
        )

    def frame(self) -> pd.DataFrame:
        cols = [
            "case_id",
            "activity",
            "t",
            "resource",
            "lifecycle",
            "channel",
            "direction",
            "start_t",
            "_seq",
            *self.extra,
        ]
        df = pd.DataFrame(self.rows, columns=cols)
        df["ts"] = T0 + pd.to_timedelta(np.round(df["t"].to_numpy() * 3600.0).astype("int64"), unit="s")
        if self.interval:
            st = df["start_t"].to_numpy(dtype=float)
            df["start_ts"] = T0 + pd.to_timedelta(np.round(st * 3600.0).astype("int64"), unit="s")
        df = df.sort_values(["case_id", "ts", "_seq"], kind="stable").reset_index(drop=True)
        out = [*BASE_COLUMNS, *(["start_ts"] if self.interval else []), *self.extra]
        return df[out]


# --------------------------------------------------------------------------------------------------
# 1. alternatives: one functional step done by two centres under two names
# --------------------------------------------------------------------------------------------------
ALT_P_NORTH = 0.55  # share of claims from the northern region (assessed by centre North)
ALT_P_COVERED = 0.72  # P(assessment = covered), the same in both centres
ALT_P_PHOTOS = 0.30  # photos requested before the assessment
ALT_P_WITHDRAW_PHOTOS = 0.10  # of those, the customer withdraws instead of sending photos


def alternatives(n_cases: int = 3000, seed: int = 101) -> pd.DataFrame:
    r = _rngs(seed)[MAIN]
    log = _Log("ALT", ["region", "assessment", "outcome"])
    for i, t in enumerate(_arrivals(r, n_cases, 180)):
        c = log.case_id(i)
        region = "North" if r.random() < ALT_P_NORTH else "South"
        log.add(
            c, "Claim submitted", t, "customer", "portal" if r.random() < 0.6 else "phone", "inbound", region=region
        )
        t += _gamma_h(r, 3.0)
        log.add(c, "Claim registered", t, f"intake_{r.integers(1, 6):02d}", "internal", "internal", region=region)
        if r.random() < ALT_P_PHOTOS:
            t += _gamma_h(r, 12.0)
            log.add(c, "Photos requested", t, f"intake_{r.integers(1, 6):02d}", "email", "outbound", region=region)
            if r.random() < ALT_P_WITHDRAW_PHOTOS:
                t += _gamma_h(r, 5 * 24.0)
                log.add(c, "Claim withdrawn", t, "customer", "email", "inbound", region=region, outcome="dropout")
                continue
            t += _logn_h(r, 48.0, 0.6)
            log.add(c, "Photos received", t, "customer", "portal", "inbound", region=region)
        # The functional step "Assess claim": the centre is fixed by the region, never both.
        t += _gamma_h(r, 30.0 if region == "North" else 40.0)
        covered = r.random() < ALT_P_COVERED
        log.add(
            c,
            f"Assess claim (centre {region})",
            t,
            f"assessor_{region[0]}{r.integers(1, 9):02d}",
            "phone",
            "outbound",
            region=region,
            assessment="covered" if covered else "not covered",
        )
        t += _gamma_h(r, 5.0)
        if covered:  # the decision follows the assessment exactly: a value step
            log.add(c, "Claim approved", t, f"handler_{r.integers(1, 6):02d}", "internal", "internal", region=region)
            t += _gamma_h(r, 36.0)
            log.add(c, "Payment made", t, "SYSTEM", "bank_transfer", "outbound", region=region, outcome="success")
        else:
            log.add(c, "Claim rejected", t, f"handler_{r.integers(1, 6):02d}", "internal", "internal", region=region)
            t += _gamma_h(r, 20.0)
            log.add(c, "Rejection letter sent", t, "SYSTEM", "letter", "outbound", region=region, outcome="declined")
    return log.frame()


# --------------------------------------------------------------------------------------------------
# 2. lifecycle_queues: schedule / start / complete, queues, rework on instances
# --------------------------------------------------------------------------------------------------
LQ_P_REWORK = 0.30  # cases with 1-3 repeated document rounds
LQ_MAX_REPEATS = 3
LQ_P_APPROVED = 0.80
SCHEDULE_START_COMPLETE = ("schedule", "start", "complete")


def _queued(
    inst: list,
    case: str,
    rng: np.random.Generator,
    activity: str,
    t: float,
    wait_mean: float,
    service_mean: float,
    who: tuple[str, str, str],
    lifecycles: tuple[str, ...],
    rnd: int | None = None,
) -> float:
    """Append one queued instance (scheduled a few minutes after t, then a wait, then service); return its end."""
    sched = t + rng.uniform(2, 10) / 60.0
    start = sched + _gamma_h(rng, wait_mean)
    done = start + _gamma_h(rng, service_mean, shape=4.0)
    resource, channel, direction = who
    row = (
        case,
        activity,
        sched if "schedule" in lifecycles else None,
        start,
        done,
        resource,
        channel,
        direction,
        lifecycles,
        rnd,
        None,
    )
    inst.append(row)
    return done


def _instant(inst: list, case: str, activity: str, t: float, who: tuple[str, str, str], rnd=None, outcome=None):
    inst.append((case, activity, None, None, t, *who, ("complete",), rnd, outcome))


def _lifecycle_instances(n_cases: int, seed: int, whatif: str | None) -> list[tuple]:
    """Activity instances: (case, activity, schedule_h|None, start_h|None, complete_h, resource, channel,
    direction, lifecycles, round, outcome)."""
    if whatif not in (None, "repeats"):
        raise ValueError(f"lifecycle_queues: unknown whatif {whatif!r}")
    r = _rngs(seed)[MAIN]
    ssc = SCHEDULE_START_COMPLETE
    inst: list[tuple] = []
    for i, t in enumerate(_arrivals(r, n_cases, 120)):
        c = f"LQ-{i + 1:05d}"
        rw = _case_rng(seed, WASTE_A, i)
        _instant(inst, c, "Application received", t, ("customer", "portal", "inbound"))
        t = _queued(
            inst, c, r, "Intake review", t, 8.0, 0.6, (f"intake_{r.integers(1, 5):02d}", "internal", "internal"), ssc
        )
        t = _queued(
            inst, c, r, "Customer call", t, 20.0, 0.25, (f"agent_{r.integers(1, 7):02d}", "phone", "outbound"), ssc
        )
        # Document rounds: round 1 is needed; rounds 2.. are rework, drawn from their own per-case stream.
        n_repeats = int(rw.integers(1, LQ_MAX_REPEATS + 1)) if rw.random() < LQ_P_REWORK else 0
        rounds = 1 if whatif == "repeats" else 1 + n_repeats
        for k in range(1, rounds + 1):
            g = r if k == 1 else rw
            t = _queued(
                inst,
                c,
                g,
                "Request documents",
                t,
                6.0,
                0.3,
                (f"clerk_{g.integers(1, 6):02d}", "email", "outbound"),
                ("start", "complete"),
                k,
            )
            t += _logn_h(g, 72.0, 0.35)  # the customer's turnaround: about three days
            _instant(inst, c, "Documents received", t, ("customer", "portal", "inbound"), rnd=k)
            t = _queued(
                inst,
                c,
                g,
                "Check documents",
                t,
                10.0,
                0.5,
                (f"clerk_{g.integers(1, 6):02d}", "internal", "internal"),
                ssc,
                k,
            )
        approved = r.random() < LQ_P_APPROVED
        t = _queued(
            inst, c, r, "Decision", t, 24.0, 1.0, (f"officer_{r.integers(1, 4):02d}", "internal", "internal"), ssc
        )
        t += _gamma_h(r, 4.0)
        _instant(
            inst,
            c,
            "Decision letter sent",
            t,
            ("SYSTEM", "letter", "outbound"),
            outcome="approved" if approved else "rejected",
        )
    return inst


def lifecycle_queues(n_cases: int = 2500, seed: int = 202, whatif: str | None = None) -> pd.DataFrame:
    """One event per lifecycle transition (2-3 events for a queued instance, 1 for instant ones)."""
    log = _Log("LQ", ["instance", "round", "outcome"])
    for n, (c, a, sched, start, done, res, ch, d, lcs, rnd, outcome) in enumerate(
        _lifecycle_instances(n_cases, seed, whatif)
    ):
        times = {"schedule": sched, "start": start, "complete": done}
        for lc in lcs:
            log.add(
                c,
                a,
                times[lc],
                res,
                ch,
                d,
                lifecycle=lc,
                instance=n + 1,
                round=rnd,
                outcome=outcome if lc == "complete" else None,
            )
    df = log.frame()
    df["instance"] = df["instance"].astype("int64")
    df["round"] = df["round"].astype("Int64")
    return df


def lifecycle_queues_interval(n_cases: int = 2500, seed: int = 202, whatif: str | None = None) -> pd.DataFrame:
    """The same instances as one event each: ``start_ts`` = start (= ts for instant ones), ``ts`` = complete.
    The schedule time is not in this file, so waiting counts from the previous completion."""
    log = _Log("LQ", ["round", "outcome"], interval=True)
    for c, a, _sched, start, done, res, ch, d, _lcs, rnd, outcome in _lifecycle_instances(n_cases, seed, whatif):
        log.add(
            c,
            a,
            done,
            res,
            ch,
            d,
            lifecycle="complete",
            start=done if start is None else start,
            round=rnd,
            outcome=outcome,
        )
    df = log.frame()
    df["round"] = df["round"].astype("Int64")
    return df


# --------------------------------------------------------------------------------------------------
# 3. no_outcomes: cases just end
# --------------------------------------------------------------------------------------------------
NO_P_PINGPONG = 0.20  # tickets reassigned back and forth between two teams
NO_P_DETAILS = 0.30  # details asked from the customer
NO_P_DUPLICATE = 0.05  # closed as duplicate after diagnosis (not an outcome: nobody says how it went)


def no_outcomes(n_cases: int = 3000, seed: int = 303, whatif: str | None = None) -> pd.DataFrame:
    if whatif not in (None, "ping-pong"):
        raise ValueError(f"no_outcomes: unknown whatif {whatif!r}")
    r = _rngs(seed)[MAIN]
    log = _Log("NO", ["team", "priority"])
    for i, t in enumerate(_arrivals(r, n_cases, 90)):
        c = log.case_id(i)
        rw = _case_rng(seed, WASTE_A, i)
        prio = str(r.choice(["low", "medium", "high"], p=[0.5, 0.35, 0.15]))
        log.add(
            c,
            "Ticket opened",
            t,
            "customer",
            str(r.choice(["portal", "email", "phone"], p=[0.5, 0.3, 0.2])),
            "inbound",
            priority=prio,
        )
        t += _gamma_h(r, 3.0)
        log.add(
            c,
            "Take in charge",
            t,
            f"desk_{r.integers(1, 8):02d}",
            "internal",
            "internal",
            team="first line",
            priority=prio,
        )
        if rw.random() < NO_P_PINGPONG:
            m = int(rw.integers(2, 5))
            if whatif != "ping-pong":
                for k in range(m):
                    t += _gamma_h(rw, 5.0)
                    team = "second line" if k % 2 == 0 else "first line"
                    log.add(
                        c,
                        "Ticket reassigned",
                        t,
                        f"{team.split()[0]}_{rw.integers(1, 6):02d}",
                        "internal",
                        "internal",
                        team=team,
                        priority=prio,
                    )
        t += _gamma_h(r, 4.0)
        log.add(
            c, "Diagnose", t, f"desk_{r.integers(1, 8):02d}", "internal", "internal", team="first line", priority=prio
        )
        if r.random() < NO_P_DUPLICATE:
            t += _gamma_h(r, 1.0)
            log.add(
                c,
                "Closed as duplicate",
                t,
                f"desk_{r.integers(1, 8):02d}",
                "internal",
                "internal",
                team="first line",
                priority=prio,
            )
            continue
        if r.random() < NO_P_DETAILS:
            t += _gamma_h(r, 2.0)
            log.add(
                c,
                "Ask customer for details",
                t,
                f"desk_{r.integers(1, 8):02d}",
                "email",
                "outbound",
                team="first line",
                priority=prio,
            )
            t += _logn_h(r, 24.0, 0.7)
            log.add(c, "Customer reply", t, "customer", "email", "inbound", priority=prio)
        t += _gamma_h(r, 6.0)
        log.add(
            c, "Resolve", t, f"desk_{r.integers(1, 8):02d}", "internal", "internal", team="first line", priority=prio
        )
        t += r.uniform(1, 20) / 60.0
        log.add(c, "Resolution sent", t, "SYSTEM", "email", "outbound", priority=prio)
    return log.frame()


# --------------------------------------------------------------------------------------------------
# 4. timers: a fixed-delay auto-close, a timed reminder and a monthly batch run
# --------------------------------------------------------------------------------------------------
TM_AUTOCLOSE_DAYS = 14  # auto-close exactly this long after the customer's last action
TM_REMINDER_DAYS = 7  # reminder exactly this long after "Information requested" when still no answer
TM_BATCH_HOUR = 2  # monthly billing run: 02:00 UTC on the 1st of the month
TM_LETTER_AFTER_RUN_H = 7  # confirmation letters are printed 7 h after the run
TM_P_INFO = 0.60
TM_P_RESPOND = 0.75
TM_P_SECOND_ROUND = 0.20
TM_P_REJECT = 0.10


def _next_batch_h(t_h: float) -> float:
    """Hours after T0 of the first monthly run strictly after t_h."""
    ts = T0 + pd.Timedelta(hours=t_h)
    y, m = ts.year, ts.month
    for _ in range(3):
        run = pd.Timestamp(year=y, month=m, day=1, hour=TM_BATCH_HOUR, tz="UTC")
        if run > ts:
            return (run - T0) / pd.Timedelta(hours=1)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    raise AssertionError("unreachable")


def timers(n_cases: int = 3000, seed: int = 404) -> pd.DataFrame:
    r = _rngs(seed)[MAIN]
    log = _Log("TM", ["outcome", "plan"])
    close_h, remind_h = TM_AUTOCLOSE_DAYS * 24.0, TM_REMINDER_DAYS * 24.0
    for i, t in enumerate(_arrivals(r, n_cases, 150)):
        c = log.case_id(i)
        plan = str(r.choice(["basic", "plus", "family"], p=[0.5, 0.3, 0.2]))
        log.add(c, "Request submitted", t, "customer", "portal" if r.random() < 0.7 else "email", "inbound", plan=plan)
        last_customer = t
        t += _gamma_h(r, 10.0)
        log.add(c, "Request reviewed", t, f"agent_{r.integers(1, 7):02d}", "internal", "internal", plan=plan)
        rounds = (2 if r.random() < TM_P_SECOND_ROUND else 1) if r.random() < TM_P_INFO else 0
        closed = False
        for _ in range(rounds):
            t += _gamma_h(r, 2.0)
            t = asked = float(_q(t))
            log.add(c, "Information requested", t, f"agent_{r.integers(1, 7):02d}", "email", "outbound", plan=plan)
            deadline = last_customer + close_h
            responds = r.random() < TM_P_RESPOND
            answer = float(_q(asked + _logn_h(r, 72.0, 0.8)))
            if responds and answer < deadline:
                if answer - asked > remind_h:
                    log.add(c, "Reminder sent", asked + remind_h, "SYSTEM", "email", "outbound", plan=plan)
                log.add(c, "Customer responded", answer, "customer", "portal", "inbound", plan=plan)
                t = last_customer = answer
                t += _gamma_h(r, 6.0)
                log.add(c, "Response checked", t, f"agent_{r.integers(1, 7):02d}", "internal", "internal", plan=plan)
            else:
                if asked + remind_h < deadline:
                    log.add(c, "Reminder sent", asked + remind_h, "SYSTEM", "email", "outbound", plan=plan)
                log.add(c, "Case auto-closed", deadline, "SYSTEM", "email", "outbound", plan=plan, outcome="dropout")
                closed = True
                break
        if closed:
            continue
        t += _gamma_h(r, 8.0)
        if r.random() < TM_P_REJECT:
            log.add(c, "Request rejected", t, f"agent_{r.integers(1, 7):02d}", "internal", "internal", plan=plan)
            t += r.uniform(5, 60) / 60.0
            log.add(c, "Rejection e-mail sent", t, "SYSTEM", "email", "outbound", plan=plan, outcome="declined")
            continue
        log.add(c, "Request approved", t, f"agent_{r.integers(1, 7):02d}", "internal", "internal", plan=plan)
        run = _next_batch_h(t)
        log.add(c, "Monthly billing run", run, "BATCH", "internal", "internal", plan=plan)
        log.add(
            c,
            "Confirmation letter sent",
            run + TM_LETTER_AFTER_RUN_H,
            "SYSTEM",
            "letter",
            "outbound",
            plan=plan,
            outcome="success",
        )
    return log.frame()


# --------------------------------------------------------------------------------------------------
# 5. noise_and_cause: an upstream cause of drop-out, and a repeated moment with pure-noise attributes
# --------------------------------------------------------------------------------------------------
NC_ID_BUDGET_H = 48.0  # the customer expects the identity check call within 48 h of applying
NC_P_SLOW_QUEUE = 0.30  # files that land in the slow queue (wait 48 h + gamma(2, 24 h))
NC_P_DROP_POOR = 0.45  # P(withdraw after the offer | identity check call missed its budget)
NC_P_DROP_OK = 0.06  # P(withdraw after the offer | it met its budget)
NC_P_EXTRA_REPLY_OK = 0.20  # replies per case = 1 + Binomial(3, p): p depends on the poor identity check,
NC_P_EXTRA_REPLY_POOR = 0.45  # so the count is an echo of the cause, with no effect of its own
NC_CLERKS = [f"clerk_{k:02d}" for k in range(1, 11)]
NC_REPLY_CHANNELS = (["email", "phone", "chat"], [0.5, 0.3, 0.2])
NC_P_DECLINE = {"low": 0.40, "mid": 0.15, "high": 0.05}


def noise_and_cause(n_cases: int = 4000, seed: int = 505) -> pd.DataFrame:
    rngs = _rngs(seed)
    r, noise = rngs[MAIN], rngs[NOISE]
    log = _Log("NC", ["outcome", "income_band"])
    for i, t in enumerate(_arrivals(r, n_cases, 150)):
        c = log.case_id(i)
        band = str(r.choice(["low", "mid", "high"], p=[0.25, 0.5, 0.25]))
        log.add(c, "Application submitted", t, "customer", "portal", "inbound", income_band=band)
        wait = NC_ID_BUDGET_H + _gamma_h(r, 48.0) if r.random() < NC_P_SLOW_QUEUE else _gamma_h(r, 24.0, shape=3.0)
        poor = wait > NC_ID_BUDGET_H
        t += wait
        log.add(c, "Identity check call", t, f"agent_{r.integers(1, 7):02d}", "phone", "outbound", income_band=band)
        k = 1 + int(r.binomial(3, NC_P_EXTRA_REPLY_POOR if poor else NC_P_EXTRA_REPLY_OK))
        for _ in range(k):
            t += _gamma_h(r, 20.0)
            log.add(c, "Customer question", t, "customer", "email", "inbound", income_band=band)
            t += _gamma_h(r, 12.0)
            # clerk and channel of the reply: pure noise, from their own stream
            clerk = NC_CLERKS[int(noise.integers(0, len(NC_CLERKS)))]
            channel = str(noise.choice(NC_REPLY_CHANNELS[0], p=NC_REPLY_CHANNELS[1]))
            log.add(c, "Reply to customer", t, clerk, channel, "outbound", income_band=band)
        t += _gamma_h(r, 16.0)
        log.add(c, "Credit assessment", t, f"analyst_{r.integers(1, 5):02d}", "internal", "internal", income_band=band)
        if r.random() < NC_P_DECLINE[band]:
            t += _gamma_h(r, 4.0)
            log.add(c, "Application declined", t, "SYSTEM", "email", "outbound", income_band=band, outcome="declined")
            continue
        t += _gamma_h(r, 24.0)
        log.add(c, "Offer sent", t, f"analyst_{r.integers(1, 5):02d}", "email", "outbound", income_band=band)
        if r.random() < (NC_P_DROP_POOR if poor else NC_P_DROP_OK):
            t += r.uniform(1, 10) * 24.0
            log.add(c, "Application withdrawn", t, "customer", "email", "inbound", income_band=band, outcome="dropout")
        else:
            t += _logn_h(r, 48.0, 0.5)
            log.add(c, "Contract signed", t, "customer", "portal", "inbound", income_band=band, outcome="success")
    return log.frame()


# --------------------------------------------------------------------------------------------------
# 6. zero_value_check: a double-check in every case that decides nothing, and a ping-pong
# --------------------------------------------------------------------------------------------------
ZV_P_PINGPONG = 0.20
ZV_P_CREDIT_FAIL = {"new": 0.25, "existing": 0.05}
ZV_P_IN_STOCK = {"standard": 0.85, "custom": 0.50}
ZV_CANCEL_BASE, ZV_CANCEL_PER_DAY = 0.05, 0.03


def zero_value_check(n_cases: int = 3000, seed: int = 606, whatif: str | None = None) -> pd.DataFrame:
    if whatif not in (None, "Double-check", "ping-pong"):
        raise ValueError(f"zero_value_check: unknown whatif {whatif!r}")
    r = _rngs(seed)[MAIN]
    log = _Log("ZV", ["team", "result", "outcome", "customer_type", "product"])
    for i, t in enumerate(_arrivals(r, n_cases, 120)):
        c = log.case_id(i)
        rdc, rpp = _case_rng(seed, WASTE_A, i), _case_rng(seed, WASTE_B, i)
        ctype = "new" if r.random() < 0.4 else "existing"
        product = "custom" if r.random() < 0.3 else "standard"
        a = {"customer_type": ctype, "product": product}
        log.add(c, "Order placed", t, "customer", "portal" if r.random() < 0.75 else "phone", "inbound", **a)
        t += r.uniform(1, 10) / 60.0
        log.add(c, "Order confirmation sent", t, "SYSTEM", "email", "outbound", **a)
        t += _gamma_h(r, 2.0)
        log.add(c, "Order registered", t, f"sales_{r.integers(1, 6):02d}", "internal", "internal", team="Sales", **a)
        # The double-check: its own stream; a queue (mean 16 h) and 10-30 min of work; always "confirmed".
        dc_wait = _gamma_h(rdc, 16.0) + rdc.uniform(10, 30) / 60.0
        dc_res = f"control_{rdc.integers(1, 5):02d}"
        if whatif != "Double-check":
            t += dc_wait
            log.add(c, "Double-check", t, dc_res, "internal", "internal", team="Control", result="confirmed", **a)
        t += _gamma_h(r, 4.0)
        ok = r.random() >= ZV_P_CREDIT_FAIL[ctype]
        log.add(
            c,
            "Credit check",
            t,
            f"finance_{r.integers(1, 4):02d}",
            "internal",
            "internal",
            team="Finance",
            result="pass" if ok else "fail",
            **a,
        )
        if not ok:
            t += _gamma_h(r, 2.0)
            log.add(
                c, "Order rejected", t, f"finance_{r.integers(1, 4):02d}", "internal", "internal", team="Finance", **a
            )
            t += r.uniform(5, 30) / 60.0
            log.add(c, "Rejection e-mail sent", t, "SYSTEM", "email", "outbound", outcome="declined", **a)
            continue
        t += _gamma_h(r, 3.0)
        in_stock = r.random() < ZV_P_IN_STOCK[product]
        log.add(
            c,
            "Stock check",
            t,
            f"logistics_{r.integers(1, 6):02d}",
            "internal",
            "internal",
            team="Logistics",
            result="in stock" if in_stock else "backorder",
            **a,
        )
        if not in_stock:
            t += r.uniform(10, 60) / 60.0
            log.add(c, "Backorder notice sent", t, "SYSTEM", "email", "outbound", **a)
            days = _logn_h(r, 5.0, 0.5)  # the backorder wait, in days
            if r.random() < min(0.9, ZV_CANCEL_BASE + ZV_CANCEL_PER_DAY * days):
                t += days * 24.0 * r.uniform(0.2, 0.9)
                log.add(c, "Order cancelled", t, "customer", "phone", "inbound", outcome="dropout", **a)
                continue
            t += days * 24.0
            log.add(
                c,
                "Stock arrived",
                t,
                f"logistics_{r.integers(1, 6):02d}",
                "internal",
                "internal",
                team="Logistics",
                **a,
            )
        # Ping-pong between Logistics and Sales: its own stream.
        pp = (
            [
                (_gamma_h(rpp, 4.0), _gamma_h(rpp, 6.0), int(rpp.integers(1, 6)), int(rpp.integers(1, 6)))
                for _ in range(int(rpp.integers(1, 4)))
            ]
            if rpp.random() < ZV_P_PINGPONG
            else []
        )
        if whatif != "ping-pong":
            for back, fix, lr, sr in pp:
                t += back
                log.add(
                    c,
                    "Order sent back to Sales",
                    t,
                    f"logistics_{lr:02d}",
                    "internal",
                    "internal",
                    team="Logistics",
                    **a,
                )
                t += fix
                log.add(c, "Order corrected by Sales", t, f"sales_{sr:02d}", "internal", "internal", team="Sales", **a)
        t += _gamma_h(r, 5.0)
        log.add(
            c, "Delivery planned", t, f"logistics_{r.integers(1, 6):02d}", "internal", "internal", team="Logistics", **a
        )
        t += _gamma_h(r, 20.0)
        log.add(
            c, "Order shipped", t, f"warehouse_{r.integers(1, 4):02d}", "internal", "internal", team="Warehouse", **a
        )
        t += r.uniform(1, 20) / 60.0
        log.add(c, "Shipping notice sent", t, "SYSTEM", "email", "outbound", **a)
        t += r.uniform(1, 3) * 24.0
        log.add(c, "Order delivered", t, "courier", "face_to_face", "outbound", outcome="success", **a)
    return log.frame()
