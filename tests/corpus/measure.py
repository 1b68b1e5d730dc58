"""Figures measured on generated frames (never typed in by hand): they fill the ``measured`` section of
each truth YAML and are what tests/test_corpus.py checks the design claims against."""

from __future__ import annotations

import pandas as pd
from scipy import stats

from . import simulate as sim

HOUR = pd.Timedelta(hours=1)


def _r(x: float, nd: int = 4) -> float:
    return float(round(float(x), nd))


def basics(df: pd.DataFrame) -> dict:
    n = df["case_id"].nunique()
    out = {
        "cases": int(n),
        "events": int(len(df)),
        "events_per_case": _r(len(df) / n),
        "first_event": df["ts"].min().isoformat(),
        "last_event": df["ts"].max().isoformat(),
        "events_per_activity": {str(k): int(v) for k, v in df["activity"].value_counts().sort_index().items()},
    }
    if "outcome" in df.columns:
        o = df.dropna(subset=["outcome"]).groupby("case_id")["outcome"].last()
        out["cases_per_outcome"] = {str(k): int(v) for k, v in o.value_counts().sort_index().items()}
        out["cases_without_outcome"] = int(n - len(o))
    return out


def case_hours(df: pd.DataFrame) -> float:
    g = df.groupby("case_id")["ts"]
    return float(((g.max() - g.min()) / HOUR).sum())


def saving(before: pd.DataFrame, after: pd.DataFrame, affected: int, instances: tuple[int, int] | None = None) -> dict:
    """What removing a scope saves: the difference between the log and its what-if twin (same seed)."""
    n = before["case_id"].nunique()
    if after["case_id"].nunique() != n:
        raise AssertionError("the what-if twin must keep every case")
    saved_h = case_hours(before) - case_hours(after)
    out = {
        "cases_affected": int(affected),
        "case_hours_total": _r(saved_h, 1),
        "case_hours_per_case": _r(saved_h / n),
        "case_hours_per_affected_case": _r(saved_h / affected) if affected else 0.0,
        "events_total": int(len(before) - len(after)),
        "events_per_case": _r((len(before) - len(after)) / n),
    }
    if instances is not None:
        out["instances_total"] = int(instances[0] - instances[1])
        out["instances_per_case"] = _r((instances[0] - instances[1]) / n)
    return out


def same_paths_without(before: pd.DataFrame, after: pd.DataFrame, activities: set[str]) -> bool:
    """True when the what-if twin has, case by case, the same activity sequence minus ``activities``
    and the same outcome: the removed scope changed no decision and no outcome."""
    a = before[~before["activity"].isin(activities)].groupby("case_id")["activity"].agg(tuple)
    b = after.groupby("case_id")["activity"].agg(tuple)
    return bool(a.equals(b))


def next_activity(df: pd.DataFrame) -> pd.Series:
    return df.groupby("case_id")["activity"].shift(-1)


def conditional_chi2(table: pd.DataFrame, x: str, y: str, stratum: str) -> dict:
    """Chi-square test of x independent of y within each stratum (sum of the strata's statistics)."""
    stat, dof = 0.0, 0
    for _, g in table.groupby(stratum):
        ct = pd.crosstab(g[x], g[y])
        ct = ct.loc[ct.sum(axis=1) > 0, ct.sum(axis=0) > 0]
        if ct.shape[0] < 2 or ct.shape[1] < 2:
            continue
        s, _p, d, _e = stats.chi2_contingency(ct.to_numpy(), correction=False)
        stat, dof = stat + s, dof + d
    return {"chi2": _r(stat, 2), "dof": int(dof), "p_value": _r(stats.chi2.sf(stat, dof), 4) if dof else 1.0}


# --- per log ---------------------------------------------------------------------------------------------


