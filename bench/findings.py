"""The findings on every public log, as a process professional would read them: one table row per log.

    python -m bench.findings [--out DIR]        # runs `mot run` on each log with its rules file

Each log in ../shared/data/logs runs with its analyst's rules file from data/ (or none), and the row
says what each finding rests on: outcomes (or "no outcome defined"), moments per case, the range of
poor shares, the knock-on verdict with its number of pairs, the first drop-out cause by lift and by
removal effect, and the waste recommendations. docs/validation.md holds the table of the last run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT.parent / "shared" / "data" / "logs"
# log file -> analyst's rules file in data/ (None: no rules, the built-in defaults)
RUNS = {
    "bpic2012.xes.gz": "bpic2012_rules.yaml",
    "reviewing.xes.gz": "reviewing_rules.yaml",
    "interval_event_log.xes.gz": "interval_rules.yaml",
    "lending_log_high.xes.gz": "lending_rules.yaml",
    "hospital_log_high.xes.gz": "hospital_rules.yaml",
    "receipt.xes.gz": None,
    "roadtraffic100traces.xes": None,
}
COLUMNS = (
    "log",
    "cases",
    "moments / case",
    "poor share (min-max)",
    "outcomes",
    "knock-on",
    "first cause (lift)",
    "first cause (removal)",
    "waste: remove / review / fix",
    "first waste candidate",
)


def run(log: str, rules: str | None, out: Path) -> None:
    """``mot run`` of one log with its rules file into ``out``."""
    command = [str(Path(sys.executable).with_name("mot")), "run", str(LOGS / log), "--out", str(out)]
    if rules:
        command += ["--config", str(ROOT / "data" / rules)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"mot run {log} failed: {done.stderr[-2000:]}")


def one(con: duckdb.DuckDBPyConnection, sql: str):
    rows = con.execute(sql).fetchall()
    return rows[0] if rows else None


def row(log: str, con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The findings of one mined warehouse."""
    cases = one(con, "SELECT count(*) FROM cases")[0]
    moments = one(con, "SELECT count(*) FROM mot_events WHERE is_moment_of_truth")[0]
    poor = one(
        con,
        "SELECT min(s), max(s) FROM (SELECT avg(poor::INTEGER) AS s FROM mot_events WHERE is_moment_of_truth "
        "GROUP BY activity HAVING count(*) >= 30)",
    )
    status = one(con, "SELECT outcomes_defined, reason FROM outcome_status")
    outcomes = (
        ", ".join(
            f"{o} {n:,}"
            for o, n in con.execute("SELECT outcome, count(*) FROM case_outcomes GROUP BY 1 ORDER BY 2 DESC").fetchall()
        )
        if status and status[0]
        else "no outcome defined"
    )
    knock = one(con, "SELECT effect, n FROM knock_on WHERE from_activity = '*'")
    lift = one(
        con,
        "SELECT factor, round(lift, 2), round(ci_low, 2) FROM dropout_attribution WHERE status = 'finding' ORDER BY rank LIMIT 1",
    )
    removal = one(
        con,
        "SELECT state, round(dropouts_avoided, 1), round(ci_low, 1), round(ci_high, 1) FROM dropout_removal "
        "WHERE measurable ORDER BY dropouts_avoided DESC, state LIMIT 1",
    )
    removal_reason = one(con, "SELECT reason FROM dropout_removal WHERE NOT measurable LIMIT 1")
    counts = dict(con.execute("SELECT recommendation, count(*) FROM waste_activities GROUP BY 1").fetchall())
    top = one(con, "SELECT activity, recommendation FROM waste_activities ORDER BY rank LIMIT 1")
    return {
        "log": log.split(".")[0],
        "cases": f"{cases:,}",
        "moments / case": f"{moments / cases:.2f}" if cases else "n/a",
        "poor share (min-max)": f"{poor[0]:.0%} - {poor[1]:.0%}" if poor and poor[0] is not None else "n/a",
        "outcomes": outcomes,
        "knock-on": f"{knock[0]} ({knock[1]:,} pairs)" if knock else "no pairs",
        "first cause (lift)": f"{lift[0]} (lift {lift[1]}, low {lift[2]})" if lift else "no finding",
        "first cause (removal)": f"{removal[0]}: {removal[1]} avoided ({removal[2]}-{removal[3]})"
        if removal
        else (removal_reason[0] if removal_reason else "no drop-out"),
        "waste: remove / review / fix": " / ".join(str(counts.get(k, 0)) for k in ("remove", "review", "fix")),
        "first waste candidate": f"{top[0]} ({top[1]})" if top else "n/a",
    }


def table(rows: list[dict[str, str]]) -> str:
    """The rows as a Markdown table."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(r[c].replace("|", "/") for c in COLUMNS) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="keep the runs here (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mot-findings-") as temp:
        base = args.out or Path(temp)
        rows = []
        for log, rules in RUNS.items():
            if not (LOGS / log).exists():
                continue
            out = base / log.split(".")[0]
            run(log, rules, out)
            con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
            try:
                rows.append(row(log, con))
            finally:
                con.close()
        print(table(rows))


if __name__ == "__main__":
    main()
