"""The eligibility service through gRPC: decisions built from patient records,
the insurance outage policies, rule sets replaced at run time, the review
queue, and who may call what.

Decisions and access are checked on the mesh. Rule replacement and review
decisions change shared state, so they run on two replicas of their own, on
a database of their own, next to a stand-in for the appointment service's
side of ``ResolveReview``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
import pytest
from vaxbook.appointment.v1 import appointment_pb2 as appt
from vaxbook.appointment.v1 import appointment_pb2_grpc
from vaxbook.eligibility.v1 import eligibility_pb2 as pb
from vaxbook.eligibility.v1 import eligibility_pb2_grpc
from vaxbook.patient.v1 import patient_pb2 as pat

from services.common.access import token_channel
from services.common.auth import Role
from services.common.clock import to_timestamp
from services.common.config import Settings
from services.common.db import create_engine
from services.common.errors import DomainError, ErrorDetails, Unavailable, read_error
from services.common.events import EventSettings
from services.common.grpc_clients import channel
from services.common.server import Registration, RunningServer, create_server
from services.devstack import Endpoints, create_database, drop_database
from services.eligibility import app as eligibility_app
from services.eligibility.config import InsuranceSettings
from services.eligibility.events import EligibilityEvents
from services.eligibility.rules import (
    SHIPPED_RULES_SOURCE,
    load_rules,
    shipped_rules_text,
)
from services.eligibility.rulesets import RuleSets
from services.eligibility.servicer import EligibilityServicer
from services.eligibility.store import EligibilityStore
from services.insurance_standin.server import RunningStandin
from services.migrate import migrate
from tests.mesh import Mesh, booker, new_id
from tests.polling import eventually

SHIPPED_VERSION = load_rules().version
# The mesh clock starts on 1 March 2027; doses given before then are history.
APPOINTMENT_TIME = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
ELIGIBLE = pb.OUTCOME_ELIGIBLE
NOT_ELIGIBLE = pb.OUTCOME_NOT_ELIGIBLE
OPEN = pb.REVIEW_STATE_OPEN
APPROVED = pb.REVIEW_STATE_APPROVED
REJECTED = pb.REVIEW_STATE_REJECTED
CURRENT = pb.GetRuleSetRequest(name="ruleSets/current")


# Builders


def citizen_id(insured: bool = True) -> str:
    """A new citizen id. The stand-in insurer covers refs ending in an even
    digit, and a citizen's ref is their id."""
    return new_id()[:-1] + ("2" if insured else "1")


async def person(mesh: Mesh, *, insured: bool = True, doses=(), **record) -> str:
    """The record name of a new person: an adult of the north unless
    ``record`` says otherwise, with ``doses`` as (vaccine, dose, given date)."""
    citizen = await booker(mesh, citizen=citizen_id(insured), **record)
    patient = f"citizens/{citizen}/patient"
    for vaccine, dose_number, given_date in doses:
        await mesh.patients.RecordVaccination(
            pat.RecordVaccinationRequest(
                parent=patient,
                vaccination=pat.Vaccination(
                    vaccine=vaccine, dose_number=dose_number, given_date=given_date
                ),
                request_id=new_id(),
            )
        )
    return patient


def check_request(
    patient: str, vaccine: str = "comirnaty", dose: int = 1, attempts: int = 0
) -> pb.CheckEligibilityRequest:
    return pb.CheckEligibilityRequest(
        patient=patient,
        vaccine=vaccine,
        dose_number=dose,
        appointment_time=to_timestamp(APPOINTMENT_TIME),
        previous_attempts=attempts,
    )


def reasons(decision: pb.EligibilityDecision) -> list[tuple[str, str]]:
    return [(f.code, f.message) for f in decision.failures]


async def refused(call: Awaitable) -> ErrorDetails:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call
    return read_error(error.value)


def rules_text(version: str, **comirnaty) -> str:
    """The shipped rules under another version, with Comirnaty changed."""
    rules = json.loads(shipped_rules_text())
    rules["version"] = version
    rules["vaccines"]["comirnaty"].update(comirnaty)
    return json.dumps(rules, indent=2)


# Decisions from the patient record, one rule at a time

