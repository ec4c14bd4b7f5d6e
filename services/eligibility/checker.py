"""The eligibility check a servicer calls: the rules in force, then one call to
the insurance API when the vaccine needs it, with the outage policy applied.

The check never waits. When insurance cannot be verified and the vaccine's
policy is ``retry``, the verdict tells the caller how long to wait before
asking again; the caller counts its attempts, and once the retry schedule is
spent the unverifiable insurance is a failure.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from enum import StrEnum

from services.eligibility.evaluation import (
    Code,
    Decision,
    EligibilityRequest,
    Failure,
    InsuranceStatus,
    evaluate,
    record_missing,
)
from services.eligibility.insurance import InsuranceClient
from services.eligibility.retry import RetrySchedule
from services.eligibility.rules import OutagePolicy, RuleBook, VaccineRule

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    """What the booking should do with a decision."""

    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not_eligible"
    # Insurance unverified; the booking goes ahead, flagged for review.
    PROVISIONAL = "provisional"
    # Insurance unverified; ask again after ``retry_delay_seconds``.
    RETRY = "retry"


@dataclass(frozen=True)
class Verdict:
    """A decision and what follows from it. ``retry_delay_seconds`` is set for
    :attr:`Outcome.RETRY` only."""

    outcome: Outcome
    decision: Decision
    retry_delay_seconds: float | None = None

    @property
    def rules_version(self) -> str:
        return self.decision.rules_version

    @property
    def failures(self) -> tuple[Failure, ...]:
        """The failures to report: none unless the booking is refused."""
        if self.outcome is Outcome.NOT_ELIGIBLE:
            return self.decision.failures
        return ()


class EligibilityChecker:
    """Evaluates requests against the rule book's current rule set."""

    def __init__(
        self,
        rule_book: RuleBook,
        insurance: InsuranceClient,
        *,
        retry: RetrySchedule | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.rule_book = rule_book
        self.insurance = insurance
        self.retry = retry or insurance.settings.retry
        self._rng = rng or random.Random()

    async def check(
        self, request: EligibilityRequest, previous_attempts: int = 0
    ) -> Verdict:
        """The verdict for one request; ``previous_attempts`` counts the
        checks of the same booking that came before."""
        rules = self.rule_book.current
        rule = rules.vaccines.get(request.vaccine)
        if rule is None or not rule.insurance_required:
            return _verdict(evaluate(rules, request))

        status = await self.insurance.coverage(request.profile.citizen_ref)
        decision = evaluate(rules, request, insurance=status)
        verdict = self._apply_outage_policy(rule, decision, previous_attempts)
        if status is InsuranceStatus.UNAVAILABLE:
            _log_outage(verdict, previous_attempts)
        return verdict

    def _apply_outage_policy(
        self, rule: VaccineRule, decision: Decision, previous_attempts: int
    ) -> Verdict:
        """A retry while the schedule lasts, when insurance is the only thing
        left to verify and the policy wants one; otherwise the decision."""
        waiting = rule.insurance_unavailable_policy is OutagePolicy.RETRY and (
            decision.codes == [Code.INSURANCE_UNAVAILABLE.value]
        )
        if waiting:
            wait_seconds = self.retry.wait_seconds(previous_attempts, self._rng)
            if wait_seconds is not None:
                return Verdict(Outcome.RETRY, decision, wait_seconds)
        return _verdict(decision)

    def record_missing(self, vaccine: str, dose_number: int) -> Verdict:
        """The verdict for someone with no health record."""
        decision = record_missing(self.rule_book.current, vaccine, dose_number)
        return _verdict(decision)


def _log_outage(verdict: Verdict, previous_attempts: int) -> None:
    """A warning: the insurer's outage changed what the booking does."""
    log.warning(
        "insurance unverified; outcome %s",
        verdict.outcome.value,
        extra={
            "fields": {
                "outcome": verdict.outcome.value,
                "vaccine": verdict.decision.vaccine,
                "rules_version": verdict.rules_version,
                "previous_attempts": previous_attempts,
                "retry_delay_seconds": verdict.retry_delay_seconds,
            }
        },
    )


def _verdict(decision: Decision) -> Verdict:
    if not decision.eligible:
        return Verdict(Outcome.NOT_ELIGIBLE, decision)
    if decision.review_required:
        return Verdict(Outcome.PROVISIONAL, decision)
    return Verdict(Outcome.ELIGIBLE, decision)
