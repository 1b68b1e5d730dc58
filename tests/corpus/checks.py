"""Checks of each log's truth claims on a frame. Each returns a list of violations (empty = the claim holds).

They are plain functions so that tests/test_corpus.py can run them on the generated logs (must be
empty) and on deliberately broken copies (must not be empty): the checks can fail.
"""

from __future__ import annotations

import pandas as pd

from . import measure
from . import simulate as sim

ALPHA = 0.001  # significance level for the independence checks (false alarm 1 in 1000 per check)


def alternatives(df: pd.DataFrame) -> list[str]:
    names = ["Assess claim (centre North)", "Assess claim (centre South)"]
    bad = []
    per_case = df[df["activity"].isin(names)].groupby("case_id")["activity"].agg(list)
    both = per_case[per_case.map(lambda x: len(set(x)) > 1)]
    if len(both):
        bad.append(f"{len(both)} case(s) hold both alternative names, e.g. {both.index[0]}")
    if (per_case.map(len) > 1).any():
        bad.append("an assessment is repeated within a case")
    withdrawn = set(df.loc[df["activity"] == "Claim withdrawn", "case_id"])
    missing = set(df["case_id"]) - withdrawn - set(per_case.index)
    if missing:
        bad.append(f"{len(missing)} case(s) reach the decision without an assessment")
    nxt = measure.next_activity(df)[df["activity"].isin(names)]
    res = df.loc[df["activity"].isin(names), "assessment"]
    expect = res.map({"covered": "Claim approved", "not covered": "Claim rejected"})
    if not nxt.equals(expect):
        bad.append("the step after the assessment does not follow its result")
    # same place in the variants: the variants of the two names are the same after merging
    merged = df["activity"].replace({n: "Assess claim" for n in names})
    variants = (
        df.assign(activity=merged, centre=df["region"])
        .groupby("case_id")
        .agg(v=("activity", tuple), centre=("centre", "first"))
    )
    variants = variants[variants["v"].map(lambda v: "Assess claim" in v)]
    by_centre = variants.groupby("centre")["v"].agg(set)
    if len(by_centre) != 2 or by_centre.iloc[0] != by_centre.iloc[1]:
        bad.append("the two names do not take the same places in the variants")
    return bad


def lifecycle_order(df: pd.DataFrame) -> list[str]:
    """schedule < start < complete within each instance, in that order in the frame."""
    bad = []
    rank = {"schedule": 0, "start": 1, "complete": 2}
    g = df.assign(r=df["lifecycle"].map(rank)).groupby("instance")
    if not (g["r"].diff().dropna() > 0).all():
        bad.append("lifecycle transitions out of order within an instance")
    if not (g["ts"].diff().dropna() > pd.Timedelta(0)).all():
        bad.append("an instance's timestamps do not increase schedule < start < complete")
    if not (g["activity"].nunique() == 1).all():
        bad.append("an instance mixes activities")
    last = g["lifecycle"].last()
    if not (last == "complete").all():
        bad.append("an instance does not end with complete")
    return bad


def timers(df: pd.DataFrame) -> list[str]:
    bad = []
    m = measure.timers(df)
    if m["auto_close"]["cases"] and m["auto_close"]["gap_seconds_after_last_customer_action"] != [
        sim.TM_AUTOCLOSE_DAYS * 86400
    ]:
        bad.append(
            f"auto-close gaps are not all {sim.TM_AUTOCLOSE_DAYS} days: "
            f"{m['auto_close']['gap_seconds_after_last_customer_action'][:5]}"
        )
    if m["reminder"]["events"] and m["reminder"]["gap_seconds_after_information_requested"] != [
        sim.TM_REMINDER_DAYS * 86400
    ]:
        bad.append("reminder gaps are not all 7 days")
    for t in m["monthly_batch"]["distinct_run_times"]:
        ts = pd.Timestamp(t)
        if ts.day != 1 or ts.hour != sim.TM_BATCH_HOUR or ts.minute or ts.second:
            bad.append(f"batch run off the calendar: {t}")
    if m["monthly_batch"]["letter_gap_seconds_after_run"] != [sim.TM_LETTER_AFTER_RUN_H * 3600]:
        bad.append("letters not at a fixed offset after the run")
    last = df.groupby("case_id")["activity"].last()
    closed = df.loc[df["activity"] == "Case auto-closed", "case_id"]
    if not (last.reindex(closed) == "Case auto-closed").all():
        bad.append("something happens after an auto-close")
    return bad


def noise_independent(df: pd.DataFrame) -> list[str]:
    """Clerk and channel of 'Reply to customer' independent of drop-out within cases with the same number
    of replies; the reply count independent of drop-out given the cause."""
    bad = []
    cases = measure.noise_cases(df)
    reply = df[df["activity"] == "Reply to customer"].merge(
        cases[["replies", "dropout"]], left_on="case_id", right_index=True
    )
    for col in ("resource", "channel"):
        t = measure.conditional_chi2(reply, col, "dropout", "replies")
        if t["p_value"] < ALPHA:
            bad.append(f"Reply to customer / {col} depends on drop-out within reply strata (p = {t['p_value']})")
    t = measure.conditional_chi2(cases.assign(k=cases["replies"].clip(upper=3)), "k", "dropout", "poor")
    if t["p_value"] < ALPHA:
        bad.append(f"the reply count depends on drop-out given the cause (p = {t['p_value']})")
    return bad


def cause(df: pd.DataFrame, min_lift: float = 2.0) -> list[str]:
    bad = []
    c = measure.noise_cases(df)
    lift = c.loc[c["poor"], "dropout"].mean() / c["dropout"].mean()
    if not lift > min_lift:
        bad.append(f"lift of the poor identity check on drop-out is {lift:.2f}, not > {min_lift}")
    before = df.groupby("case_id")["activity"].shift(1)[df["activity"] == "Application withdrawn"]
    if set(before) != {"Offer sent"}:
        bad.append(f"drop-out happens elsewhere than after Offer sent: {sorted(set(before))}")
    return bad


def double_check(df: pd.DataFrame) -> list[str]:
    bad = []
    dc = df[df["activity"] == "Double-check"]
    if dc["case_id"].nunique() != df["case_id"].nunique() or len(dc) != dc["case_id"].nunique():
        bad.append("the double-check is not exactly once in every case")
    if set(dc["result"]) != {"confirmed"}:
        bad.append("the double-check's result varies")
    nxt = measure.next_activity(df)[df["activity"] == "Double-check"]
    if set(nxt) != {"Credit check"}:
        bad.append(f"the step after the double-check varies: {sorted(set(nxt.dropna()))}")
    credit = df[df["activity"] == "Credit check"].set_index("case_id")["result"]
    outcome = df.dropna(subset=["outcome"]).groupby("case_id")["outcome"].last()
    x = dc.set_index("case_id")[["resource"]].assign(credit=credit, outcome=outcome, one=1)
    for col in ("credit", "outcome"):
        t = measure.conditional_chi2(x, "resource", col, "one")
        if t["p_value"] < ALPHA:
            bad.append(f"{col} depends on who did the double-check (p = {t['p_value']})")
    return bad
