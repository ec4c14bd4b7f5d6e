"""gRPC transport of the eligibility service, and who may call each RPC."""

from __future__ import annotations

import asyncio
from datetime import date

from google.protobuf.duration_pb2 import Duration
from vaxbook.eligibility.v1 import eligibility_pb2 as pb
from vaxbook.eligibility.v1 import eligibility_pb2_grpc

from services.common import paging
from services.common.auth import PUBLIC, Role, current_principal, require_person
from services.common.clock import to_timestamp
from services.common.grpc_clients import timeout
from services.common.names import APPOINTMENT, REVIEW_CASE, Person, check_person
from services.common.validation import Checker, checking
from services.eligibility.checker import EligibilityChecker, Outcome, Verdict
from services.eligibility.evaluation import EligibilityRequest
from services.eligibility.patients import PatientRecords
from services.eligibility.reviews import Reviews
from services.eligibility.rulesets import RuleSets
from services.eligibility.store import (
    NewReviewCase,
    ReviewCaseRow,
    ReviewState,
    RuleSetRow,
)

SERVICE = pb.DESCRIPTOR.services_by_name["EligibilityService"].full_name
RULE_SET_NAME = "ruleSets/current"
MAX_CODE_LENGTH = 64
MAX_DOSE_NUMBER = 10
MAX_PREVIOUS_ATTEMPTS = 100
MAX_NOTE_LENGTH = 2000
MAX_RULES_JSON_LENGTH = 1_000_000
# Most checks one BatchCheckEligibility call may carry.
MAX_BATCH = 500

# Who may call each RPC; the AuthInterceptor refuses everyone else.
ACCESS_POLICY = {
    f"/{SERVICE}/CheckEligibility": {Role.SERVICE, Role.CITIZEN, Role.ADMIN},
    f"/{SERVICE}/BatchCheckEligibility": {Role.SERVICE},
    f"/{SERVICE}/GetRuleSet": PUBLIC,
    f"/{SERVICE}/ReplaceRuleSet": {Role.ADMIN},
    f"/{SERVICE}/CreateReviewCase": {Role.SERVICE},
    f"/{SERVICE}/ListReviewCases": {Role.REVIEWER, Role.ADMIN},
    f"/{SERVICE}/ApproveReviewCase": {Role.REVIEWER, Role.ADMIN},
    f"/{SERVICE}/RejectReviewCase": {Role.REVIEWER, Role.ADMIN},
}

_OUTCOMES = {
    Outcome.ELIGIBLE: pb.OUTCOME_ELIGIBLE,
    Outcome.NOT_ELIGIBLE: pb.OUTCOME_NOT_ELIGIBLE,
    Outcome.PROVISIONAL: pb.OUTCOME_PROVISIONAL,
    Outcome.RETRY: pb.OUTCOME_RETRY,
}
_STATES = {
    pb.REVIEW_STATE_OPEN: ReviewState.OPEN,
    pb.REVIEW_STATE_APPROVED: ReviewState.APPROVED,
    pb.REVIEW_STATE_REJECTED: ReviewState.REJECTED,
}
_STATE_NUMBERS = {state: number for number, state in _STATES.items()}