RULE_CASES = [
    pytest.param(
        {"birth_date": "2016-05-20", "guardian_consent": True},
        "comirnaty",
        1,
        (),
        "TOO_YOUNG",
        "Comirnaty is given from the age of 12; you can book it from 20 May 2028.",
        {"earliest_date": "2028-05-20"},
        id="too-young",
    ),
    pytest.param(
        {"birth_date": "1950-01-01"},
        "spikevax",
        1,
        (),
        "TOO_OLD",
        "Spikevax is given only up to the age of 64; please choose another vaccine.",
        {},
        id="too-old",
    ),
    pytest.param(
        {"region": "south"},
        "nuvaxovid",
        1,
        (),
        "WRONG_REGION",
        "Nuvaxovid is offered only in east and north, not in south; please "
        "choose another vaccine.",
        {},
        id="wrong-region",
    ),
    pytest.param(
        {"allergies": ["Polyethylene Glycol"]},
        "comirnaty",
        1,
        (),
        "ALLERGY_CONTRAINDICATION",
        "Your record lists an allergy to polyethylene glycol, so you cannot have "
        "Comirnaty; please choose another vaccine or talk to your doctor.",
        {},
        id="allergy",
    ),
    pytest.param(
        {"contraindications": ["tromethamine"]},
        "spikevax",
        1,
        (),
        "ALLERGY_CONTRAINDICATION",
        "Your record lists an allergy to tromethamine, so you cannot have "
        "Spikevax; please choose another vaccine or talk to your doctor.",
        {},
        id="contraindication-counts-as-allergy",
    ),
    pytest.param(
        {},
        "comirnaty",
        1,
        (("comirnaty", 1, "2027-02-20"),),
        "DOSE_ALREADY_GIVEN",
        "You already had your first dose of Comirnaty on 20 February 2027.",
        {},
        id="dose-already-given",
    ),
    pytest.param(
        {},
        "comirnaty",
        4,
        (
            ("comirnaty", 1, "2026-10-01"),
            ("comirnaty", 2, "2026-11-01"),
            ("comirnaty", 3, "2027-01-01"),
        ),
        "TOO_MANY_DOSES",
        "Comirnaty is given in at most 3 doses, so you cannot book dose 4.",
        {},
        id="too-many-doses",
    ),
    pytest.param(
        {},
        "comirnaty",
        2,
        (),
        "DOSE_OUT_OF_SEQUENCE",
        "You need your first dose of Comirnaty before you can book your second dose.",
        {},
        id="out-of-sequence",
    ),
    pytest.param(
        {},
        "comirnaty",
        2,
        (("comirnaty", 1, "2027-02-20"),),
        "DOSE_TOO_SOON",
        "You can book your second dose from 13 March 2027.",
        {"earliest_date": "2027-03-13"},
        id="too-soon",
    ),
    pytest.param(
        {},
        "comirnaty",
        2,
        (("comirnaty", 1, "2026-10-01"),),
        "DOSE_TOO_LATE",
        "Your second dose had to be given by 24 December 2026; please talk to "
        "your doctor about starting the course again.",
        {"latest_date": "2026-12-24"},
        id="too-late",
    ),
    pytest.param(
        {"birth_date": "2012-01-01"},
        "comirnaty",
        1,
        (),
        "CONSENT_REQUIRED",
        "A parent or guardian must consent before anyone under 16 has Comirnaty; "
        "ask them to record their consent, then book again.",
        {},
        id="consent",
    ),
    pytest.param(
        {},
        "sputnik",
        1,
        (),
        "VACCINE_UNKNOWN",
        "We do not offer a vaccine called 'sputnik'; please choose Comirnaty, "
        "Nuvaxovid or Spikevax.",
        {"vaccine": "sputnik"},
        id="unknown-vaccine",
    ),
]


@pytest.mark.parametrize(
    ("record", "vaccine", "dose", "doses", "code", "message", "details"), RULE_CASES
)
async def test_each_rule_alone_refuses_with_its_code_and_sentence(
    mesh, record, vaccine, dose, doses, code, message, details
):
    patient = await person(mesh, doses=doses, **record)

    decision = await mesh.eligibility.CheckEligibility(
        check_request(patient, vaccine, dose)
    )

    assert decision.outcome == NOT_ELIGIBLE
    assert reasons(decision) == [(code, message)]
    assert dict(decision.failures[0].details) == details
    assert decision.rules_version == SHIPPED_VERSION
    assert not decision.HasField("retry_delay")


async def test_insurance_that_is_not_active_refuses_a_vaccine_that_needs_it(mesh):
    patient = await person(mesh, insured=False)

    decision = await mesh.eligibility.CheckEligibility(
        check_request(patient, "spikevax")
    )

    assert reasons(decision) == [
        (
            "INSURANCE_NOT_ACTIVE",
            "Spikevax needs active health insurance and yours is not active; "
            "please contact your insurer, then book again.",
        )
    ]


