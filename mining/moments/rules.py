"""Rule matching: which events are moments of truth, their channel, effort, signals and outcome.

Pure functions over one event's fields (``activity``, ``resource``, ``lifecycle`` and event
attributes, all as text or ``None``). The warehouse side (mining/moments/analysis.py) calls
``Classifier.classify`` once per distinct combination of the fields the rules read, not per event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml
from pydantic import ValidationError

from mining.config.moments import COLUMNS, OUTCOME_KINDS, Match, Moments, Outcomes, Pattern, Rule
from mining.config.patterns import compile_pattern

Fields = Mapping[str, str | None]
DEFAULT_RULES_FILE = "default_rules.yaml"
DEFAULT_PREFIX = "default: "


class CompiledMatch:
    """A ``Match`` with its regular expressions compiled."""

    def __init__(self, match: Match):
        self.activities = frozenset(match.activities)
        # RE2 (compile_pattern): linear time, so no rule can hang a run on a long value.
        self.activity_regex = compile_pattern(match.activity_regex) if match.activity_regex else None
        self.where: list[tuple[str, frozenset[str] | object]] = [
            (name, compile_pattern(c.regex) if isinstance(c, Pattern) else frozenset(c))
            for name, c in sorted(match.where.items())
        ]

    def matches(self, fields: Fields) -> bool:
        """Whether every condition holds for ``fields``; a missing value never matches."""
        activity = fields.get("activity") or ""
        if self.activities and activity not in self.activities:
            return False
        if self.activity_regex is not None and not self.activity_regex.search(activity):
            return False
        for name, condition in self.where:
            value = fields.get(name)
            if value is None:
                return False
            if isinstance(condition, frozenset):
                if value not in condition:
                    return False
            elif not condition.search(value):
                return False
        return True


def describe(match: Match) -> str:
    """A short readable form of a match, used to name outcome rules that have no name."""
    parts = []
    if match.activities:
        parts.append("activity in [" + ", ".join(match.activities) + "]")
    if match.activity_regex:
        parts.append(f"activity ~ /{_short(match.activity_regex)}/")
    for name, c in sorted(match.where.items()):
        if isinstance(c, Pattern):
            parts.append(f"{name} ~ /{_short(c.regex)}/")
        else:
            parts.append(f"{name} in [" + ", ".join(c) + "]")
    return " and ".join(parts)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Defaults:
    """The built-in rules: marking rules and outcome rules (default_rules.yaml)."""

    rules: tuple[Rule, ...]
    outcomes: Outcomes


@cache
def default_rules() -> Defaults:
    """The built-in rule set shipped in ``mining/moments/default_rules.yaml``."""
    text = resources.files("mining.moments").joinpath(DEFAULT_RULES_FILE).read_text("utf-8")
    data = yaml.safe_load(text)
    try:
        rules = tuple(Rule.model_validate(r) for r in data["rules"])
        outcomes = Outcomes.model_validate(data["outcomes"])
    except ValidationError as exc:  # a packaging error, not a user error; still say where
        raise RuntimeError(f"mining/moments/{DEFAULT_RULES_FILE}: {exc}") from None
    return Defaults(rules=rules, outcomes=outcomes)


def effective_rules(settings: Moments) -> list[Rule]:
    """The marking rules in force: the config's, the built-in ones, or both (see ``Marking``)."""
    marking = settings.marking
    use_defaults = marking.use_default_rules
    if use_defaults is None:
        use_defaults = not marking.rules
    rules = list(marking.rules)
    if use_defaults:
        rules += [r.model_copy(update={"name": DEFAULT_PREFIX + r.name}) for r in default_rules().rules]
    return rules


def effective_outcomes(settings: Moments) -> Outcomes:
    """The outcome rules in force: the config's, or the built-in ones when it gives none."""
    outcomes = settings.outcomes
    use_defaults = outcomes.use_default_rules
    if use_defaults is None:
        use_defaults = not outcomes.configured()
    if not use_defaults:
        return outcomes
    builtin = default_rules().outcomes
    return outcomes.model_copy(
        update={kind: list(getattr(outcomes, kind)) + list(getattr(builtin, kind)) for kind in OUTCOME_KINDS}
    )


def outcome_source(settings: Moments) -> str:
    """Where the outcome rules in force come from: 'config', 'config and built-in words', 'built-in words', 'none'."""
    own = settings.outcomes.configured()
    builtin = settings.outcomes.use_default_rules
    if builtin is None:
        builtin = not own
    names = {(True, False): "config", (True, True): "config and built-in words", (False, True): "built-in words"}
    return names.get((own, bool(builtin)), "none")


@dataclass(frozen=True)
class Classification:
    """Everything the rules say about one combination of event fields."""

    is_moment: bool
    rule: str | None  # the rule that decided; None = undecided
    channel: str | None
    effort: bool
    attribute_score: float
    attribute_signals: str | None
    outcome_kind: str | None
    outcome_rule: str | None
    handoff_group: str | None
    factors: tuple[str, ...]  # 'attribute = value' factors of MOT events, for drop-out attribution

    @property
    def decided(self) -> bool:
        """Whether a rule decided the mark."""
        return self.rule is not None