class EligibilityServicer(eligibility_pb2_grpc.EligibilityServiceServicer):
    def __init__(
        self,
        checker: EligibilityChecker,
        patients: PatientRecords,
        rule_sets: RuleSets,
        reviews: Reviews,
    ) -> None:
        self.checker = checker
        self.patients = patients
        self.rule_sets = rule_sets
        self.reviews = reviews

    async def CheckEligibility(self, request, context) -> pb.EligibilityDecision:
        with checking() as check:
            person, day = _check_request(check, "", request)
        require_person(person.account, request.patient)
        profile = await self.patients.profile(person, timeout(context))
        return _decision(await self._judge(request, profile, day))

    async def BatchCheckEligibility(
        self, request, context
    ) -> pb.BatchCheckEligibilityResponse:
        with checking() as check:
            if check.required("requests", list(request.requests)):
                check.between("len(requests)", len(request.requests), 1, MAX_BATCH)
            checked = [
                _check_request(check, f"requests[{index}].", one)
                for index, one in enumerate(request.requests)
            ]
        profiles = await self.patients.profiles(
            [person for person, _ in checked], timeout(context)
        )
        verdicts = await asyncio.gather(
            *(
                self._judge(one, profiles.get(person.key), day)
                for one, (person, day) in zip(request.requests, checked, strict=True)
            )
        )
        return pb.BatchCheckEligibilityResponse(
            decisions=[_decision(verdict) for verdict in verdicts]
        )

    async def _judge(self, request, profile, day: date) -> Verdict:
        if profile is None:
            return self.checker.record_missing(request.vaccine, request.dose_number)
        return await self.checker.check(
            EligibilityRequest(profile, request.vaccine, request.dose_number, day),
            request.previous_attempts,
        )

    async def GetRuleSet(self, request, context) -> pb.RuleSet:
        with checking() as check:
            if check.required("name", request.name) and request.name != RULE_SET_NAME:
                check.fail("name", f"must be {RULE_SET_NAME!r}, got {request.name!r}")
        return _rule_set(self.rule_sets.in_force)

    async def ReplaceRuleSet(self, request, context) -> pb.RuleSet:
        with checking() as check:
            rules_json = request.rules_json
            too_long = len(rules_json) > MAX_RULES_JSON_LENGTH
            if check.required("rules_json", rules_json.strip()) and too_long:
                check.fail(
                    "rules_json", f"must be at most {MAX_RULES_JSON_LENGTH} chars"
                )
            check.request_id(request.request_id)
        row = await self.rule_sets.replace(
            request.rules_json, request.request_id, current_principal().subject
        )
        return _rule_set(row)

    async def CreateReviewCase(self, request, context) -> pb.ReviewCase:
        case = request.review_case
        with checking() as check:
            ids = check.name("review_case.appointment", case.appointment, APPOINTMENT)
            person = check_person(
                check, "review_case.patient", case.patient, patient=True
            )
            _check_code(check, "review_case.vaccine", case.vaccine)
            _check_dose_number(check, "review_case.dose_number", case.dose_number)
            _check_code(check, "review_case.reason", case.reason)
            _check_code(check, "review_case.rules_version", case.rules_version)
            check.request_id(request.request_id)
        row = await self.reviews.open(
            NewReviewCase(
                appointment_id=ids["appointment"],
                person_key=person.key,
                vaccine=case.vaccine,
                dose_number=case.dose_number,
                reason=case.reason,
                rules_version=case.rules_version,
            )
        )
        return _review_case(row)

    async def ListReviewCases(self, request, context) -> pb.ListReviewCasesResponse:
        with checking() as check:
            state = None
            if request.state != pb.REVIEW_STATE_UNSPECIFIED:
                state = _STATES.get(request.state)
                if state is None:
                    check.fail("state", f"is unknown: {request.state}")
        size = paging.page_size(request.page_size)
        offset = paging.decode_offset(request.page_token)
        rows = await self.reviews.list(state, offset, size + 1)
        return pb.ListReviewCasesResponse(
            review_cases=[_review_case(row) for row in rows[:size]],
            next_page_token=paging.next_token(offset, size, len(rows)),
        )

    async def ApproveReviewCase(self, request, context) -> pb.ReviewCase:
        return await self._decide(request, context, approved=True)

    async def RejectReviewCase(self, request, context) -> pb.ReviewCase:
        return await self._decide(request, context, approved=False)

    async def _decide(self, request, context, *, approved: bool) -> pb.ReviewCase:
        with checking() as check:
            ids = check.name("name", request.name, REVIEW_CASE)
            check.text("note", request.note, MAX_NOTE_LENGTH, required=not approved)
            check.request_id(request.request_id)
        row = await self.reviews.decide(
            ids["review_case"],
            approved,
            current_principal().subject,
            request.note,
            timeout(context),
        )
        return _review_case(row)


def _check_request(
    check: Checker, prefix: str, request: pb.CheckEligibilityRequest
) -> tuple[Person | None, date | None]:
    """The person and the day of one check; field names start with
    ``prefix``."""
    person = check_person(check, f"{prefix}patient", request.patient, patient=True)
    _check_code(check, f"{prefix}vaccine", request.vaccine)
    _check_dose_number(check, f"{prefix}dose_number", request.dose_number)
    day = _check_day(check, prefix, request)
    check.between(
        f"{prefix}previous_attempts",
        request.previous_attempts,
        0,
        MAX_PREVIOUS_ATTEMPTS,
    )
    return person, day


def _check_code(check: Checker, field: str, value: str) -> None:
    check.text(field, value, MAX_CODE_LENGTH)


def _check_dose_number(check: Checker, field: str, value: int) -> None:
    check.between(field, value, 1, MAX_DOSE_NUMBER)


def _check_day(
    check: Checker, prefix: str, request: pb.CheckEligibilityRequest
) -> date | None:
    """The day of the appointment, in UTC: the day the rules judge."""
    field = f"{prefix}appointment_time"
    if not check.required(field, request.HasField("appointment_time")):
        return None
    moment = check.timestamp(field, request.appointment_time)
    return moment.date() if moment else None


def _decision(verdict: Verdict) -> pb.EligibilityDecision:
    decision = pb.EligibilityDecision(
        outcome=_OUTCOMES[verdict.outcome],
        failures=[
            pb.Failure(code=f.code.value, message=f.message, details=f.details)
            for f in verdict.failures
        ],
        rules_version=verdict.rules_version,
    )
    if verdict.retry_delay_seconds is not None:
        delay = Duration()
        delay.FromMilliseconds(round(verdict.retry_delay_seconds * 1000))
        decision.retry_delay.CopyFrom(delay)
    return decision


def _rule_set(row: RuleSetRow) -> pb.RuleSet:
    return pb.RuleSet(
        name=RULE_SET_NAME,
        version=row.version,
        rules_json=row.rules_json,
        update_time=to_timestamp(row.create_time),
    )


def _review_case(row: ReviewCaseRow) -> pb.ReviewCase:
    case = pb.ReviewCase(
        name=REVIEW_CASE.format(review_case=row.id),
        appointment=APPOINTMENT.format(appointment=row.appointment_id),
        patient=Person.from_key(row.person_key).patient_name,
        vaccine=row.vaccine,
        dose_number=row.dose_number,
        reason=row.reason,
        rules_version=row.rules_version,
        state=_STATE_NUMBERS[ReviewState(row.state)],
        reviewer=row.reviewer,
        note=row.note,
        create_time=to_timestamp(row.create_time),
        decision_applied=row.decision_applied,
    )
    if row.decide_time is not None:
        case.decide_time.CopyFrom(to_timestamp(row.decide_time))
    return case
