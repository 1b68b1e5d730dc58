"""Settings of the moments-of-truth analysis: the ``moments`` section of a project config.

Every key has a default, so a config without a ``moments`` section analyses any standard event
log with the built-in rules (``mining/moments/default_rules.yaml``). The keys are documented in
docs/moments.md.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from mining.config.base import Strict
from mining.config.patterns import check_pattern

# Fields of event_log that rules can test besides the attributes in its ``attrs`` JSON.
COLUMNS = ("activity", "resource", "lifecycle")
OUTCOME_KINDS = ("dropout", "declined", "success")
# The built-in kinds' polarity: declined is the organisation's decision, drop-out the customer's.
BUILTIN_POLARITY = {"dropout": "negative", "declined": "negative", "success": "positive"}
# Outcome values that are not kinds: no outcome event yet (open), none defined or matched (other).
RESERVED_OUTCOMES = (*OUTCOME_KINDS, "open", "other")


def _text(value: object) -> object:
    """Attribute values arrive as text from the warehouse; YAML numbers and booleans are written the same way."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


Text = Annotated[str, BeforeValidator(_text)]


def _compile(pattern: str) -> str:
    # Checked for RE2 here, at load, so that a pattern it cannot run is a config error naming the
    # key, never a failure (or, with Python's re, a hang) in the middle of a run.
    return check_pattern(pattern)


class Pattern(Strict):
    """An attribute condition by regular expression (Python syntax run on RE2, searched, case-insensitive)."""

    regex: str

    @field_validator("regex")
    @classmethod
    def _valid(cls, value: str) -> str:
        return _compile(value)


class Match(Strict):
    """Conditions on one event; an event matches when every condition given holds.

    ``activities``: exact activity names. ``activity_regex``: searched in the name, case-insensitive.
    ``where``: attribute name -> list of exact values, or ``{regex: ...}``. The names ``activity``,
    ``resource`` and ``lifecycle`` test those columns; every other name an event attribute
    (an XES/CSV/database attribute such as ``channel``, ``org:group`` or ``case:channel``).
    """

    activities: list[str] = Field(default_factory=list)
    activity_regex: str | None = None
    where: dict[str, list[Text] | Pattern] = Field(default_factory=dict)

    @field_validator("activity_regex")
    @classmethod
    def _valid_regex(cls, value: str | None) -> str | None:
        return None if value is None else _compile(value)

    @model_validator(mode="after")
    def _has_condition(self) -> Match:
        if not (self.activities or self.activity_regex or self.where):
            raise ValueError("give at least one of 'activities', 'activity_regex' or 'where'")
        for name, condition in self.where.items():
            if isinstance(condition, list) and not condition:
                raise ValueError(f"where.{name}: the list of values is empty")
        return self

    def attributes(self) -> set[str]:
        """The event attributes (not columns) that the conditions read."""
        return {name for name in self.where if name not in COLUMNS}


class Rule(Match):
    """A marking rule: events it matches are moments of truth (``moment: true``) or not (exclusions)."""

    name: str = Field(min_length=1, max_length=80)
    moment: bool = True
    channel: str | None = None  # the channel of the events it marks, when the data has none


class Marking(Strict):
    """Which events are moments of truth.

    Exclusions (``moment: false``) win over inclusions; otherwise the first matching rule in the
    list decides. Events no rule matches are undecided: not MOTs, and their activities are listed
    for review. ``use_default_rules``: ``null`` = the built-in rules only when ``rules`` is empty;
    ``true`` = the built-in rules after yours; ``false`` = never.
    """

    rules: list[Rule] = Field(default_factory=list)
    use_default_rules: bool | None = None
    # Event attributes that name the channel (first one present wins); case-level attributes
    # such as 'case:channel' are left out on purpose: they would mark every event of a case.
    channel_attributes: list[str] = Field(default_factory=lambda: ["channel", "kanaal", "kanal", "medium"])
    # Channel names in the output: canonical name -> regex on a channel value or, when no channel
    # attribute is present, on the activity name. Values that match none are kept as they are.
    channel_names: dict[str, str] = Field(
        default_factory=lambda: {
            "phone": r"phone|telef|\bcall|\bbel(len|t)?\b|nabellen|anruf|rückruf",
            "e-mail": r"e-?mail|\bmail",
            "letter": r"letter|\bpost\b|\bbrief|schreiben|paper",
            "portal": r"portal|\bweb|online|internet|\bapp\b|self.?service",
            "face to face": r"branch|face.?to.?face|visit|counter|in.?person|filia|kantoor|bezoek|besuch",
            "sms": r"\bsms\b|\btext message",
            "chat": r"\bchat\b",
        }
    )
    # An MOT without a channel attribute or channel word is 'automated' when it matches this.
    automated: list[Match] = Field(
        default_factory=lambda: [
            Match(where={"automated": Pattern(regex=r"^(1|true|yes|y)$")}),
            Match(where={"resource": Pattern(regex=r"^(system|batch|robot|auto[\pL\pN_]*)$")}),
        ]
    )
    # An activity is a moment of truth when, in at least one lifecycle transition, at least this
    # share of its events are MOTs (a call can be an MOT in 'start' but not in 'schedule').
    activity_min_share: float = Field(0.5, gt=0.0, le=1.0)

    @field_validator("channel_names")
    @classmethod
    def _valid_channels(cls, value: dict[str, str]) -> dict[str, str]:
        for name, pattern in value.items():
            try:
                _compile(pattern)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _unique_rules(self) -> Marking:
        names = [r.name for r in self.rules]
        doubles = sorted({n for n in names if names.count(n) > 1})
        if doubles:
            raise ValueError("duplicate rule names: " + ", ".join(doubles))
        return self


