"""The eligibility check a servicer calls: the rules in force, then the
insurance API when the vaccine needs it, with the outage policy applied."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

from services.eligibility.evaluation import (
    Decision,
    EligibilityRequest,
    InsuranceStatus,
    evaluate,
    rule_failures,
)
from services.eligibility.insurance import InsuranceClient
from services.eligibility.retry import RetrySchedule, call_with_retries
from services.eligibility.rules import OutagePolicy, RuleBook

BeforeWait = Callable[[int, float], Awaitable[object]]


class EligibilityChecker:
    """Evaluates requests against the rule book's current rule set.

    Under the ``retry`` policy the insurance call is retried on the schedule
    while the rest of the request passes; a request that fails other rules
    gets one call, since waiting cannot make it eligible."""

    def __init__(
        self,
        rule_book: RuleBook,
        insurance: InsuranceClient,
        *,
        retry: RetrySchedule | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.rule_book = rule_book
        self.insurance = insurance
        self.retry = retry or insurance.settings.retry
        self._sleep = sleep
        self._rng = rng or random.Random()

    async def check(
        self, request: EligibilityRequest, *, before_wait: BeforeWait | None = None
    ) -> Decision:
        """The decision for one request. ``before_wait(attempt, delay_seconds)``
        runs before each retry wait, for example to extend the hold."""
        rules = self.rule_book.current
        rule = rules.vaccines.get(request.vaccine)
        if rule is None or not rule.insurance_required:
            return evaluate(rules, request)

        retrying = rule.insurance_unavailable_policy is OutagePolicy.RETRY
        if retrying and not rule_failures(rule, request):
            status = await self._coverage_with_retries(request, before_wait)
        else:
            status = await self.insurance.coverage(request.profile.citizen_ref)
        return evaluate(rules, request, insurance=status)

    async def _coverage_with_retries(
        self, request: EligibilityRequest, before_wait: BeforeWait | None
    ) -> InsuranceStatus:
        citizen_ref = request.profile.citizen_ref
        return await call_with_retries(
            lambda: self.insurance.coverage(citizen_ref),
            succeeded=lambda status: status is not InsuranceStatus.UNAVAILABLE,
            delays_seconds=self.retry.delays_seconds(self._rng),
            sleep=self._sleep,
            before_wait=before_wait,
        )
