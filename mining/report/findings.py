"""The key findings at the top of the report: a few sentences, each pointing to its section."""

from __future__ import annotations

from mining.report.context import Context
from mining.report.data import Result
from mining.report.formats import fmt_int, fmt_num, fmt_pct


def key_findings(ctx: Context) -> list[str]:
    """A few sentences with the headline results, each pointing to its section."""
    out = []
    funnel, causes, waste, knock = ctx.get("funnel"), ctx.get("dropout_causes"), ctx.get("waste"), ctx.get("knock_on")
    if funnel.ok and funnel.rows:
        place = max(funnel.rows, key=lambda r: (r["n_left_after"], -r["step"]))
        total = sum(r["n_left_after"] for r in funnel.rows)
        if total:
            out.append(
                f"Customers who drop out most often leave after “{place['activity']}” "
                f"({fmt_int(place['n_left_after'])} of {fmt_int(total)} drop-outs, {fmt_pct(place['share_of_dropouts'])}): that is the place (see Drop-out)."
            )
    out += cause_findings(causes)
    if knock.ok:
        overall = [r for r in knock.rows if r["from_activity"] == "*"]
        if overall and overall[0]["p_poor_given_poor"] is not None:
            o = overall[0]
            meaning = {
                "vicious": "poor moments breed poor moments (a vicious circle)",
                "damping": "a poor moment is followed by a better one more often than usual",
                "none": "no clear knock-on effect",
            }.get(o["effect"], o["effect"])
            out.append(
                f"After a poor moment of truth the next one is poor in {fmt_pct(o['p_poor_given_poor'])} of cases, against a base rate of "
                f"{fmt_pct(o['base_rate'])} (lift {fmt_num(o['lift'])}): {meaning} (see Knock-on)."
            )
    if waste.ok:
        remove = [r for r in waste.rows if r["recommendation"] == "remove"]
        if remove:
            r = remove[0]
            out.append(
                f"Top removal candidate: “{r['activity']}” (waste score {fmt_num(r['waste_score'])}); removing it would save about "
                f"{fmt_int(r['whatif_hours_saved_per_month'])} case-hours of throughput time a month (see Removal candidates)."
            )
    return out


def cause_findings(causes: Result) -> list[str]:
    """The headline about upstream drop-out causes: only factors with status 'finding' (interval above 1,
    at least the minimum cases, not an echo) are called likely causes; otherwise say why there is none."""
    if causes.empty:
        return [f"Upstream drop-out causes: {causes.empty} (see Drop-out)."]
    if not (causes.ok and causes.rows):
        return []
    found = [r for r in causes.rows if r.get("status") == "finding"]
    if found:
        c = found[0]
        figures = f"lift {fmt_num(c['lift'])}, interval {fmt_num(c['ci_low'])}–{fmt_num(c['ci_high'])}, {fmt_int(c['n_cases'])} cases"
        return [
            f"The strongest upstream factor is “{c['factor']}”: drop-out is {fmt_num(c['lift'])}× as likely with it "
            f"({figures}): a likely cause (see Drop-out)."
        ]
    measured = [r for r in causes.rows if r.get("status") != "too few cases"]
    if not measured:
        return [f"No upstream factor has enough cases to be a finding ({causes.rows[0]['note']}; see Drop-out)."]
    c = measured[0]
    figures = f"lift {fmt_num(c['lift'])}, interval {fmt_num(c['ci_low'])}–{fmt_num(c['ci_high'])}, {fmt_int(c['n_cases'])} cases"
    why = "an echo: " + c["note"] if c.get("status") == "echo" else "its interval reaches 1"
    return [
        f"No upstream factor is clearly over-represented in the drop-outs: the strongest, “{c['factor']}”, "
        f"is {why} ({figures}; see Drop-out)."
    ]