async def test_an_adult_with_a_record_is_eligible_and_the_version_is_recorded(mesh):
    patient = await person(mesh)

    decisions = [
        await mesh.eligibility.CheckEligibility(check_request(patient, vaccine))
        for vaccine in ("comirnaty", "spikevax", "nuvaxovid")
    ]

    assert [d.outcome for d in decisions] == [ELIGIBLE] * 3
    assert [d.rules_version for d in decisions] == [SHIPPED_VERSION] * 3
    assert [list(d.failures) for d in decisions] == [[]] * 3


async def test_a_second_dose_on_time_after_the_first_in_the_history_passes(mesh):
    patient = await person(mesh, doses=[("comirnaty", 1, "2027-02-01")])

    decision = await mesh.eligibility.CheckEligibility(
        check_request(patient, "comirnaty", 2)
    )

    assert decision.outcome == ELIGIBLE


async def test_every_failing_rule_is_reported_together_in_rule_order(mesh):
    patient = await person(
        mesh,
        insured=False,
        birth_date="2012-01-01",
        region="south",
        contraindications=["polysorbate 80"],
    )

    decision = await mesh.eligibility.CheckEligibility(
        check_request(patient, "nuvaxovid", 2)
    )

    assert decision.outcome == NOT_ELIGIBLE
    assert [f.code for f in decision.failures] == [
        "TOO_YOUNG",
        "WRONG_REGION",
        "ALLERGY_CONTRAINDICATION",
        "DOSE_OUT_OF_SEQUENCE",
        "INSURANCE_NOT_ACTIVE",
    ]
    assert all(f.message.endswith(".") for f in decision.failures)


async def test_a_person_without_a_record_is_asked_to_add_one(mesh):
    patient = f"citizens/{citizen_id()}/patient"

    decision = await mesh.eligibility.CheckEligibility(check_request(patient))

    assert decision.outcome == NOT_ELIGIBLE
    assert reasons(decision) == [
        (
            "PATIENT_RECORD_MISSING",
            "We do not have your date of birth and region yet; please add them "
            "to your health record, then book again.",
        )
    ]
    assert decision.rules_version == SHIPPED_VERSION


async def test_a_check_asks_the_insurer_once_and_only_when_the_vaccine_needs_it(
    mesh, insurer: RunningStandin
):
    patient = await person(mesh)
    calls_before = insurer.standin.coverage_requests

    await mesh.eligibility.CheckEligibility(check_request(patient, "comirnaty"))
    after_comirnaty = insurer.standin.coverage_requests
    await mesh.eligibility.CheckEligibility(check_request(patient, "spikevax"))

    assert after_comirnaty == calls_before
    assert insurer.standin.coverage_requests == calls_before + 1


async def test_a_malformed_check_names_every_bad_field(mesh):
    request = pb.CheckEligibilityRequest(
        patient="citizens/abc",
        vaccine="x" * 65,
        dose_number=11,
        previous_attempts=-1,
    )

    error = await refused(mesh.eligibility.CheckEligibility(request))

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(error.field_violations) == {
        "patient",
        "vaccine",
        "dose_number",
        "appointment_time",
        "previous_attempts",
    }


# Insurance outages on the mesh


@pytest.fixture
async def outage(mesh, insurer: RunningStandin):
    """The insurer answers 503 until the test ends; then the mesh's breaker
    is given time to close again, so later tests find insurance working."""
    insurer.standin.change_faults({"outage": True})
    yield
    insurer.standin.change_faults({"outage": False})
    patient = await person(mesh)

    async def insurance_answers() -> bool:
        decision = await mesh.eligibility.CheckEligibility(
            check_request(patient, "spikevax")
        )
        return decision.outcome == ELIGIBLE

    await eventually(insurance_answers)


async def test_an_outage_books_a_provisional_policy_vaccine_provisionally(mesh, outage):
    patient = await person(mesh)

    decision = await mesh.eligibility.CheckEligibility(
        check_request(patient, "spikevax")
    )

    assert decision.outcome == pb.OUTCOME_PROVISIONAL
    assert list(decision.failures) == []
    assert decision.rules_version == SHIPPED_VERSION