def alternatives(df: pd.DataFrame) -> dict:
    names = ["Assess claim (centre North)", "Assess claim (centre South)"]
    per_case = df[df["activity"].isin(names)].groupby("case_id")["activity"].agg(set)
    both = int(sum(len(s) == 2 for s in per_case))
    assessed = df[df["activity"].isin(names)]
    nxt = next_activity(df)[df["activity"].isin(names)]
    decision = pd.crosstab(assessed["assessment"], nxt)
    success_cases = set(df.loc[df["outcome"] == "success", "case_id"])
    north_cases = set(df.loc[df["activity"] == names[0], "case_id"])
    merged = df.assign(activity=df["activity"].replace({n: "Assess claim" for n in names}))
    return {
        **basics(df),
        "cases_with_each_name": {n: int(df.loc[df["activity"] == n, "case_id"].nunique()) for n in names},
        "cases_with_both_names": both,
        "cases_reaching_assessment_with_exactly_one_name": int(sum(len(s) == 1 for s in per_case)),
        "covered_share_per_centre": {
            n: _r((assessed.loc[assessed["activity"] == n, "assessment"] == "covered").mean()) for n in names
        },
        "next_step_after_assessment": {
            str(a): {str(k): int(v) for k, v in row.items() if v} for a, row in decision.iterrows()
        },
        "success_cases_without_centre_north": _r(len(success_cases - north_cases) / len(success_cases)),
        "variants_raw": int(df.groupby("case_id")["activity"].agg(tuple).nunique()),
        "variants_with_names_merged": int(merged.groupby("case_id")["activity"].agg(tuple).nunique()),
    }


LQ_MOMENTS = [
    "Application received",
    "Customer call",
    "Request documents",
    "Documents received",
    "Decision letter sent",
]


def _instances(df: pd.DataFrame) -> pd.DataFrame:
    """One row per activity instance: the complete event (both file variants end each instance in one)."""
    return df[df["lifecycle"] == "complete"]


def lifecycle_queues(df: pd.DataFrame, n_cases: int, seed: int, interval: bool = False) -> dict:
    inst = _instances(df)
    n = df["case_id"].nunique()
    out = basics(df)
    out["instances_per_activity"] = {str(k): int(v) for k, v in inst["activity"].value_counts().sort_index().items()}
    out["instances"] = int(len(inst))
    mot = inst[inst["activity"].isin(LQ_MOMENTS)].groupby("case_id").size()
    mot_events = df[df["activity"].isin(LQ_MOMENTS)].groupby("case_id").size()
    out["moments_per_case"] = {
        "mean": _r(mot.mean()),
        "min": int(mot.min()),
        "max": int(mot.max()),
        "rule": "3 + 2 x document rounds (a call's 3 lifecycle events are one moment)",
    }
    out["moment_events_per_case_if_counted_raw"] = _r(mot_events.mean())
    same = df["activity"].eq(df.groupby("case_id")["activity"].shift(1))
    out["raw_event_self_loops"] = {
        str(k): int(v) for k, v in df.loc[same, "activity"].value_counts().sort_index().items()
    }
    ordered = inst.sort_values(["case_id", "ts"])
    inst_same = ordered["activity"].eq(ordered.groupby("case_id")["activity"].shift(1))
    out["instance_self_loops"] = int(inst_same.sum())
    if not interval:
        piv = df.pivot_table(index="instance", columns="lifecycle", values="ts", aggfunc="first")
        piv["activity"] = df.groupby("instance")["activity"].first()
        q = piv.dropna(subset=["start"])
        wait = ((q["start"] - q["schedule"]) / HOUR).groupby(q["activity"]).mean().dropna()
        service = ((q["complete"] - q["start"]) / HOUR).groupby(q["activity"]).mean()
        out["mean_waiting_hours_schedule_to_start"] = {str(k): _r(v, 2) for k, v in wait.sort_index().items()}
        out["mean_service_hours_start_to_complete"] = {str(k): _r(v, 2) for k, v in service.sort_index().items()}
    else:
        q = df[df["start_ts"] < df["ts"]]
        service = ((q["ts"] - q["start_ts"]) / HOUR).groupby(q["activity"]).mean()
        out["mean_service_hours_start_to_complete"] = {str(k): _r(v, 2) for k, v in service.sort_index().items()}
    req = inst[inst["activity"] == "Request documents"].groupby("case_id").size()
    fn = sim.lifecycle_queues_interval if interval else sim.lifecycle_queues
    after = fn(n_cases=n_cases, seed=seed, whatif="repeats")
    out["rework"] = {
        "activity": "Request documents",
        "cases_with_repeats": int((req > 1).sum()),
        "share_of_cases_with_repeats": _r((req > 1).mean()),
        "repeated_requests": int((req - 1).sum()),
        "requests_per_case": {str(k): int(v) for k, v in req.value_counts().sort_index().items()},
        "removing_the_repeats_saves": saving(df, after, int((req > 1).sum()), (len(inst), len(_instances(after)))),
    }
    assert n == after["case_id"].nunique()
    return out


