"""The moments-of-truth analysis of one process, over the prepared warehouse tables.

``analyse(con, process, settings)`` rebuilds, in one transaction, the tables of migration
003_moments: mot_activities, mot_events, case_outcomes, case_scores, knock_on, dropout_funnel,
dropout_places, dropout_attribution and mot_runs. The counting runs in DuckDB SQL
(mining/moments/sql/); Python only applies the rules, once per distinct combination of the fields
they read (mining/moments/rules.py).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from statistics import NormalDist

import duckdb
import pyarrow as pa

from mining.config.moments import Moments, channel_key
from mining.moments.rules import Classifier
from mining.warehouse import run_sql, scalar
from mining.warehouse.ranges import for_case_ranges, for_slices
from mining.warehouse.sqlfiles import sections as sql_sections

# The SQL files in run order; each reads the temporary tables of the ones before it. The temporary
# tables of instances.sql, of the `detect` section of timers.sql and of the `sequence` section of
# scores.sql are built before the transaction (they read only the prepared tables and each other):
# the tables a transaction creates are its own until it commits, and at 10.5 M events under 900MB
# those statements took several times as long in it, or ran out of memory after them (issue 20).
# Every write to a stored table stays in the transaction.
STEPS = ("macros", "fields", "instances", "marks", "outcomes", "timers", "scores", "knock_on", "dropout")
COMBO_TABLE = "mot_combo_marks"
# Events per range of cases written to mot_events in one sort (about 30 columns a row): one range
# sorts in memory under a 1 GB DuckDB limit.
MOT_EVENTS_CHUNK_EVENTS = 1_000_000
# Events per range of cases that instances.sql reads in one go (its joins, aggregate and windows), and
# the tables of per-case rows it builds across the ranges.
INSTANCE_CHUNK_EVENTS = 2_000_000
# Events per range of cases whose instances (windows per case) and look-back gaps (a list of the
# preceding instances per instance) timers.sql forms in one go. In one pass, the look-back gaps of
# 10.5 M events ran out of memory under a 250MB limit.
TIMER_CHUNK_EVENTS = 2_000_000
# Instances per slice of the (activity, time)s whose shared times timers.sql counts in one aggregate:
# over all 65.8 M instances of 100 M events, that aggregate grew its hash table past a 2.5 GB limit.
TIMER_SHARED_SLICE_INSTANCES = 2_000_000
# Events per range of cases whose moments scores.sql puts in sequence and scores (its windows per
# case; sections `sequence` and `scored`) in one go.
SEQUENCE_CHUNK_EVENTS = 2_000_000
# Events per range of cases whose scores (with each case's ordered trajectory) scores.sql aggregates
# in one go: that aggregate cannot spill.
CASE_SCORES_CHUNK_EVENTS = 2_000_000
# Events per range of cases whose drop-out factors, MOT occurrences and first places dropout.sql
# forms in one go, and whose cases shared by two factors it counts in one join.
DROPOUT_CHUNK_EVENTS = 2_000_000
DROPOUT_TABLES = ("mot_factors", "mot_occurrences", "mot_first_seen", "mot_last_before")
INSTANCE_TABLES = ("mot_handoffs", "mot_outcome_events", "mot_inst_base")
POOR_SIGNALS = ("wait", "effort", "attribute")
UNKNOWN_CHANNEL = "(unknown)"


@cache
def sql(name: str) -> str:
    """The text of ``mining/moments/sql/<name>.sql``."""
    return resources.files("mining.moments").joinpath("sql", f"{name}.sql").read_text("utf-8")


def json_path(key: str) -> str:
    """The JSON path of a top-level attribute, whatever characters its name holds ('org:group')."""
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def z_value(confidence_level: float) -> float:
    """The two-sided normal quantile of a confidence level (0.95 -> 1.96)."""
    return NormalDist().inv_cdf(0.5 + confidence_level / 2)


def channel_budgets(settings: Moments, channels: list[str]) -> dict:
    """The wait budgets of the channels present (``$ch_*``): name, whether the table lists it, hours.

    Channels the table does not list fall back to its ``unknown`` entry, as do moments without a
    channel (the row ``(unknown)``); a listed channel with ``null`` hours has its budget learned.
    """
    table = {channel_key(k): v for k, v in settings.scoring.expectations.channels.items()}
    names, defined, hours = [UNKNOWN_CHANNEL], ["unknown" in table], [table.get("unknown")]
    for channel in sorted(set(channels)):
        key = channel_key(channel)
        if key in table and key != "unknown":
            names.append(channel), defined.append(True), hours.append(table[key])
    return {"ch_names": names, "ch_defined": defined, "ch_hours": [None if h is None else float(h) for h in hours]}


def parameters(process: str, settings: Moments, classifier: Classifier) -> dict:
    """The ``$name`` parameters of the SQL files for ``process`` and ``settings``."""
    scoring, weights, outcomes = settings.scoring, settings.scoring.weights, settings.outcomes
    expectations, timers = scoring.expectations, scoring.expectations.timers
    levels = sorted(scoring.wait_budgets().items())
    efforts = sorted((a, e.effort) for a, e in expectations.activities.items() if e.effort is not None)
    days = outcomes.success_within_days
    return {
        "process": process,
        "paths": [json_path(k) for k in classifier.attributes],
        "min_share": settings.marking.activity_min_share,
        "precedence": list(outcomes.precedence),
        "within_days": days,
        "timeout_label": None if days is None else f"no success within {days:g} days",
        "wait_from": scoring.wait_from,
        "quantile": scoring.wait_reference_quantile or 0.5,  # read only when use_quantile
        "use_quantile": scoring.wait_reference_quantile is not None,
        "sl_activities": [a for a, _ in levels],
        "sl_hours": [float(h) for _, h in levels],
        "min_ref": scoring.min_reference_wait_s,
        "learned_multiple": expectations.learned_multiple,
        "beaten_share": expectations.beaten_share,
        "effort_activities": [a for a, _ in efforts],
        "effort_units": [u for _, u in efforts],
        **{
            f"e_{k}": int(name in expectations.effort_counts)
            for k, name in (("action", "customer_action"), ("repeat", "repeat"), ("switch", "channel_switch"))
        },
        "t_tol": timers.tolerance_s,
        "t_share": timers.min_share,
        "t_min_n": timers.min_n,
        "t_min_gap": timers.min_gap_s,
        "t_lookback": timers.lookback,
        "t_batch": timers.batch_min_cases,
        "min_pairs": scoring.knock_on_min_pairs,
        "min_lift": scoring.knock_on_min_lift,
        "w_met": weights.met,
        "w_beaten": weights.beaten,
        "w_wait": weights.wait,
        "wait_cap": weights.wait_cap,
        "w_repeat": weights.repeat,
        "repeat_cap": weights.repeat_cap,
        "w_switch": weights.channel_switch,
        "w_handoff": weights.handoff,
        "handoff_cap": weights.handoff_cap,
        "w_effort": weights.effort,
        "w_success": weights.outcome_success,
        "w_declined": weights.outcome_declined,
        "w_dropout": weights.outcome_dropout,
        **{f"p_{name}": int(name in scoring.poor_signals) for name in POOR_SIGNALS},
        "z": z_value(settings.confidence_level),
        "population": population(settings, classifier),
        "kind_names": [k for k, _ in classifier.outcome_kinds],
        "kind_polarities": [p for _, p in classifier.outcome_kinds],
        "kind_rules": [classifier.outcome_rule_counts[k] for k, _ in classifier.outcome_kinds],
        "rule_source": classifier.outcome_source,
        "max_stratum": settings.attribution.max_occurrence_stratum,
        "kinds": list(settings.attribution.kinds),
        "baseline": settings.attribution.baseline,
        "echo_jaccard": settings.attribution.echo_jaccard,
        "min_cases": settings.attribution.min_cases,
        "min_dropout": settings.attribution.min_dropout_cases,
    }


def population(settings: Moments, classifier: Classifier) -> list[str]:
    """The outcomes the drop-out attribution compares (null in config: every kind and 'other', not 'open')."""
    chosen = settings.attribution.population
    return list(chosen) if chosen is not None else [k for k, _ in classifier.outcome_kinds] + ["other"]


def classify_combinations(rows: list[tuple], classifier: Classifier) -> pa.Table:
    """Apply the rules to each (combo, activity, resource, lifecycle, values) row; one Arrow row each."""
    columns: dict[str, list] = {
        name: []
        for name in (
            "combo", "is_moment", "rule", "decided", "channel", "effort", "attribute_score",
            "attribute_signals", "outcome_kind", "outcome_rule", "handoff_group", "factors",
        )
    }  # fmt: skip
    for combo, activity, resource, lifecycle, values in rows:
        fields = {"activity": activity, "resource": resource, "lifecycle": lifecycle}
        # Columns win over attributes of the same name, as in Match's documentation.
        for key, value in zip(classifier.attributes, values or [], strict=False):
            fields.setdefault(key, value)
        c = classifier.classify(fields)
        for name, value in (
            ("combo", combo), ("is_moment", c.is_moment), ("rule", c.rule), ("decided", c.decided),
            ("channel", c.channel), ("effort", c.effort), ("attribute_score", c.attribute_score),
            ("attribute_signals", c.attribute_signals), ("outcome_kind", c.outcome_kind),
            ("outcome_rule", c.outcome_rule), ("handoff_group", c.handoff_group), ("factors", list(c.factors)),
        ):  # fmt: skip
            columns[name].append(value)
    schema = pa.schema(
        [
            ("combo", pa.string()), ("is_moment", pa.bool_()), ("rule", pa.string()), ("decided", pa.bool_()),
            ("channel", pa.string()), ("effort", pa.bool_()), ("attribute_score", pa.float64()),
            ("attribute_signals", pa.string()), ("outcome_kind", pa.string()), ("outcome_rule", pa.string()),
            ("handoff_group", pa.string()), ("factors", pa.list_(pa.string())),
        ]
    )  # fmt: skip
    return pa.table(columns, schema=schema)


def analyse(con: duckdb.DuckDBPyConnection, process: str, settings: Moments) -> dict:
    """Rebuild every moments table of ``process`` from its prepared event_log; return a summary.

    Raises ValueError when the process has no prepared events.
    """
    if not scalar(con, "SELECT count(*) FROM event_log WHERE process = $p", {"p": process}):
        raise ValueError(f"process {process!r} has no prepared events: run the prepare step first")
    classifier = Classifier(settings)
    params = parameters(process, settings, classifier)
    try:
        run_sql(con, sql("macros"))
        run_sql(con, sql("fields"), params)
        combos = con.execute(
            "SELECT combo, activity, resource, lifecycle, vals FROM mot_combos ORDER BY combo"
        ).fetchall()
        marks = classify_combinations(combos, classifier)
        con.register("mot_combo_marks_arrow", marks)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {COMBO_TABLE} AS SELECT * FROM mot_combo_marks_arrow").fetchall()
        con.unregister("mot_combo_marks_arrow")
        params.update(channel_budgets(settings, [c for c in marks.column("channel").to_pylist() if c]))
        build_instances(con, params)
        timers, scores = sql_sections(sql("timers")), sql_sections(sql("scores"))
        outcomes, dropout = sql_sections(sql("outcomes")), sql_sections(sql("dropout"))
        # Every large temporary table is built before the transaction: one built inside it is held
        # as the transaction's own change until it commits (instances.sql; issue 20).
        run_sql(con, timers["detect"], params)
        for_case_ranges(con, timers["inst"], params, TIMER_CHUNK_EVENTS, ["mot_timer_inst"])
        run_sql(con, timers["gaps"], params)
        for_case_ranges(con, timers["lookback"], params, TIMER_CHUNK_EVENTS)
        run_sql(con, timers["rules"], params)
        slices = -(-scalar(con, "SELECT count(*) FROM mot_timer_inst") // TIMER_SHARED_SLICE_INSTANCES) or 1
        run_sql(con, timers["slices"], {**params, "slices": slices})
        for_slices(con, timers["shared"], params, slices, ["mot_timer_shared"])
        run_sql(con, timers["flags"], params)
        run_sql(con, outcomes["compute"], params)
        for_case_ranges(con, scores["sequence"], params, SEQUENCE_CHUNK_EVENTS, ["mot_sequence"])
        run_sql(con, scores["reference"], params)
        for_case_ranges(con, scores["scored"], params, SEQUENCE_CHUNK_EVENTS, ["mot_scored"])
        run_sql(con, scores["scored_done"], params)
        run_sql(con, dropout["journey"], params)
        for_case_ranges(con, dropout["per_case"], params, DROPOUT_CHUNK_EVENTS, appends=DROPOUT_TABLES)
        run_sql(con, dropout["exposure"], params)
        inside = {
            "outcomes": outcomes["store"],
            "timers": timers["store"],
            "scores": scores["score"],
            "dropout": dropout["store"],
        }
        con.execute("BEGIN TRANSACTION").fetchall()
        try:
            for step in STEPS[3:]:
                run_sql(con, inside.get(step) or sql(step), params)
                # their per-case work, per range of cases (scores.sql and dropout.sql say why)
                if step == "scores":
                    for_case_ranges(con, scores["case_scores"], params, CASE_SCORES_CHUNK_EVENTS)
                if step == "dropout":
                    for_case_ranges(con, dropout["echo_pairs"], params, DROPOUT_CHUNK_EVENTS, ["mot_echo_pairs"])
                    run_sql(con, dropout["attribution"], params)
            insert_events(con, params)
            record_run(con, process, settings)
            con.execute("COMMIT").fetchall()
        except Exception:
            con.execute("ROLLBACK").fetchall()
            raise
    finally:
        drop_temporary(con)
    return summary(con, process)


def build_instances(con: duckdb.DuckDBPyConnection, params: dict) -> None:
    """Build the instance tables of instances.sql, one range of cases at a time: the first range creates
    the tables of per-case rows (``INSTANCE_TABLES``), the others append to them."""
    sections = sql_sections(sql("instances"))
    run_sql(con, sections["combos"], params)
    for_case_ranges(con, sections["chunk"], params, INSTANCE_CHUNK_EVENTS, appends=INSTANCE_TABLES)


def insert_events(con: duckdb.DuckDBPyConnection, params: dict) -> None:
    """Write mot_events of the process from the moments tables, one range of cases at a time."""
    sections = sql_sections(sql("events"))
    run_sql(con, sections["clear"], params)
    for_case_ranges(con, sections["chunk"], params, MOT_EVENTS_CHUNK_EVENTS)


def record_run(con: duckdb.DuckDBPyConnection, process: str, settings: Moments) -> None:
    """Store the settings the process was analysed with, next to its counts."""
    con.execute("DELETE FROM mot_runs WHERE process = $p", {"p": process}).fetchall()
    con.execute(
        "INSERT INTO mot_runs SELECT $p, $s, "
        "(SELECT count(*) FROM mot_events WHERE process = $p), "
        "(SELECT count(*) FROM mot_events WHERE process = $p AND is_moment_of_truth), "
        "(SELECT count(*) FROM case_outcomes WHERE process = $p)",
        {"p": process, "s": json.dumps(settings.model_dump(mode="json"), sort_keys=True)},
    ).fetchall()


TEMPORARY = (
    "mot_combos", COMBO_TABLE, "mot_combo_keys", "mot_outcomes", "mot_base", "mot_outcome_events",
    "mot_inst_rep", "mot_inst_base", "mot_timer_inst", "mot_timer_gaps",
    "mot_timer_candidates", "mot_timer_gap_counts", "mot_timer_offsets", "mot_timer_times", "mot_timer_shared",
    "mot_timer_batches",
    "mot_timer_flags", "mot_timer_names", "mot_timer_cases", "mot_inst_timed",
    "mot_channel_budgets", "mot_handoffs", "mot_seq_in", "mot_sequence", "mot_reference",
    "mot_signals", "mot_outcome_moment", "mot_scored", "mot_case_outcomes", "mot_journey",
    "mot_population", "mot_factors", "mot_exposure", "mot_occurrences", "mot_strata", "mot_first_seen",
    "mot_last_before",
    "mot_factor_stats", "mot_echo_pairs", "mot_echoes",
)  # fmt: skip


def drop_temporary(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the analysis' temporary tables (they can be large)."""
    for table in TEMPORARY:
        con.execute(f"DROP TABLE IF EXISTS {table}").fetchall()