class Signal(Match):
    """An attribute signal: matching MOT events get ``weight`` added to their score (negative = worse)."""

    name: str = Field(min_length=1, max_length=80)
    weight: float


class Weights(Strict):
    """Weights of the experience signals (docs/moments.md, "Running score").

    A moment that meets its expectation adds ``met`` (``beaten`` when its wait is clearly under
    budget); the friction signals subtract (each contribution <= 0 unless noted).
    """

    met: float = Field(0.5, ge=0)  # expectation met: wait within budget (or not judged), effort within budget
    beaten: float = Field(1.0, ge=0)  # met, and the wait at most expectations.beaten_share of its budget
    wait: float = Field(1.0, ge=0)  # wait over budget: -wait * (1 + min(wait_cap, log2(wait / budget)))
    wait_cap: float = Field(2.0, ge=0)
    repeat: float = Field(1.0, ge=0)  # n-th occurrence of the MOT in the case: -repeat * min(repeat_cap, n - 1)
    repeat_cap: int = Field(2, ge=0)
    channel_switch: float = Field(0.25, ge=0)  # channel differs from the previous MOT's
    handoff: float = Field(0.1, ge=0)  # per hand-off since the previous MOT, at most handoff_cap
    handoff_cap: int = Field(3, ge=0)
    effort: float = Field(0.25, ge=0)  # the customer has to act
    outcome_success: float = 1.0  # added to the MOT at which the outcome becomes known
    outcome_declined: float = -1.0
    outcome_dropout: float = -1.0


# Wait budgets (hours) per channel: widely cited service-level rules of thumb, not laws; what each
# rests on is in docs/moments.md ("Expectations"). None: no rule of thumb, the budget is learned.
DEFAULT_CHANNEL_WAIT_HOURS: dict[str, float | None] = {
    "phone": 24.0,
    "e-mail": 24.0,
    "letter": 120.0,
    "portal": 24.0,
    "face to face": 168.0,
    "chat": 1.0,
    "sms": 1.0,
    "bank transfer": 72.0,
    "unknown": None,
}


def channel_key(name: str) -> str:
    """A channel name as the expectations look it up: lower case, without spaces, '-' and '_'."""
    key = re.sub(r"[\s_\-]+", "", name.lower())
    return {"email": "email", "web": "portal", "online": "portal", "branch": "facetoface", "f2f": "facetoface"}.get(
        key, key
    )


class ActivityExpectation(Strict):
    """What the customer expects at one activity: a wait budget and an effort budget (units)."""

    wait_hours: float | None = Field(None, gt=0)
    effort: int | None = Field(None, ge=0)


class Timers(Strict):
    """Detecting fixed-timer and calendar gaps from the data (docs/moments.md, "Knock-on")."""

    tolerance_s: float = Field(60.0, ge=0)  # gaps within this of the typical gap count as equal
    min_share: float = Field(0.9, gt=0.5, le=1.0)  # of an activity's gaps from one anchor that must be equal
    min_n: int = Field(10, ge=2)  # instances with that anchor
    min_gap_s: float = Field(3600.0, ge=0)  # shorter fixed gaps are simultaneous records, not timers
    lookback: int = Field(10, ge=1)  # earlier instances of the case tried as anchors
    batch_min_cases: int = Field(5, ge=2)  # a calendar batch: one timestamp shared by at least this many cases