NO_MAIN_PATH = ["Ticket opened", "Take in charge", "Diagnose", "Resolve", "Resolution sent"]


def no_outcomes(df: pd.DataFrame, n_cases: int, seed: int) -> dict:
    per_case = df.groupby("case_id")["activity"].agg(set)
    main = per_case.map(lambda s: set(NO_MAIN_PATH) <= s)
    last = df.groupby("case_id")["activity"].last()
    pp = df[df["activity"] == "Ticket reassigned"].groupby("case_id").size()
    after = sim.no_outcomes(n_cases=n_cases, seed=seed, whatif="ping-pong")
    return {
        **basics(df),
        "outcome_events": 0,
        "cases_on_main_path": int(main.sum()),
        "share_on_main_path": _r(main.mean()),
        "last_activity_of_case": {str(k): int(v) for k, v in last.value_counts().sort_index().items()},
        "ping_pong": {
            "activity": "Ticket reassigned",
            "cases": int(len(pp)),
            "reassignments": int(pp.sum()),
            "removing_it_saves": saving(df, after, len(pp)),
            "paths_otherwise_unchanged": same_paths_without(df, after, {"Ticket reassigned"}),
        },
    }


def timers(df: pd.DataFrame) -> dict:
    out = basics(df)
    customer = df[df["resource"] == "customer"]
    closed = df[df["activity"] == "Case auto-closed"]
    last_cust = customer.groupby("case_id")["ts"].max()
    gaps = (closed.set_index("case_id")["ts"] - last_cust).dropna().dt.total_seconds()
    asked = df[df["activity"] == "Information requested"][["case_id", "ts"]]
    rem = df[df["activity"] == "Reminder sent"][["case_id", "ts"]]
    # each reminder follows the latest "Information requested" of its case
    paired = pd.merge_asof(
        rem.sort_values("ts").rename(columns={"ts": "reminded"}),
        asked.sort_values("ts").assign(asked=lambda x: x["ts"]),
        left_on="reminded",
        right_on="ts",
        by="case_id",
        direction="backward",
    )
    rem_gaps = (paired["reminded"] - paired["asked"]).dt.total_seconds()
    runs = df[df["activity"] == "Monthly billing run"]
    approved = df[df["activity"] == "Request approved"].set_index("case_id")["ts"]
    batch_wait = (runs.set_index("case_id")["ts"] - approved).dropna() / pd.Timedelta(days=1)
    letters = df[df["activity"] == "Confirmation letter sent"].set_index("case_id")["ts"]
    letter_gap = (letters - runs.set_index("case_id")["ts"]).dropna().dt.total_seconds()
    run_times = sorted({t.isoformat() for t in runs["ts"]})
    out.update(
        {
            "auto_close": {
                "activity": "Case auto-closed",
                "cases": int(len(closed)),
                "gap_seconds_after_last_customer_action": sorted({int(g) for g in gaps}),
                "gap_days": _r(gaps.iloc[0] / 86400) if len(gaps) else None,
            },
            "reminder": {
                "activity": "Reminder sent",
                "events": int(len(rem)),
                "gap_seconds_after_information_requested": sorted({int(g) for g in rem_gaps}),
            },
            "monthly_batch": {
                "activity": "Monthly billing run",
                "cases": int(len(runs)),
                "distinct_run_times": run_times,
                "wait_days_from_approval": {
                    "mean": _r(batch_wait.mean(), 2),
                    "median": _r(batch_wait.median(), 2),
                    "min": _r(batch_wait.min(), 2),
                    "max": _r(batch_wait.max(), 2),
                },
                "letter_gap_seconds_after_run": sorted({int(g) for g in letter_gap}),
            },
        }
    )
    return out


