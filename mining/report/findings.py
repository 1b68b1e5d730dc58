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
        out += knock_on_findings([r for r in knock.rows if r["from_activity"] == "*"])
    if waste.ok:
        remove = [r for r in waste.rows if r["recommendation"] == "remove"]
        if remove:
            r = remove[0]
            out.append(
                f"Top removal candidate: “{r['activity']}” (scope: {r['scope']}). Evidence: {r['evidence']} "
                "(see Removal candidates)."
            )
        elif waste.rows:
            out.append(
                "No step has the evidence a removal needs (the outcome unchanged within the cases that reached it, "
                "and time or effort saved): see Removal candidates for what is measurable and why."
            )
    skips = ctx.get("budget_skips")
    if skips.rows:
        works = ", ".join(f"{r['work']} ({r['reason']})" for r in skips.rows)
        out.append(f"Skipped to stay within the memory and time budgets: {works} (see Model quality).")
    return out


def knock_on_findings(overall: list[dict]) -> list[str]:
    """The headline about the knock-on effect: a verdict only on enough pairs, else why there is none."""
    if not overall or overall[0]["p_poor_given_poor"] is None:
        return []
    o = overall[0]
    if str(o["effect"]).startswith("not measurable"):
        return [f"Knock-on between poor moments: {o['effect']} ({fmt_int(o['n'])} pairs; see Knock-on)."]
    meaning = {
        "vicious": "poor moments breed poor moments (a vicious circle)",
        "damping": "a poor moment is followed by a better one more often than usual",
        "none": "no clear knock-on effect",
        "small": "a measurable but small effect, too weak to call a circle",
    }.get(o["effect"], o["effect"])
    return [
        f"After a poor moment of truth the next one is poor in {fmt_pct(o['p_poor_given_poor'])} of cases, against a base rate of "
        f"{fmt_pct(o['base_rate'])} (lift {fmt_num(o['lift'])}, {fmt_int(o['n'])} pairs): {meaning} (see Knock-on)."
    ]


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