class Expectations(Strict):
    """What each moment is judged against: wait and effort budgets (docs/moments.md, "Expectations").

    The wait budget of a moment: ``activities[A].wait_hours``, else ``scoring.service_level_hours[A]``,
    else ``channels[its channel]`` (``unknown`` for channels not listed and moments without one),
    else learned from the data: ``learned_multiple`` x the median wait of the activity (or the
    ``scoring.wait_reference_quantile`` of its waits when that is set), at least
    ``scoring.min_reference_wait_s``. The effort budget: ``activities[A].effort``, else 1 for the
    customer's own steps (most of its instances are customer actions), else 0.
    """

    channels: dict[str, float | None] = Field(default_factory=lambda: dict(DEFAULT_CHANNEL_WAIT_HOURS))
    activities: dict[str, ActivityExpectation] = Field(default_factory=dict)
    learned_multiple: float = Field(2.0, gt=0)
    beaten_share: float = Field(0.5, gt=0, lt=1)  # a wait at most this share of its budget 'clearly beats' it
    # What counts as a unit of customer effort at a moment (each 1 unit; a repeat counts n - 1, capped
    # at weights.repeat_cap; channel_switch: the customer acts in another channel than the previous
    # moment's). channel_switch is off by default: on the corpus it made every portal signature after
    # an e-mailed offer 'poor', which is the designed route, not extra effort (it still costs
    # weights.channel_switch in the score).
    effort_counts: list[Literal["customer_action", "repeat", "channel_switch"]] = Field(
        default_factory=lambda: ["customer_action", "repeat"]
    )
    timers: Timers = Field(default_factory=Timers)

    @field_validator("channels")
    @classmethod
    def _positive_channels(cls, value: dict[str, float | None]) -> dict[str, float | None]:
        for channel, hours in value.items():
            if hours is not None and hours <= 0:
                raise ValueError(f"wait budget of channel {channel!r} must be positive hours or null, got {hours}")
        merged = dict(DEFAULT_CHANNEL_WAIT_HOURS)
        defaults = {channel_key(k): k for k in merged}
        for channel, hours in value.items():
            merged[defaults.get(channel_key(channel), channel)] = hours
        return merged


class Scoring(Strict):
    """The running score: an experience score per MOT, judged against its expectation, summed per case."""

    # Wait before an MOT: since the end of the previous MOT of the case (the first: since the case
    # start), the previous event, or the customer's own latest action (else as previous_moment).
    wait_from: Literal["previous_moment", "previous_event", "customer_action"] = "previous_moment"
    # None (default): a learned budget is learned_multiple x the median wait; a quantile here
    # replaces that (still labelled 'learned').
    wait_reference_quantile: float | None = Field(None, gt=0.0, lt=1.0)
    # Wait budgets (hours) per activity; expectations.activities[A].wait_hours wins over these.
    service_level_hours: dict[str, float] = Field(default_factory=dict)
    # Learned budgets below this are raised to it: a customer does not notice minutes.
    min_reference_wait_s: float = Field(3600.0, ge=0)
    expectations: Expectations = Field(default_factory=Expectations)
    weights: Weights = Field(default_factory=Weights)
    # Hand-offs: changes of this field between the previous MOT and this one ('resource' or an attribute).
    handoff_attribute: str = "resource"
    # Customer effort: MOT events matching any of these make the customer act.
    effort: list[Match] = Field(
        default_factory=lambda: [
            Match(where={"direction": Pattern(regex=r"^(inbound|incoming|in|inkomend|eingehend)$")}),
            Match(where={"resource": Pattern(regex=r"^(customer|client|klant|kunde|applicant)$")}),
        ]
    )
    attribute_signals: list[Signal] = Field(
        default_factory=lambda: [
            Signal(name="negative sentiment", where={"sentiment": ["negative"]}, weight=-1.0),
            Signal(name="positive sentiment", where={"sentiment": ["positive"]}, weight=0.5),
        ]
    )
    # A moment is poor when it misses its expectation in one of these: its wait over budget, its
    # effort over budget, or a negative attribute signal.
    poor_signals: list[Literal["wait", "effort", "attribute"]] = Field(
        default_factory=lambda: ["wait", "effort", "attribute"], min_length=1
    )
    # Knock-on effects on fewer consecutive pairs are 'not measurable: n < knock_on_min_pairs'.
    knock_on_min_pairs: int = Field(30, ge=1)
    # ... and an effect whose adjusted lift lies within [1 / knock_on_min_lift, knock_on_min_lift] is
    # 'small' however many pairs make its interval narrow.
    knock_on_min_lift: float = Field(1.1, ge=1.0)

    @field_validator("service_level_hours")
    @classmethod
    def _positive_levels(cls, value: dict[str, float]) -> dict[str, float]:
        for activity, hours in value.items():
            if hours <= 0:
                raise ValueError(f"service level of {activity!r} must be positive hours, got {hours}")
        return value

    def wait_budgets(self) -> dict[str, float]:
        """Wait budgets (hours) per activity: service_level_hours, overridden by expectations.activities."""
        budgets = dict(self.service_level_hours)
        for activity, e in self.expectations.activities.items():
            if e.wait_hours is not None:
                budgets[activity] = e.wait_hours
        return budgets