async def test_an_outage_asks_for_growing_waits_then_refuses_a_retry_policy_vaccine(
    mesh, outage
):
    patient = await person(mesh)
    schedule = InsuranceSettings().retry
    bases = schedule.base_delays_seconds()

    decisions = [
        await mesh.eligibility.CheckEligibility(
            check_request(patient, "nuvaxovid", attempts=attempt)
        )
        for attempt in range(schedule.max_attempts)
    ]

    *retries, last = decisions
    assert [d.outcome for d in retries] == [pb.OUTCOME_RETRY] * len(bases)
    assert [list(d.failures) for d in retries] == [[]] * len(bases)
    delays = [d.retry_delay.ToTimedelta().total_seconds() for d in retries]
    for delay, base in zip(delays, bases, strict=True):
        assert base * (1 - schedule.jitter_ratio) <= delay <= base
    assert delays == sorted(delays)
    assert last.outcome == NOT_ELIGIBLE
    assert reasons(last) == [
        (
            "INSURANCE_UNAVAILABLE",
            "We could not verify your health insurance just now; please try "
            "again later.",
        )
    ]


async def test_an_outage_does_not_delay_a_refusal_for_another_reason(mesh, outage):
    patient = await person(mesh, region="south")

    decision = await mesh.eligibility.CheckEligibility(
        check_request(patient, "nuvaxovid")
    )

    assert decision.outcome == NOT_ELIGIBLE
    assert [f.code for f in decision.failures] == [
        "WRONG_REGION",
        "INSURANCE_UNAVAILABLE",
    ]
    assert not decision.HasField("retry_delay")


# Who may check whom


async def test_a_citizen_may_check_themselves_and_their_dependants_only(mesh):
    patient = await person(mesh)
    citizen = patient.removesuffix("/patient")
    as_citizen = mesh.token(citizen, Role.CITIZEN)
    dependant = f"{citizen}/dependants/{new_id()}/patient"

    own = await mesh.eligibility.CheckEligibility(
        check_request(patient), metadata=as_citizen
    )
    theirs = await mesh.eligibility.CheckEligibility(
        check_request(dependant), metadata=as_citizen
    )
    other = await refused(
        mesh.eligibility.CheckEligibility(
            check_request(await person(mesh)), metadata=as_citizen
        )
    )

    assert own.outcome == ELIGIBLE
    assert [f.code for f in theirs.failures] == ["PATIENT_RECORD_MISSING"]
    assert other.code == grpc.StatusCode.PERMISSION_DENIED
    assert other.reason == "NOT_OWNER"


async def test_an_admin_may_check_anyone_and_a_reviewer_no_one(mesh):
    patient = await person(mesh)
    admin = mesh.token(f"staffAccounts/{new_id()}", Role.ADMIN)
    reviewer = mesh.token(f"staffAccounts/{new_id()}", Role.REVIEWER)

    decision = await mesh.eligibility.CheckEligibility(
        check_request(patient), metadata=admin
    )
    error = await refused(
        mesh.eligibility.CheckEligibility(check_request(patient), metadata=reviewer)
    )

    assert decision.outcome == ELIGIBLE
    assert error.reason == "ROLE_NOT_ALLOWED"


async def test_a_check_without_a_token_is_unauthenticated(mesh):
    stub = eligibility_pb2_grpc.EligibilityServiceStub(
        channel(f"127.0.0.1:{mesh.servers['eligibility'].port}")
    )

    error = await refused(
        stub.CheckEligibility(check_request(f"citizens/{new_id()}/patient"))
    )

    assert error.code == grpc.StatusCode.UNAUTHENTICATED


async def test_anyone_may_read_the_rules_in_force_without_a_token(mesh):
    stub = eligibility_pb2_grpc.EligibilityServiceStub(
        channel(f"127.0.0.1:{mesh.servers['eligibility'].port}")
    )

    rule_set = await stub.GetRuleSet(CURRENT)
    bad_name = await refused(stub.GetRuleSet(pb.GetRuleSetRequest(name="ruleSets/1")))

    assert rule_set.name == "ruleSets/current"
    assert rule_set.version == SHIPPED_VERSION
    assert rule_set.rules_json == shipped_rules_text()
    assert rule_set.HasField("update_time")
    assert bad_name.field_violations.keys() == {"name"}