KNOCK_ON_SUMMARY = (
    "p_poor_given_poor", "base_rate", "lift", "adjusted_base_rate", "adjusted_lift", "ci_low", "ci_high", "effect",
)  # fmt: skip


def summary(con: duckdb.DuckDBPyConnection, process: str) -> dict:
    """Headline figures of an analysed process, for the run summary."""
    p = {"p": process}

    def rows(sql: str) -> list[tuple]:
        return con.execute(sql, p).fetchall()

    moments = rows("SELECT activity FROM mot_activities WHERE process = $p AND is_moment_of_truth ORDER BY activity")
    undecided = rows("SELECT activity FROM mot_activities WHERE process = $p AND NOT decided ORDER BY activity")
    outcomes = rows("SELECT outcome, count(*) FROM case_outcomes WHERE process = $p GROUP BY outcome ORDER BY outcome")
    knock = rows(f"SELECT {', '.join(KNOCK_ON_SUMMARY)} FROM knock_on WHERE process = $p AND from_activity = '*'")
    cause = rows("SELECT factor, lift, ci_low FROM dropout_attribution WHERE process = $p AND rank = 1")
    place = rows("SELECT activity, after_activity, n_dropout FROM dropout_places WHERE process = $p AND rank = 1")
    return {
        "moments_of_truth": [a for (a,) in moments],
        "undecided_activities": [a for (a,) in undecided],
        "outcomes": dict(outcomes),
        "knock_on": dict(zip(KNOCK_ON_SUMMARY, knock[0], strict=True)) if knock else None,
        "top_cause": dict(zip(("factor", "lift", "ci_low"), cause[0], strict=True)) if cause else None,
        "top_place": dict(zip(("activity", "after_activity", "n_dropout"), place[0], strict=True)) if place else None,
    }