class Classifier:
    """Applies the settings' rules to event fields. Build once, call ``classify`` per combination."""

    def __init__(self, settings: Moments):
        self.settings = settings
        rules = effective_rules(settings)
        self.exclusions = [(r, CompiledMatch(r)) for r in rules if not r.moment]
        self.inclusions = [(r, CompiledMatch(r)) for r in rules if r.moment]
        marking = settings.marking
        self.channel_attributes = list(marking.channel_attributes)
        self.channel_names = [(name, compile_pattern(p)) for name, p in marking.channel_names.items()]
        self.automated = [CompiledMatch(m) for m in marking.automated]
        scoring = settings.scoring
        self.effort = [CompiledMatch(m) for m in scoring.effort]
        self.signals = [(s, CompiledMatch(s)) for s in scoring.attribute_signals]
        self.handoff_attribute = scoring.handoff_attribute
        outcomes = effective_outcomes(settings)
        # (kind, rule, compiled) in matching order: drop-out, declined, success, then the user's kinds.
        self.outcome_kinds = [(name, polarity) for name, polarity, _ in outcomes.all_kinds()]
        self.outcome_rule_counts = {name: len(rules) for name, _, rules in outcomes.all_kinds()}
        self.outcome_source = outcome_source(settings)
        self.outcomes = [(kind, m, CompiledMatch(m)) for kind, _, rules in outcomes.all_kinds() for m in rules]
        self.factor_attributes = list(settings.attribution.attributes)
        matches: list[Match] = [r for r, _ in self.exclusions + self.inclusions]
        matches += list(marking.automated) + list(scoring.effort) + list(scoring.attribute_signals)
        matches += [m for _, m, _ in self.outcomes]
        keys: set[str] = set().union(*(m.attributes() for m in matches)) if matches else set()
        keys |= set(self.channel_attributes) | set(self.factor_attributes) | {self.handoff_attribute}
        self.attributes: list[str] = sorted(keys - set(COLUMNS))

    def classify(self, fields: Fields) -> Classification:
        """Mark, channel, effort, attribute signals, outcome and factors of one field combination."""
        rule = self._deciding_rule(fields)
        is_moment = bool(rule is not None and rule.moment)
        channel = self._channel(fields, rule if is_moment else None, is_moment)
        score, names = 0.0, []
        if is_moment:
            for signal, compiled in self.signals:
                if compiled.matches(fields):
                    score += signal.weight
                    names.append(signal.name)
        kind, outcome_rule = self._outcome(fields)
        return Classification(
            is_moment=is_moment,
            rule=None if rule is None else rule.name,
            channel=channel,
            effort=is_moment and any(m.matches(fields) for m in self.effort),
            attribute_score=score,
            attribute_signals=", ".join(names) or None,
            outcome_kind=kind,
            outcome_rule=outcome_rule,
            handoff_group=fields.get(self.handoff_attribute),
            factors=self._factors(fields, channel) if is_moment else (),
        )

    def _deciding_rule(self, fields: Fields) -> Rule | None:
        for rule, compiled in self.exclusions:
            if compiled.matches(fields):
                return rule
        for rule, compiled in self.inclusions:
            if compiled.matches(fields):
                return rule
        return None

    def _channel(self, fields: Fields, rule: Rule | None, is_moment: bool) -> str | None:
        """Channel attribute (normalised), else the rule's channel, else words in the name, else 'automated'."""
        for name in self.channel_attributes:
            value = fields.get(name)
            if value is not None and value.strip():
                return self.normalise_channel(value)
        if not is_moment:
            return None
        if rule is not None and rule.channel:
            return rule.channel
        activity = fields.get("activity") or ""
        for canonical, pattern in self.channel_names:
            if pattern.search(activity):
                return canonical
        if any(m.matches(fields) for m in self.automated):
            return "automated"
        return None

    def normalise_channel(self, value: str) -> str:
        """The canonical channel name for a raw channel value ('E-mail' -> 'e-mail'), else the value lowercased."""
        for canonical, pattern in self.channel_names:
            if pattern.search(value):
                return canonical
        return value.strip().lower()

    def _outcome(self, fields: Fields) -> tuple[str | None, str | None]:
        # Kinds are tried in order: an event that matches several is a drop-out first, then declined,
        # success, then the user's kinds in their configured order.
        for kind, match, compiled in self.outcomes:
            if compiled.matches(fields):
                return kind, f"{kind}: {describe(match)}"
        return None, None

    def _factors(self, fields: Fields, channel: str | None) -> tuple[str, ...]:
        found = [] if channel is None else [f"channel = {channel}"]
        for name in self.factor_attributes:
            value = fields.get(name)
            if value is not None and name != "channel":
                found.append(f"{name} = {value}")
        return tuple(sorted(set(found)))
