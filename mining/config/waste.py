"""Settings of the waste analysis: the ``waste`` section of a project config.

Every key has a default, so a config without a ``waste`` section analyses any event log. The
components, weights and thresholds are explained in docs/waste.md.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from mining.config.base import Strict
from mining.config.patterns import check_pattern


class Weights(Strict):
    """Weight of each component in the waste score (the score is the weighted mean of the components
    that can be measured for a step, so the weights need not add up to 1)."""

    no_decision: float = Field(0.20, ge=0)  # nothing that follows the step tells the outcome
    optional: float = Field(0.15, ge=0)  # cases end as its cases do without it
    no_outcome_effect: float = Field(0.15, ge=0)  # its presence does not change the outcome rate
    rework: float = Field(0.20, ge=0)  # the process goes back to redo it
    redundancy: float = Field(0.10, ge=0)  # the same people did the step right before it
    delay: float = Field(0.10, ge=0)  # throughput time its removal would save
    handoff: float = Field(0.05, ge=0)  # it changes hands from the previous step
    customer_effort: float = Field(0.05, ge=0)  # for moments of truth: the customer has to act

    @model_validator(mode="after")
    def _some_weight(self) -> Weights:
        if sum(self.model_dump().values()) <= 0:
            raise ValueError("at least one weight must be positive")
        return self


class Waste(Strict):
    """Waste analysis: step metrics, waste score, recommendation and what-if removal."""

    weights: Weights = Field(default_factory=Weights)
    # Outcome comparisons: confidence level of the intervals, and the smallest group of cases
    # (with and without the step) for which a comparison is made at all.
    confidence: float = Field(0.95, gt=0.5, lt=1.0)
    min_group_cases: int = Field(20, ge=1)
    # Outcome class (a good one) whose rate is compared with and without a step. None: 'success'
    # when the moments analysis recorded it, else the most frequent decided class.
    reference_outcome: str | None = None
    # Normalisation of the components to [0, 1]: the value at which a component reaches 1 (or 0).
    decision_value_full: float = Field(0.2, gt=0, le=1)  # uncertainty coefficient: full decision value
    outcome_effect_full_pp: float = Field(5.0, gt=0)  # lower CI bound of the effect, percentage points
    optional_share_full: float = Field(0.05, gt=0, le=1)  # share of typical-outcome cases without it
    delay_share_full: float = Field(0.10, gt=0, le=1)  # saved share of the mean throughput time
    rework_full: float = Field(0.25, gt=0, le=1)  # share of its cases in which the step is redone
    # What-if: the anchors of a time bracket must be in this share of the affected cases, and each
    # outcome class compared needs this many comparison cases (without the step).
    anchor_share: float = Field(0.9, gt=0.5, le=1.0)
    min_comparison_cases: int = Field(10, ge=1)
    # Steps seen in fewer cases than this have their score scaled down in proportion: a handful of
    # cases cannot make a step the first removal candidate.
    min_support_cases: int = Field(30, ge=1)
    # Automation signals: resources that are systems (regular expression, case-insensitive, matched
    # against the whole name), and the window within which steps of one resource count as a batch.
    system_resource_regex: str = r"system|sys|batch|auto|automated|robot|bot|rpa|scheduler|workflow"
    batch_window_s: float = Field(60.0, gt=0)
    # The case's first step in at least this share of the cases that have it: it starts the case.
    trigger_share: float = Field(0.9, gt=0.5, le=1.0)
    # Evidence (docs/waste.md, "Evidence before advice").
    # 'remove' needs the interval of (outcome rate with the step - without it), within the cases that
    # reached it, to lie below this margin: removing it may not cost more than this many points.
    harm_margin_pp: float = Field(5.0, ge=0)
    # A step whose next step (other than itself) is the same in at least this share of its
    # instances decides nothing about the path.
    decides_nothing_share: float = Field(0.98, gt=0.5, le=1.0)
    # Significance level of the test that the outcome does not depend on who did the step.
    independence_alpha: float = Field(0.05, gt=0, lt=1)
    # A structural candidate must add at least this share of the mean throughput time per case.
    min_delay_share: float = Field(0.02, ge=0, le=1)
    # A score needs measured components carrying at least this share of the total weight.
    min_evidence_weight: float = Field(0.5, gt=0, le=1)
    # Functional steps: alternatives (never in one case, same place in the DFG: histogram
    # intersection of predecessor and of successor distributions at least this), DFG edges that
    # count for a step's place, and hand-off pairs (b follows a in pair_share of both's instances,
    # a in at most pair_max_case_share of the cases, the pair twice or more in pair_min_repeat_share of
    # its cases).
    alternative_similarity: float = Field(0.8, gt=0, le=1)
    edge_min_share: float = Field(0.01, ge=0, le=1)
    pair_share: float = Field(0.95, gt=0.5, le=1)
    pair_max_case_share: float = Field(0.9, gt=0, le=1)
    pair_min_repeat_share: float = Field(0.2, gt=0, le=1)  # cases in which the pair comes round again
    # Recommendation thresholds.
    review_min_score: float = Field(0.45, ge=0, le=1)  # a redundant or automatable step: 'review' from this score
    redundancy_min: float = Field(0.6, ge=0, le=1)  # 'redundancy' component for a merge review
    fix_min_rework: float = Field(0.10, ge=0, le=1)  # rework rate that makes a step perform badly
    fix_min_cases: int = Field(20, ge=1)  # 'fix' needs at least this many cases in which it is redone
    automate_min_signal: float = Field(0.3, ge=0, le=1)  # system or batch share for an automation review
    # Days per month for the per-month figures (given only for logs that span at least a month).
    month_days: float = Field(30.4375, gt=0)

    @field_validator("system_resource_regex")
    @classmethod
    def _valid_regex(cls, value: str) -> str:
        # DuckDB runs it (regexp_full_match, RE2): refuse at load what RE2 cannot run.
        return check_pattern(value)
