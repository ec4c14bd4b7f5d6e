"""Eligibility rules: the rule file, each rule alone and in combination, with
the exact codes and sentences a citizen reads."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path

import pytest

from services.eligibility.errors import EligibilityError
from services.eligibility.evaluation import (
    CitizenProfile,
    Decision,
    DoseRecord,
    EligibilityRequest,
    InsuranceStatus,
    age_on,
    birthday,
    evaluate,
)
from services.eligibility.rules import (
    OutagePolicy,
    RuleBook,
    load_rules,
    parse_rules,
    parse_rules_text,
)
from services.eligibility.wording import long_date, ordinal

RULES_FILE = Path(__file__).parents[1] / "services/eligibility/rules/v1.json"
RULES = load_rules()
DAY = date(2027, 3, 1)
ACTIVE = InsuranceStatus.ACTIVE


def citizen(
    *,
    age_years: int = 30,
    born: date | None = None,
    region: str = "north",
    allergies: tuple[str, ...] = (),
    history: tuple[DoseRecord, ...] = (),
    consent: bool = False,
) -> CitizenProfile:
    return CitizenProfile(
        citizen_ref="c-1002",
        date_of_birth=born or DAY.replace(year=DAY.year - age_years),
        region=region,
        allergies=frozenset(allergies),
        history=history,
        guardian_consent=consent,
    )


def ask(
    vaccine: str = "comirnaty",
    dose: int = 1,
    profile: CitizenProfile | None = None,
    insurance: InsuranceStatus | None = None,
) -> Decision:
    request = EligibilityRequest(profile or citizen(), vaccine, dose, DAY)
    return evaluate(RULES, request, insurance=insurance)


def given(vaccine: str, dose: int, on: date) -> DoseRecord:
    return DoseRecord(vaccine=vaccine, dose_number=dose, given_on=on)


def reasons(decision: Decision) -> list[tuple[str, str]]:
    return list(zip(decision.codes, decision.messages, strict=True))


def shipped() -> dict:
    return json.loads(RULES_FILE.read_text())


# The rule file


def test_shipped_rules_load_with_their_version_and_three_vaccines():
    assert RULES.version == "2027.1"
    assert sorted(RULES.vaccines) == ["comirnaty", "nuvaxovid", "spikevax"]
    spikevax = RULES.vaccines["spikevax"]
    assert (spikevax.min_age_years, spikevax.max_age_years) == (18, 64)
    assert spikevax.insurance_required
    assert RULES.vaccines["comirnaty"].regions is None


def test_outage_policy_falls_back_to_the_global_one_unless_a_vaccine_overrides():
    policies = {c: r.insurance_unavailable_policy for c, r in RULES.vaccines.items()}
    assert policies == {
        "comirnaty": OutagePolicy.PROVISIONAL,
        "spikevax": OutagePolicy.PROVISIONAL,
        "nuvaxovid": OutagePolicy.RETRY,
    }


def _set(path: str, value: object):
    def change(data: dict) -> None:
        *parents, last = path.split(".")
        for key in parents:
            data = data[key]
        data[last] = value

    return change


def _drop(path: str):
    def change(data: dict) -> None:
        *parents, last = path.split(".")
        for key in parents:
            data = data[key]
        del data[last]

    return change


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        (_drop("version"), "version", "version: missing"),
        (
            _drop("vaccines.spikevax.max_doses"),
            "vaccines.spikevax.max_doses",
            "vaccines.spikevax.max_doses: missing",
        ),
        (
            _set("vaccines.comirnaty.min_age_years", "twelve"),
            "vaccines.comirnaty.min_age_years",
            "vaccines.comirnaty.min_age_years: must be a whole number, got 'twelve'",
        ),
        (
            _set("vaccines.comirnaty.insurance_required", "yes"),
            "vaccines.comirnaty.insurance_required",
            "vaccines.comirnaty.insurance_required: must be true or false, got 'yes'",
        ),
        (
            _set("vaccines.nuvaxovid.regions", []),
            "vaccines.nuvaxovid.regions",
            'vaccines.nuvaxovid.regions: must list at least one region, or be "all"',
        ),
        (
            _set("vaccines.comirnaty.min_age", 12),
            "vaccines.comirnaty.min_age",
            "vaccines.comirnaty.min_age: unknown key",
        ),
        (
            _set("vaccines.nuvaxovid.insurance_unavailable_policy", "wait"),
            "vaccines.nuvaxovid.insurance_unavailable_policy",
            "vaccines.nuvaxovid.insurance_unavailable_policy: must be 'retry' or "
            "'provisional', got 'wait'",
        ),
        (
            _set("vaccines.spikevax.max_age_years", 17),
            "vaccines.spikevax.max_age_years",
            "vaccines.spikevax.max_age_years: must not be below min_age_years",
        ),
        (
            _set("vaccines.spikevax.max_interval_days", 7),
            "vaccines.spikevax.max_interval_days",
            "vaccines.spikevax.max_interval_days: must not be below min_interval_days",
        ),
        (
            _set("vaccines.comirnaty.max_doses", 0),
            "vaccines.comirnaty.max_doses",
            "vaccines.comirnaty.max_doses: must be at least 1, got 0",
        ),
        (_set("vaccines", {}), "vaccines", "vaccines: must name at least one vaccine"),
        (
            _set("vaccines.comirnaty", ["Comirnaty"]),
            "vaccines.comirnaty",
            "vaccines.comirnaty: must be an object, got list",
        ),
    ],
)
def test_a_malformed_rule_file_fails_naming_the_bad_key(change, key, message):
    data = copy.deepcopy(shipped())
    change(data)

    with pytest.raises(EligibilityError) as refused:
        parse_rules(data, "upload.json")

    assert refused.value.reason == "RULES_INVALID"
    assert refused.value.metadata["key"] == key
    assert refused.value.message == f"rules upload.json: {message}"


def test_a_rule_file_that_is_not_json_fails_naming_the_file(tmp_path):
    broken = tmp_path / "v2.json"
    broken.write_text('{"version": "2027.2",')

    with pytest.raises(EligibilityError) as refused:
        load_rules(broken)

    assert refused.value.message.startswith(f"rules {broken}: (file): not valid JSON")


def test_rules_load_from_a_given_path(tmp_path):
    data = shipped() | {"version": "2027.2"}
    path = tmp_path / "v2.json"
    path.write_text(json.dumps(data))

    assert load_rules(path).version == "2027.2"


def test_replacing_the_rule_set_changes_the_version_later_decisions_record():
    book = RuleBook(RULES)
    stricter = shipped() | {"version": "2027.2"}
    stricter["vaccines"]["comirnaty"]["min_age_years"] = 40
    request = EligibilityRequest(citizen(age_years=30), "comirnaty", 1, DAY)

    before = evaluate(book.current, request)
    previous = book.replace(parse_rules_text(json.dumps(stricter), "admin"))
    after = evaluate(book.current, request)

    assert previous is RULES
    assert (before.rules_version, before.eligible) == ("2027.1", True)
    assert (after.rules_version, after.codes) == ("2027.2", ["TOO_YOUNG"])


# Each rule alone


def test_a_plainly_eligible_adult_has_no_failures_and_the_version_is_recorded():
    decision = ask("comirnaty")

    assert decision.eligible
    assert decision.failures == ()
    assert decision.rules_version == "2027.1"
    assert not decision.review_required


def test_an_unknown_vaccine_is_the_only_failure_and_lists_what_is_offered():
    decision = ask("sputnik", insurance=ACTIVE)

    assert reasons(decision) == [
        (
            "VACCINE_UNKNOWN",
            "We do not offer a vaccine called 'sputnik'; please choose Comirnaty, "
            "Nuvaxovid or Spikevax.",
        )
    ]


def test_too_young_names_the_day_the_citizen_reaches_the_minimum_age():
    decision = ask(profile=citizen(born=date(2015, 3, 14), consent=True))

    assert reasons(decision) == [
        (
            "TOO_YOUNG",
            "Comirnaty is given from the age of 12; you can book it from "
            "14 March 2027.",
        )
    ]
    assert decision.failures[0].details == {"earliest_date": "2027-03-14"}


def test_turning_the_minimum_age_on_the_appointment_day_is_old_enough():
    assert ask(profile=citizen(born=date(2015, 3, 1), consent=True)).eligible


def test_too_old_for_spikevax_says_to_choose_another_vaccine():
    decision = ask("spikevax", profile=citizen(age_years=65), insurance=ACTIVE)

    assert reasons(decision) == [
        (
            "TOO_OLD",
            "Spikevax is given only up to the age of 64; please choose another "
            "vaccine.",
        )
    ]


def test_the_maximum_age_itself_is_still_allowed():
    assert ask("spikevax", profile=citizen(age_years=64), insurance=ACTIVE).eligible


def test_a_region_outside_the_list_is_refused_with_the_regions_offered():
    decision = ask("nuvaxovid", profile=citizen(region="south"), insurance=ACTIVE)

    assert reasons(decision) == [
        (
            "WRONG_REGION",
            "Nuvaxovid is offered only in east and north, not in south; please "
            "choose another vaccine.",
        )
    ]


def test_regions_match_whatever_their_letter_case():
    profile = citizen(region="North")
    assert ask("nuvaxovid", profile=profile, insurance=ACTIVE).eligible


def test_a_contraindicated_allergy_is_refused_whatever_its_letter_case():
    profile = citizen(allergies=("Polyethylene Glycol", "pollen"))

    assert reasons(ask("comirnaty", profile=profile)) == [
        (
            "ALLERGY_CONTRAINDICATION",
            "Your record lists an allergy to polyethylene glycol, so you cannot "
            "have Comirnaty; please choose another vaccine or talk to your doctor.",
        )
    ]


def test_every_contraindicated_allergy_is_named_in_one_failure():
    profile = citizen(allergies=("tromethamine", "polyethylene glycol"))
    decision = ask("spikevax", profile=profile, insurance=ACTIVE)

    assert reasons(decision) == [
        (
            "ALLERGY_CONTRAINDICATION",
            "Your record lists an allergy to polyethylene glycol and tromethamine, "
            "so you cannot have Spikevax; please choose another vaccine or talk to "
            "your doctor.",
        )
    ]


def test_a_second_dose_too_soon_names_the_first_day_it_can_be_booked():
    profile = citizen(history=(given("comirnaty", 1, date(2027, 2, 21)),))
    decision = ask("comirnaty", dose=2, profile=profile)

    assert reasons(decision) == [
        ("DOSE_TOO_SOON", "You can book your second dose from 14 March 2027.")
    ]
    assert decision.failures[0].details == {"earliest_date": "2027-03-14"}


def test_a_second_dose_on_the_first_allowed_day_passes():
    profile = citizen(history=(given("comirnaty", 1, date(2027, 2, 8)),))
    assert ask("comirnaty", dose=2, profile=profile).eligible


def test_a_second_dose_after_the_maximum_interval_is_too_late():
    profile = citizen(history=(given("comirnaty", 1, date(2026, 11, 1)),))

    assert reasons(ask("comirnaty", dose=2, profile=profile)) == [
        (
            "DOSE_TOO_LATE",
            "Your second dose had to be given by 24 January 2027; please talk to "
            "your doctor about starting the course again.",
        )
    ]


def test_a_dose_whose_previous_dose_is_missing_is_out_of_sequence():
    profile = citizen(history=(given("comirnaty", 1, date(2026, 12, 1)),))

    assert reasons(ask("comirnaty", dose=3, profile=profile)) == [
        (
            "DOSE_OUT_OF_SEQUENCE",
            "You need your second dose of Comirnaty before you can book your "
            "third dose.",
        )
    ]


def test_doses_of_another_vaccine_do_not_count_towards_the_sequence():
    profile = citizen(history=(given("spikevax", 1, date(2027, 1, 15)),))

    assert ask("comirnaty", dose=2, profile=profile).codes == ["DOSE_OUT_OF_SEQUENCE"]


def test_a_dose_beyond_the_maximum_is_too_many():
    history = (
        given("spikevax", 1, date(2026, 12, 1)),
        given("spikevax", 2, date(2027, 1, 15)),
    )
    decision = ask("spikevax", 3, citizen(history=history), insurance=ACTIVE)

    assert reasons(decision) == [
        (
            "TOO_MANY_DOSES",
            "Spikevax is given in at most 2 doses, so you cannot book dose 3.",
        )
    ]


def test_a_dose_already_given_is_refused_with_its_date():
    profile = citizen(history=(given("comirnaty", 1, date(2027, 1, 10)),))

    assert reasons(ask("comirnaty", dose=1, profile=profile)) == [
        (
            "DOSE_ALREADY_GIVEN",
            "You already had your first dose of Comirnaty on 10 January 2027.",
        )
    ]


def test_a_minor_without_guardian_consent_is_refused():
    decision = ask("comirnaty", profile=citizen(age_years=14))

    assert reasons(decision) == [
        (
            "CONSENT_REQUIRED",
            "A parent or guardian must consent before anyone under 16 has "
            "Comirnaty; ask them to record their consent, then book again.",
        )
    ]


def test_a_minor_with_guardian_consent_passes():
    assert ask("comirnaty", profile=citizen(age_years=14, consent=True)).eligible


def test_consent_is_not_needed_from_the_consent_age_on():
    assert ask("comirnaty", profile=citizen(age_years=16)).eligible


def test_insurance_that_is_not_active_is_refused_when_the_vaccine_needs_it():
    decision = ask("spikevax", insurance=InsuranceStatus.NOT_ACTIVE)

    assert reasons(decision) == [
        (
            "INSURANCE_NOT_ACTIVE",
            "Spikevax needs active health insurance and yours is not active; "
            "please contact your insurer, then book again.",
        )
    ]
    assert decision.insurance is InsuranceStatus.NOT_ACTIVE


def test_insurance_is_ignored_when_the_vaccine_does_not_need_it():
    assert ask("comirnaty", insurance=InsuranceStatus.NOT_ACTIVE).eligible


def test_unknown_insurance_under_the_provisional_policy_is_eligible_for_review():
    decision = ask("spikevax", insurance=InsuranceStatus.UNAVAILABLE)

    assert decision.eligible
    assert decision.review_required


def test_unknown_insurance_under_the_retry_policy_is_refused_for_now():
    decision = ask("nuvaxovid", insurance=InsuranceStatus.UNAVAILABLE)

    assert reasons(decision) == [
        (
            "INSURANCE_UNAVAILABLE",
            "We could not verify your health insurance just now; please try again "
            "later.",
        )
    ]
    assert not decision.review_required


def test_insurance_never_checked_counts_as_unavailable():
    assert ask("spikevax", insurance=None).review_required
    assert ask("nuvaxovid", insurance=None).codes == ["INSURANCE_UNAVAILABLE"]


# Rules in combination


def test_every_failure_is_returned_in_rule_order():
    profile = citizen(
        born=date(2010, 5, 20),
        region="south",
        allergies=("polysorbate 80",),
        history=(given("nuvaxovid", 1, date(2027, 2, 20)),),
    )
    decision = ask("nuvaxovid", 2, profile, insurance=InsuranceStatus.NOT_ACTIVE)

    assert reasons(decision) == [
        (
            "TOO_YOUNG",
            "Nuvaxovid is given from the age of 18; you can book it from 20 May 2028.",
        ),
        (
            "WRONG_REGION",
            "Nuvaxovid is offered only in east and north, not in south; please "
            "choose another vaccine.",
        ),
        (
            "ALLERGY_CONTRAINDICATION",
            "Your record lists an allergy to polysorbate 80, so you cannot have "
            "Nuvaxovid; please choose another vaccine or talk to your doctor.",
        ),
        ("DOSE_TOO_SOON", "You can book your second dose from 13 March 2027."),
        (
            "INSURANCE_NOT_ACTIVE",
            "Nuvaxovid needs active health insurance and yours is not active; "
            "please contact your insurer, then book again.",
        ),
    ]


def test_a_young_child_asking_for_a_fourth_dose_hears_every_reason():
    profile = citizen(born=date(2017, 6, 2))
    decision = ask("comirnaty", dose=4, profile=profile)

    assert decision.codes == [
        "TOO_YOUNG",
        "TOO_MANY_DOSES",
        "DOSE_OUT_OF_SEQUENCE",
        "CONSENT_REQUIRED",
    ]
    assert decision.messages[1:3] == [
        "Comirnaty is given in at most 3 doses, so you cannot book dose 4.",
        "You need your third dose of Comirnaty before you can book your fourth dose.",
    ]


def test_a_provisional_case_with_another_failure_is_not_flagged_for_review():
    decision = ask(
        "spikevax", profile=citizen(age_years=70), insurance=InsuranceStatus.UNAVAILABLE
    )

    assert decision.codes == ["TOO_OLD"]
    assert not decision.review_required


def test_a_refused_decision_raises_not_eligible_with_every_code():
    decision = ask("spikevax", profile=citizen(age_years=70, region="x"))

    with pytest.raises(EligibilityError) as refused:
        decision.raise_if_not_eligible()

    assert refused.value.reason == "NOT_ELIGIBLE"
    assert refused.value.metadata == {"rules_version": "2027.1", "codes": "TOO_OLD"}
    assert refused.value.message == decision.messages[0]


def test_an_eligible_decision_raises_nothing():
    ask("comirnaty").raise_if_not_eligible()


def test_a_dose_number_below_one_is_an_invalid_request():
    with pytest.raises(EligibilityError) as refused:
        ask("comirnaty", dose=0)

    assert refused.value.reason == "DOSE_NUMBER_INVALID"


# Dates and words


def test_someone_born_on_29_february_ages_on_1_march_in_other_years():
    born = date(2008, 2, 29)

    assert age_on(born, date(2027, 2, 28)) == 18
    assert age_on(born, date(2027, 3, 1)) == 19
    assert birthday(born, 19) == date(2027, 3, 1)
    assert birthday(born, 20) == date(2028, 2, 29)


def test_dates_and_dose_numbers_read_as_words():
    assert long_date(date(2027, 3, 14)) == "14 March 2027"
    assert [ordinal(n) for n in (1, 2, 10, 11, 12, 13, 21, 22, 23, 101)] == [
        "first",
        "second",
        "tenth",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "23rd",
        "101st",
    ]