async def test_only_admins_replace_rules_and_only_reviewers_and_admins_list_cases(
    mesh,
):
    citizen = mesh.token(f"citizens/{new_id()}", Role.CITIZEN)
    reviewer = mesh.token(f"staffAccounts/{new_id()}", Role.REVIEWER)
    replace = pb.ReplaceRuleSetRequest(rules_json="{}", request_id=new_id())
    listing = pb.ListReviewCasesRequest()

    by_reviewer = await refused(
        mesh.eligibility.ReplaceRuleSet(replace, metadata=reviewer)
    )
    citizen_lists = await refused(
        mesh.eligibility.ListReviewCases(listing, metadata=citizen)
    )
    reviewer_lists = await mesh.eligibility.ListReviewCases(listing, metadata=reviewer)
    citizen_opens = await refused(
        mesh.eligibility.CreateReviewCase(
            pb.CreateReviewCaseRequest(request_id=new_id()), metadata=citizen
        )
    )

    assert by_reviewer.reason == "ROLE_NOT_ALLOWED"
    assert citizen_lists.reason == "ROLE_NOT_ALLOWED"
    assert isinstance(reviewer_lists, pb.ListReviewCasesResponse)
    assert citizen_opens.reason == "ROLE_NOT_ALLOWED"


# Two replicas of their own, for rule sets and review decisions


class ReviewOutcomes(appointment_pb2_grpc.AppointmentServiceServicer):
    """The appointment service's side of ``ResolveReview``: records every
    call; answers UNAVAILABLE while ``down`` and refuses while ``refusing``."""

    def __init__(self) -> None:
        self.calls: list[appt.ResolveReviewRequest] = []
        self.down = False
        self.refusing = False

    async def ResolveReview(self, request, context) -> appt.Appointment:
        self.calls.append(request)
        if self.down:
            raise Unavailable("APPOINTMENT_DOWN", "down for the test")
        if self.refusing:
            raise DomainError("NOT_UNDER_REVIEW", f"{request.name} is not in review")
        return appt.Appointment(name=request.name)

    def calls_for(self, appointment: str) -> list[appt.ResolveReviewRequest]:
        return [call for call in self.calls if call.name == appointment]


@dataclass
class Replicas:
    """Two eligibility replicas sharing a database, their servers and the
    stand-in appointment service they apply review decisions to."""

    database_url: str
    settings: Settings
    insurance: InsuranceSettings
    servers: list[RunningServer]
    servicers: list[EligibilityServicer]
    stubs: list[eligibility_pb2_grpc.EligibilityServiceStub]
    appointments: ReviewOutcomes

    @property
    def first(self) -> eligibility_pb2_grpc.EligibilityServiceStub:
        return self.stubs[0]

    @property
    def second(self) -> eligibility_pb2_grpc.EligibilityServiceStub:
        return self.stubs[1]

    async def apply_pending(self) -> None:
        """Runs the job that applies decisions, as its next tick would."""
        await self.servicers[0].reviews.apply_pending()


@pytest.fixture(scope="module")
def replica_database(servers: Endpoints):
    name = f"vaxbook_test_replicas_{new_id()[:10]}"
    url = create_database(servers.database_url, name)
    migrate(url)
    yield url
    drop_database(servers.database_url, name)


async def start_replica(
    replica_settings: Settings, clock, insurance: InsuranceSettings
) -> tuple[RunningServer, EligibilityServicer]:
    registrations, on_stop = await eligibility_app.build(
        replica_settings, clock, insurance
    )
    running = await create_server("eligibility", registrations, "127.0.0.1:0")
    running.on_stop.extend(on_stop)
    return running, registrations[0].servicer


@pytest.fixture(scope="module")
async def replicas(mesh, settings, insurer, replica_database):
    outcomes = ReviewOutcomes()
    appointment_server = await create_server(
        "appointment",
        [
            Registration(
                appt.DESCRIPTOR.services_by_name["AppointmentService"].full_name,
                appointment_pb2_grpc.add_AppointmentServiceServicer_to_server,
                outcomes,
            )
        ],
        "127.0.0.1:0",
    )
    addresses = {name: f"127.0.0.1:{s.port}" for name, s in mesh.servers.items()}
    replicas_settings = dataclasses.replace(
        settings,
        database_url=replica_database,
        service_addrs={
            **addresses,
            "appointment": f"127.0.0.1:{appointment_server.port}",
        },
    )
    insurance = InsuranceSettings(url=insurer.url, breaker_fail_max=100)
    started = [
        await start_replica(replicas_settings, mesh.clock, insurance) for _ in "ab"
    ]
    servers = [server for server, _ in started]
    channels = [
        token_channel(f"127.0.0.1:{server.port}", mesh.service_tokens)
        for server in servers
    ]
    yield Replicas(
        replica_database,
        replicas_settings,
        insurance,
        servers,
        [servicer for _, servicer in started],
        [eligibility_pb2_grpc.EligibilityServiceStub(ch) for ch in channels],
        outcomes,
    )
    for ch in channels:
        await ch.close()
    for server in servers:
        await server.stop(grace=0)
    await appointment_server.stop(grace=0)