def noise_cases(df: pd.DataFrame) -> pd.DataFrame:
    """One row per case: poor identity check (wait > budget, from the timestamps), replies, outcome."""
    first = df.groupby("case_id")["ts"].min()
    idc = df[df["activity"] == "Identity check call"].set_index("case_id")["ts"]
    wait_h = (idc - first.reindex(idc.index)) / HOUR
    cases = pd.DataFrame({"wait_h": wait_h})
    cases["poor"] = cases["wait_h"] > sim.NC_ID_BUDGET_H
    cases["replies"] = df[df["activity"] == "Reply to customer"].groupby("case_id").size().reindex(cases.index)
    cases["outcome"] = df.dropna(subset=["outcome"]).groupby("case_id")["outcome"].last().reindex(cases.index)
    cases["offer"] = cases.index.isin(df.loc[df["activity"] == "Offer sent", "case_id"])
    cases["dropout"] = cases["outcome"] == "dropout"
    return cases


def noise_and_cause(df: pd.DataFrame) -> dict:
    out = basics(df)
    c = noise_cases(df)
    p_drop = c["dropout"].mean()
    p_poor, p_ok = c.loc[c["poor"], "dropout"].mean(), c.loc[~c["poor"], "dropout"].mean()
    o = c[c["offer"]]
    op_poor, op_ok = o.loc[o["poor"], "dropout"].mean(), o.loc[~o["poor"], "dropout"].mean()
    before_withdrawn = df.groupby("case_id")["activity"].shift(1)[df["activity"] == "Application withdrawn"]
    idc_ts = df[df["activity"] == "Identity check call"].set_index("case_id")["ts"]
    wd = df[df["activity"] == "Application withdrawn"].set_index("case_id")["ts"]
    reply = df[df["activity"] == "Reply to customer"].merge(
        c[["replies", "dropout"]], left_on="case_id", right_index=True
    )
    naive = {}
    for attr, col in (("clerk", "resource"), ("channel", "channel")):
        any_val = reply.groupby(["case_id", col]).size().unstack(fill_value=0) > 0
        lifts = {str(v): _r(c.loc[any_val.index[any_val[v]], "dropout"].mean() / p_drop, 3) for v in any_val.columns}
        naive[attr] = {"min": min(lifts.values()), "max": max(lifts.values())}
    out.update(
        {
            "cause": {
                "poor_identity_check_cases": int(c["poor"].sum()),
                "poor_share": _r(c["poor"].mean()),
                "dropout_share_overall": _r(p_drop),
                "dropout_share_if_poor": _r(p_poor),
                "dropout_share_if_not_poor": _r(p_ok),
                "relative_risk": _r(p_poor / p_ok, 2),
                "lift": _r(p_poor / p_drop, 2),
                "share_of_dropouts_with_poor_identity_check": _r(c.loc[c["dropout"], "poor"].mean()),
                "among_cases_that_got_an_offer": {
                    "dropout_share_if_poor": _r(op_poor),
                    "dropout_share_if_not_poor": _r(op_ok),
                    "relative_risk": _r(op_poor / op_ok, 2),
                },
                "dropouts_attributable_to_poor_variant": {
                    "measured": _r(o["poor"].sum() * (op_poor - op_ok), 1),
                    "by_design": _r(o["poor"].sum() * (sim.NC_P_DROP_POOR - sim.NC_P_DROP_OK), 1),
                    "of_all_dropouts": int(c["dropout"].sum()),
                    "rule": "cases with a poor identity check that got an offer x (P(drop|poor) - P(drop|ok))",
                },
            },
            "place": {
                "activity_before_withdrawal": {str(k): int(v) for k, v in before_withdrawn.value_counts().items()},
                "median_days_from_cause_to_place": _r(
                    ((wd - idc_ts.reindex(wd.index)) / pd.Timedelta(days=1)).median(), 2
                ),
            },
            "replies_per_case": {
                "mean_if_poor": _r(c.loc[c["poor"], "replies"].mean(), 3),
                "mean_if_not_poor": _r(c.loc[~c["poor"], "replies"].mean(), 3),
                "dropout_share_by_replies": {int(k): _r(v) for k, v in c.groupby("replies")["dropout"].mean().items()},
                "dropout_share_by_replies_within_not_poor": {
                    int(k): _r(v) for k, v in c[~c["poor"]].groupby("replies")["dropout"].mean().items()
                },
            },
            "noise": {
                "naive_case_level_lift_any_reply_with_value": naive,
                "clerk_vs_outcome_within_same_reply_count": conditional_chi2(
                    reply.assign(o=reply["dropout"]), "resource", "o", "replies"
                ),
                "channel_vs_outcome_within_same_reply_count": conditional_chi2(
                    reply.assign(o=reply["dropout"]), "channel", "o", "replies"
                ),
            },
        }
    )
    return out