class OutcomeKind(Strict):
    """A kind of outcome of the user's own (a return to the ER, a complaint, a reopened ticket).

    ``rules``: events matching any of them are outcome events of this kind (the same conditions as
    marking rules). ``polarity``: how the analyses read the kind: ``positive`` counts with success,
    ``negative`` with the bad outcomes, ``neutral`` with neither.
    """

    name: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z][\w .'-]*$")
    polarity: Literal["positive", "negative", "neutral"]
    rules: list[Match] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_OUTCOMES:
            raise ValueError(f"{value!r} is reserved: give rules for it under outcomes.{value}, or pick another name")
        return value


class Outcomes(Strict):
    """How a case ends: success, declined, drop-out or a kind of the user's own, from its events or a time limit.

    Each kind has a polarity: success positive, declined negative (the organisation's decision),
    drop-out negative (the customer left), the user's ``kinds`` as configured. A case's outcome is
    the kind of its latest outcome event, or, with ``precedence``, the first kind in that list it
    has events of. The outcome event is the first event of that kind. An event matching several
    kinds counts as a drop-out first, then declined, success, then the user's kinds in their order.
    A case without outcome events is a drop-out when ``success_within_days`` is set and the case
    started at least that long before the end of the log, 'open' when it started later, and
    'other' when no time limit is set. ``use_default_rules`` works as in ``marking``.
    """

    success: list[Match] = Field(default_factory=list)
    declined: list[Match] = Field(default_factory=list)
    dropout: list[Match] = Field(default_factory=list)
    kinds: list[OutcomeKind] = Field(default_factory=list)
    precedence: list[str] = Field(default_factory=list)
    success_within_days: float | None = Field(None, gt=0)
    use_default_rules: bool | None = None

    @model_validator(mode="after")
    def _known_kinds(self) -> Outcomes:
        names = [k.name for k in self.kinds]
        doubles = sorted({n for n in names if names.count(n) > 1})
        if doubles:
            raise ValueError("kinds: duplicate names: " + ", ".join(doubles))
        known = set(OUTCOME_KINDS) | set(names)
        unknown = [k for k in self.precedence if k not in known]
        if unknown:
            raise ValueError(f"precedence: unknown kind(s) {unknown}; known: {sorted(known)}")
        return self

    def configured(self) -> bool:
        """Whether the config gives any outcome rule."""
        return bool(self.success or self.declined or self.dropout or self.kinds)

    def all_kinds(self) -> list[tuple[str, str, list[Match]]]:
        """(name, polarity, rules) of every kind: the built-in ones in matching order, then the user's."""
        builtin = [(k, BUILTIN_POLARITY[k], list(getattr(self, k))) for k in OUTCOME_KINDS]
        return builtin + [(k.name, k.polarity, list(k.rules)) for k in self.kinds]


class Attribution(Strict):
    """Upstream factors tested for over-representation in drop-out cases."""

    kinds: list[Literal["poor_score", "repeated", "long_wait", "attribute"]] = Field(
        default_factory=lambda: ["poor_score", "repeated", "long_wait", "attribute"]
    )
    # Event attributes of MOTs tested as 'activity: attribute = value' (the channel always is).
    attributes: list[str] = Field(default_factory=list)
    # Which cases are compared: every case whose outcome is in this list (drop-outs always are);
    # outcome kinds by name (the user's own too) or 'other'. null: every case that is not 'open'.
    population: list[str] | None = None
    # A factor at MOT X is compared within the cases that reached X ('reached'), or all cases ('all').
    baseline: Literal["reached", "all"] = "reached"
    min_cases: int = Field(20, ge=1)  # cases with the factor
    # A factor is an echo of a factor at an earlier MOT when their case sets overlap this much
    # (Jaccard index); echoes are ranked after the others.
    echo_jaccard: float = Field(0.9, gt=0.0, le=1.0)
    min_dropout_cases: int = Field(5, ge=1)  # drop-out cases with the factor
    # Exposure control: a factor at a repeated MOT is compared within the cases with the same number
    # of occurrences of that MOT (strata), so that more occurrences (more chances to carry any value)
    # do not pass for a cause. Occurrence counts above this are pooled into one stratum.
    max_occurrence_stratum: int = Field(4, ge=1)


class Moments(Strict):
    """The ``moments`` section of the project config."""

    marking: Marking = Field(default_factory=Marking)
    scoring: Scoring = Field(default_factory=Scoring)
    outcomes: Outcomes = Field(default_factory=Outcomes)
    attribution: Attribution = Field(default_factory=Attribution)
    confidence_level: float = Field(0.95, gt=0.5, lt=1.0)  # of every interval (Wilson score)