# Many checks at once


async def test_a_batch_is_judged_check_by_check_in_order(mesh):
    requests = [
        check_request(await person(mesh)),
        check_request(f"citizens/{new_id()}/patient"),
        check_request(await person(mesh, birth_date="2020-01-01")),
    ]

    batch = await mesh.eligibility.BatchCheckEligibility(
        pb.BatchCheckEligibilityRequest(requests=requests)
    )
    singles = [await mesh.eligibility.CheckEligibility(r) for r in requests]

    assert list(batch.decisions) == singles
    assert [d.outcome for d in batch.decisions] == [
        pb.OUTCOME_ELIGIBLE,
        pb.OUTCOME_NOT_ELIGIBLE,
        pb.OUTCOME_NOT_ELIGIBLE,
    ]


async def test_a_batch_is_for_services_and_names_each_bad_check(mesh):
    good = check_request(await person(mesh))
    bad = check_request("nobody", dose=0)
    citizen = good.patient.removesuffix("/patient")

    as_citizen = await refused(
        mesh.eligibility.BatchCheckEligibility(
            pb.BatchCheckEligibilityRequest(requests=[good]),
            metadata=mesh.token(citizen),
        )
    )
    invalid = await refused(
        mesh.eligibility.BatchCheckEligibility(
            pb.BatchCheckEligibilityRequest(requests=[good, bad])
        )
    )

    assert as_citizen.reason == "ROLE_NOT_ALLOWED"
    assert set(invalid.field_violations) == {
        "requests[1].patient",
        "requests[1].dose_number",
    }


def as_admin(mesh: Mesh) -> tuple:
    return mesh.token(f"staffAccounts/{new_id()}", Role.ADMIN)


async def replace_rules(mesh, stub, text: str, request_id: str | None = None):
    return await stub.ReplaceRuleSet(
        pb.ReplaceRuleSetRequest(rules_json=text, request_id=request_id or new_id()),
        metadata=as_admin(mesh),
    )


# Rule sets


async def test_rules_that_are_not_json_are_refused_and_change_nothing(mesh, replicas):
    before = await replicas.first.GetRuleSet(CURRENT)

    error = await refused(replace_rules(mesh, replicas.first, "{not json"))

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.reason == "RULES_INVALID"
    assert error.message.startswith("rules upload: (file): not valid JSON")
    after = await replicas.first.GetRuleSet(CURRENT)
    assert after == before


async def test_rules_with_a_bad_value_are_refused_naming_the_key(mesh, replicas):
    text = rules_text(f"bad-{new_id()}", min_age_years="adult")

    error = await refused(replace_rules(mesh, replicas.first, text))

    assert error.reason == "RULES_INVALID"
    assert error.message == (
        "rules upload: vaccines.comirnaty.min_age_years: must be a whole number, "
        "got 'adult'"
    )
    assert error.metadata["key"] == "vaccines.comirnaty.min_age_years"


async def test_new_rules_decide_the_next_check_on_every_replica(mesh, replicas):
    version = f"2027.2-{new_id()[:8]}"
    patient = await person(mesh)

    replaced = await replace_rules(
        mesh, replicas.first, rules_text(version, min_age_years=40)
    )
    decision = await replicas.first.CheckEligibility(check_request(patient))

    assert replaced.version == version
    assert (
        json.loads(replaced.rules_json)["vaccines"]["comirnaty"]["min_age_years"] == 40
    )
    assert decision.rules_version == version
    assert [f.code for f in decision.failures] == ["TOO_YOUNG"]

    async def second_replica_follows() -> bool:
        current = await replicas.second.GetRuleSet(CURRENT)
        return current.version == version

    await eventually(second_replica_follows)
    on_second = await replicas.second.CheckEligibility(check_request(patient))
    assert on_second.rules_version == version
    assert [f.code for f in on_second.failures] == ["TOO_YOUNG"]