def zero_value_check(df: pd.DataFrame, n_cases: int, seed: int) -> dict:
    out = basics(df)
    n = out["cases"]
    dc = df[df["activity"] == "Double-check"]
    prev = df.groupby("case_id")["ts"].shift(1)[df["activity"] == "Double-check"]
    dc_queue_h = (dc["ts"] - prev) / HOUR  # same row index
    nxt = next_activity(df)[df["activity"] == "Double-check"]
    no_dc = sim.zero_value_check(n_cases=n_cases, seed=seed, whatif="Double-check")
    no_pp = sim.zero_value_check(n_cases=n_cases, seed=seed, whatif="ping-pong")
    outcome = df.dropna(subset=["outcome"]).groupby("case_id")["outcome"].last()
    outcome_no_dc = no_dc.dropna(subset=["outcome"]).groupby("case_id")["outcome"].last()
    credit = df[df["activity"] == "Credit check"].set_index("case_id")["result"]
    dcx = dc.set_index("case_id")[["resource"]].assign(credit=credit)
    dcx["queue_tercile"] = pd.qcut(dc_queue_h.set_axis(dc["case_id"]), 3, labels=["short", "middle", "long"])
    pp = df[df["activity"] == "Order sent back to Sales"].groupby("case_id").size()
    saves_dc = saving(df, no_dc, len(dc["case_id"].unique()))
    saves_pp = saving(df, no_pp, len(pp))
    out.update(
        {
            "double_check": {
                "activity": "Double-check",
                "share_of_cases": _r(dc["case_id"].nunique() / n),
                "results": {str(k): int(v) for k, v in dc["result"].value_counts().items()},
                "next_activity": {str(k): int(v) for k, v in nxt.value_counts().items()},
                "mean_hours_from_previous_event": _r(dc_queue_h.mean(), 2),
                "credit_result_vs_checker_p_value": _r(
                    stats.chi2_contingency(pd.crosstab(dcx["resource"], dcx["credit"]).to_numpy(), correction=False)[1]
                ),
                "credit_result_vs_queue_tercile_p_value": _r(
                    stats.chi2_contingency(
                        pd.crosstab(dcx["queue_tercile"], dcx["credit"]).to_numpy(), correction=False
                    )[1]
                ),
                "without_it_paths_unchanged": same_paths_without(df, no_dc, {"Double-check"}),
                "without_it_outcomes_unchanged": bool(outcome.equals(outcome_no_dc)),
                "removing_it_saves": saves_dc,
            },
            "ping_pong": {
                "activities": ["Order sent back to Sales", "Order corrected by Sales"],
                "cases": int(len(pp)),
                "round_trips": int(pp.sum()),
                "without_it_paths_unchanged": same_paths_without(
                    df, no_pp, {"Order sent back to Sales", "Order corrected by Sales"}
                ),
                "removing_it_saves": saves_pp,
            },
            "waste_rank_by_case_hours_saved": [
                name
                for name, _h in sorted(
                    [
                        ("Double-check", saves_dc["case_hours_total"]),
                        ("ping-pong Sales/Logistics", saves_pp["case_hours_total"]),
                    ],
                    key=lambda x: -x[1],
                )
            ],
        }
    )
    return out