async def test_a_version_already_recorded_is_refused_unless_the_request_repeats(
    mesh, replicas
):
    version = f"2027.3-{new_id()[:8]}"
    text = rules_text(version)
    request_id = new_id()
    first = await replace_rules(mesh, replicas.first, text, request_id)

    repeated = await replace_rules(mesh, replicas.first, text, request_id)
    again = await refused(replace_rules(mesh, replicas.first, text))
    shipped = await refused(replace_rules(mesh, replicas.first, shipped_rules_text()))

    assert repeated == first
    assert again.code == grpc.StatusCode.ALREADY_EXISTS
    assert again.reason == "RULES_VERSION_EXISTS"
    assert again.metadata == {"version": version}
    assert shipped.reason == "RULES_VERSION_EXISTS"


async def test_an_admin_replacement_holds_until_a_deploy_ships_a_new_version(
    mesh, replicas
):
    uploaded = await replace_rules(
        mesh, replicas.first, rules_text(f"2027.4-{new_id()[:8]}")
    )
    engine = create_engine(replicas.database_url, pool_size=1)
    store = EligibilityStore(
        engine, EligibilityEvents(EventSettings.from_settings(replicas.settings))
    )
    deployed_text = rules_text(f"2028.1-{new_id()[:8]}")
    try:
        restarted = await RuleSets.start(
            store, mesh.clock, shipped_rules_text(), SHIPPED_RULES_SOURCE
        )
        deployed = await RuleSets.start(
            store, mesh.clock, deployed_text, "rules/v2.json"
        )
    finally:
        await engine.dispose()

    assert restarted.in_force.version == uploaded.version
    assert restarted.in_force.source == "admin"
    assert deployed.in_force.version == json.loads(deployed_text)["version"]
    assert deployed.in_force.source == "file"
    assert deployed.book.current.version == deployed.in_force.version


async def test_an_unreachable_patient_service_makes_the_check_unavailable(
    mesh, replicas
):
    settings = dataclasses.replace(
        replicas.settings,
        service_addrs={**replicas.settings.service_addrs, "patient": "127.0.0.1:1"},
    )
    server, _ = await start_replica(settings, mesh.clock, replicas.insurance)
    stub_channel = token_channel(f"127.0.0.1:{server.port}", mesh.service_tokens)
    try:
        error = await refused(
            eligibility_pb2_grpc.EligibilityServiceStub(stub_channel).CheckEligibility(
                check_request(await person(mesh))
            )
        )
    finally:
        await stub_channel.close()
        await server.stop(grace=0)

    assert error.code == grpc.StatusCode.UNAVAILABLE
    assert error.reason == "PATIENT_UNAVAILABLE"


# Review cases


def review_case(appointment_id: str | None = None) -> pb.ReviewCase:
    return pb.ReviewCase(
        appointment=f"appointments/{appointment_id or new_id()}",
        patient=f"citizens/{new_id()}/patient",
        vaccine="spikevax",
        dose_number=1,
        reason="INSURANCE_UNAVAILABLE",
        rules_version=SHIPPED_VERSION,
    )


async def open_case(replicas, case: pb.ReviewCase | None = None) -> pb.ReviewCase:
    return await replicas.first.CreateReviewCase(
        pb.CreateReviewCaseRequest(
            review_case=case or review_case(), request_id=new_id()
        )
    )


def as_reviewer(mesh: Mesh, reviewer: str | None = None) -> tuple:
    return mesh.token(reviewer or f"staffAccounts/{new_id()}", Role.REVIEWER)


async def approve(mesh, stub, name: str, note: str = "", reviewer=None):
    return await stub.ApproveReviewCase(
        pb.ApproveReviewCaseRequest(name=name, note=note, request_id=new_id()),
        metadata=as_reviewer(mesh, reviewer),
    )


async def reject(mesh, stub, name: str, note: str, reviewer=None):
    return await stub.RejectReviewCase(
        pb.RejectReviewCaseRequest(name=name, note=note, request_id=new_id()),
        metadata=as_reviewer(mesh, reviewer),
    )


async def all_cases(mesh, stub, state=pb.REVIEW_STATE_UNSPECIFIED, page_size=2):
    """Every case in ``state``, page by page."""
    cases, token = [], ""
    while True:
        page = await stub.ListReviewCases(
            pb.ListReviewCasesRequest(
                state=state, page_size=page_size, page_token=token
            ),
            metadata=as_reviewer(mesh),
        )
        cases += page.review_cases
        token = page.next_page_token
        if not token:
            return cases


async def test_a_review_case_opens_once_per_appointment(mesh, replicas):
    case = review_case()

    opened = await open_case(replicas, case)
    again = await open_case(replicas, case)

    assert opened.name.startswith("reviewCases/")
    assert again == opened
    assert opened.state == OPEN
    assert (opened.appointment, opened.patient, opened.vaccine) == (
        case.appointment,
        case.patient,
        case.vaccine,
    )
    assert (opened.dose_number, opened.reason, opened.rules_version) == (
        1,
        "INSURANCE_UNAVAILABLE",
        SHIPPED_VERSION,
    )
    assert opened.create_time == to_timestamp(mesh.clock.now())
    assert (opened.reviewer, opened.note, opened.decision_applied) == ("", "", False)


async def test_open_cases_list_oldest_first_page_by_page(mesh, replicas):
    opened = [await open_case(replicas) for _ in range(3)]

    listed = await all_cases(mesh, replicas.second, OPEN)

    names = [case.name for case in listed]
    ours = [name for name in names if name in {case.name for case in opened}]
    assert ours == [case.name for case in opened]
    assert {case.state for case in listed} == {OPEN}


async def test_an_approval_is_recorded_then_applied_to_the_appointment(mesh, replicas):
    case = await open_case(replicas)
    reviewer = f"staffAccounts/{new_id()}"

    approved = await approve(mesh, replicas.first, case.name, "checked", reviewer)
    again = await approve(mesh, replicas.second, case.name, "twice", reviewer)
    approved_list = await all_cases(mesh, replicas.first, APPROVED, page_size=500)

    assert approved.state == APPROVED
    assert (approved.reviewer, approved.note) == (reviewer, "checked")
    assert approved.decide_time == to_timestamp(mesh.clock.now())
    assert approved.decision_applied
    assert again == approved
    assert case.name in {c.name for c in approved_list}
    [call] = replicas.appointments.calls_for(case.appointment)
    assert (call.approved, call.note) == (True, "checked")
    assert call.request_id


async def test_a_rejection_needs_a_note_and_reaches_the_appointment(mesh, replicas):
    case = await open_case(replicas)

    without_note = await refused(reject(mesh, replicas.first, case.name, ""))
    rejected = await reject(mesh, replicas.first, case.name, "no insurance cover")

    assert without_note.field_violations.keys() == {"note"}
    assert rejected.state == REJECTED
    assert rejected.decision_applied
    [call] = replicas.appointments.calls_for(case.appointment)
    assert (call.approved, call.note) == (False, "no insurance cover")


async def test_a_decided_case_cannot_be_decided_the_other_way(mesh, replicas):
    case = await open_case(replicas)
    await reject(mesh, replicas.first, case.name, "not covered")

    error = await refused(approve(mesh, replicas.first, case.name))

    assert error.code == grpc.StatusCode.FAILED_PRECONDITION
    assert error.reason == "REVIEW_ALREADY_DECIDED"
    assert error.metadata == {"review_case": case.name, "state": "REJECTED"}


async def test_deciding_a_case_that_does_not_exist_is_not_found(mesh, replicas):
    error = await refused(approve(mesh, replicas.first, f"reviewCases/{new_id()}"))

    assert error.code == grpc.StatusCode.NOT_FOUND


async def test_a_decision_the_appointment_service_missed_is_applied_later(
    mesh, replicas
):
    case = await open_case(replicas)
    replicas.appointments.down = True
    try:
        pending = await approve(mesh, replicas.first, case.name, "fine")
    finally:
        replicas.appointments.down = False

    await replicas.apply_pending()

    [after] = [
        c
        for c in await all_cases(mesh, replicas.first, APPROVED, page_size=500)
        if c.name == case.name
    ]
    assert pending.state == APPROVED
    assert not pending.decision_applied
    assert after.decision_applied
    calls = replicas.appointments.calls_for(case.appointment)
    assert len(calls) >= 2
    assert len({call.request_id for call in calls}) == 1


async def test_a_decision_the_appointment_service_refuses_is_not_sent_again(
    mesh, replicas
):
    case = await open_case(replicas)
    replicas.appointments.refusing = True
    try:
        refused_case = await reject(mesh, replicas.first, case.name, "no cover")
    finally:
        replicas.appointments.refusing = False

    await replicas.apply_pending()

    assert refused_case.state == REJECTED
    assert not refused_case.decision_applied
    assert len(replicas.appointments.calls_for(case.appointment)) == 1
