"""The auth service: signing up and in with a national ID and a one-time
code, the limits on codes, where national IDs are (not) kept, signing-key
rotation, dependants and staff accounts."""

from __future__ import annotations

import secrets
from datetime import UTC, timedelta

import grpc
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from stdnum import verhoeff
from vaxbook.auth.v1 import auth_pb2 as auth
from vaxbook.auth.v1 import auth_pb2_grpc

from services.auth.delivery import DevOutbox
from services.auth.identity import Contact
from services.auth.keys import KeyRing
from services.common.auth import (
    AuthError,
    Principal,
    Role,
    TokenVerifier,
    bearer,
    public_key,
)
from services.common.errors import read_error
from tests.mesh import new_id

# Builders


def national_id() -> str:
    """A fresh 12-digit number that passes the Aadhaar checks."""
    while True:
        body = str(secrets.randbelow(8 * 10**10) + 2 * 10**10)
        number = body + verhoeff.calc_check_digit(body)
        if number != number[::-1]:
            return number


def with_wrong_check_digit(number: str) -> str:
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def phone() -> auth.Contact:
    return auth.Contact(phone_number=f"+9198{secrets.randbelow(10**8):08d}")


def outbox(mesh) -> DevOutbox:
    return mesh.servicers["auth"].sign_in.sender


def key_ring(mesh) -> KeyRing:
    return mesh.servicers["auth"].keys


def code_sent_to(mesh, contact: auth.Contact) -> str:
    return outbox(mesh).latest_code(Contact("phone", contact.phone_number))


def token_of(mesh, role: Role, subject: str | None = None) -> str:
    """A token minted directly with the service's key, for callers no RPC
    creates (the first admin)."""
    principal = Principal(subject or f"staffAccounts/{new_id()}", role)
    return key_ring(mesh).signer.mint(principal).token


class Citizen:
    """A signed-up citizen: their national ID, contact and account name."""

    def __init__(self, number: str, contact: auth.Contact, name: str) -> None:
        self.national_id, self.contact, self.name = number, contact, name


async def sign_up(mesh) -> Citizen:
    number, contact = national_id(), phone()
    citizen = await mesh.auth.SignUp(
        auth.SignUpRequest(national_id=number, contact=contact, request_id=new_id())
    )
    return Citizen(number, contact, citizen.name)


async def start_sign_in(mesh, number: str, kind=auth.ACCOUNT_KIND_CITIZEN):
    return await mesh.auth.StartSignIn(
        auth.StartSignInRequest(
            national_id=number, account_kind=kind, request_id=new_id()
        )
    )


async def complete(mesh, challenge: auth.SignInChallenge, code: str, request_id=None):
    return await mesh.auth.CompleteSignIn(
        auth.CompleteSignInRequest(
            challenge=challenge.name, code=code, request_id=request_id or new_id()
        )
    )


async def sign_in(mesh, citizen: Citizen) -> auth.AccessToken:
    challenge = await start_sign_in(mesh, citizen.national_id)
    return await complete(mesh, challenge, code_sent_to(mesh, citizen.contact))


async def refused(call):
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call
    return read_error(error.value)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


async def published_verifier(mesh) -> TokenVerifier:
    """A verifier holding only what ListSigningKeys publishes, as another
    service would."""
    listed = await mesh.auth.ListSigningKeys(auth.ListSigningKeysRequest())
    keys = {key.key_id: public_key(key.public_key) for key in listed.signing_keys}
    return TokenVerifier(keys, mesh.clock)


# National IDs


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        (with_wrong_check_digit(national_id()), "wrong check digit"),
        ("12345", "must be 12 digits"),
        ("1" + national_id()[1:], "must not start with 0 or 1"),
    ],
)
async def test_sign_up_refuses_a_national_id_that_fails_its_checks(
    mesh, number, problem
):
    details = await refused(
        mesh.auth.SignUp(
            auth.SignUpRequest(national_id=number, contact=phone(), request_id=new_id())
        )
    )

    assert details.code is grpc.StatusCode.INVALID_ARGUMENT
    assert problem in details.field_violations["national_id"]
    assert number not in details.message


async def test_sign_up_names_every_bad_field_at_once(mesh):
    details = await refused(
        mesh.auth.SignUp(
            auth.SignUpRequest(
                national_id="", contact=auth.Contact(email="not-an-address")
            )
        )
    )

    assert set(details.field_violations) == {
        "national_id",
        "contact.email",
        "request_id",
    }


async def test_a_national_id_signs_up_only_once(mesh):
    citizen = await sign_up(mesh)

    details = await refused(
        mesh.auth.SignUp(
            auth.SignUpRequest(
                national_id=citizen.national_id, contact=phone(), request_id=new_id()
            )
        )
    )

    assert (details.code, details.reason) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "ACCOUNT_EXISTS",
    )


async def test_the_raw_national_id_is_kept_in_no_table(mesh, settings):
    citizen = await sign_up(mesh)
    await sign_in(mesh, citizen)

    engine = create_async_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            tables = await conn.execute(
                text(
                    "SELECT table_schema, table_name FROM information_schema.tables "
                    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
                )
            )
            holding = []
            for schema, table in tables.all():
                found = await conn.execute(
                    text(
                        f'SELECT count(*) FROM "{schema}"."{table}" AS row '
                        "WHERE row::text LIKE :pattern"
                    ),
                    {"pattern": f"%{citizen.national_id}%"},
                )
                if found.scalar_one():
                    holding.append(f"{schema}.{table}")
            accounts = await conn.execute(text("SELECT count(*) FROM auth.accounts"))
    finally:
        await engine.dispose()

    assert accounts.scalar_one() > 0
    assert holding == []


# Signing in


async def test_sign_up_then_sign_in_issues_a_citizen_token_others_can_verify(mesh):
    citizen = await sign_up(mesh)

    challenge = await start_sign_in(mesh, citizen.national_id)
    token = await complete(mesh, challenge, code_sent_to(mesh, citizen.contact))

    assert challenge.masked_destination.endswith(citizen.contact.phone_number[-4:])
    assert citizen.contact.phone_number not in challenge.masked_destination
    assert challenge.attempts_left == 3
    verified = (await published_verifier(mesh)).verify(token.token)
    assert verified == Principal(citizen.name, Role.CITIZEN)
    assert (token.subject, token.role) == (citizen.name, auth.ROLE_CITIZEN)


async def test_sign_in_of_an_unknown_national_id_is_refused(mesh):
    details = await refused(start_sign_in(mesh, national_id()))

    assert (details.code, details.reason) == (
        grpc.StatusCode.NOT_FOUND,
        "ACCOUNT_NOT_FOUND",
    )


async def test_a_code_is_six_digits_and_only_its_hash_is_stored(mesh, settings):
    citizen = await sign_up(mesh)
    challenge = await start_sign_in(mesh, citizen.national_id)
    code = code_sent_to(mesh, citizen.contact)

    engine = create_async_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            stored = await conn.execute(
                text("SELECT code_hash FROM auth.sign_in_challenges WHERE id = :id"),
                {"id": challenge.name.split("/")[1]},
            )
            code_hash = stored.scalar_one()
    finally:
        await engine.dispose()

    assert len(code) == 6 and code.isdigit()
    assert code not in code_hash and len(code_hash) == 64


async def test_a_code_is_refused_once_five_minutes_have_passed(mesh):
    citizen = await sign_up(mesh)
    challenge = await start_sign_in(mesh, citizen.national_id)
    code = code_sent_to(mesh, citizen.contact)
    expire_time = challenge.expire_time.ToDatetime(tzinfo=UTC)
    assert expire_time == mesh.clock.now() + timedelta(minutes=5)

    mesh.clock.advance(300)
    details = await refused(complete(mesh, challenge, code))

    assert details.reason == "CODE_EXPIRED"
    assert details.code is grpc.StatusCode.FAILED_PRECONDITION


async def test_a_code_still_works_just_before_it_expires(mesh):
    citizen = await sign_up(mesh)
    challenge = await start_sign_in(mesh, citizen.national_id)

    mesh.clock.advance(299)
    token = await complete(mesh, challenge, code_sent_to(mesh, citizen.contact))

    assert token.subject == citizen.name


async def test_a_code_allows_three_attempts_then_refuses_even_the_right_one(mesh):
    citizen = await sign_up(mesh)
    challenge = await start_sign_in(mesh, citizen.national_id)
    code = code_sent_to(mesh, citizen.contact)

    left = []
    for _ in range(3):
        details = await refused(complete(mesh, challenge, wrong(code)))
        assert (details.code, details.reason) == (
            grpc.StatusCode.UNAUTHENTICATED,
            "WRONG_CODE",
        )
        left.append(details.metadata["attempts_left"])
    details = await refused(complete(mesh, challenge, code))

    assert left == ["2", "1", "0"]
    assert details.reason == "ATTEMPTS_EXHAUSTED"


async def test_a_wrong_attempt_does_not_spoil_a_later_right_one(mesh):
    citizen = await sign_up(mesh)
    challenge = await start_sign_in(mesh, citizen.national_id)
    code = code_sent_to(mesh, citizen.contact)

    await refused(complete(mesh, challenge, wrong(code)))
    token = await complete(mesh, challenge, code)

    assert token.subject == citizen.name


async def test_an_answered_challenge_cannot_be_answered_again(mesh):
    citizen = await sign_up(mesh)
    challenge = await start_sign_in(mesh, citizen.national_id)
    code = code_sent_to(mesh, citizen.contact)
    request_id = new_id()
    await complete(mesh, challenge, code, request_id)

    retried = await complete(mesh, challenge, code, request_id)
    details = await refused(complete(mesh, challenge, code))

    assert retried.subject == citizen.name
    assert details.reason == "CHALLENGE_COMPLETED"


async def test_at_most_five_codes_are_sent_an_hour_per_national_id(mesh):
    citizen = await sign_up(mesh)
    sent_before = len(outbox(mesh).deliveries)
    for _ in range(5):
        await start_sign_in(mesh, citizen.national_id)
        mesh.clock.advance(60)

    details = await refused(start_sign_in(mesh, citizen.national_id))

    assert len(outbox(mesh).deliveries) - sent_before == 5
    assert (details.code, details.reason) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "TOO_MANY_CODES",
    )
    mesh.clock.advance(3600 - 5 * 60 + 1)
    assert (await start_sign_in(mesh, citizen.national_id)).attempts_left == 3


async def test_a_retried_start_returns_the_same_challenge_and_sends_no_new_code(
    mesh,
):
    citizen = await sign_up(mesh)
    request = auth.StartSignInRequest(
        national_id=citizen.national_id, request_id=new_id()
    )
    first = await mesh.auth.StartSignIn(request)
    sent = len(outbox(mesh).deliveries)

    again = await mesh.auth.StartSignIn(request)

    assert again == first
    assert len(outbox(mesh).deliveries) == sent


# Signing keys


async def test_a_rotated_key_keeps_verifying_old_tokens_until_retired(mesh):
    citizen = await sign_up(mesh)
    old_token = (await sign_in(mesh, citizen)).token
    old_key = key_ring(mesh).signer.key_id

    new_key = await key_ring(mesh).rotate()
    new_token = (await sign_in(mesh, citizen)).token
    after_rotation = await published_verifier(mesh)
    await key_ring(mesh).retire(old_key)
    after_retirement = await published_verifier(mesh)

    assert new_key != old_key
    assert after_rotation.verify(old_token).subject == citizen.name
    assert after_rotation.verify(new_token).subject == citizen.name
    assert after_retirement.verify(new_token).subject == citizen.name
    with pytest.raises(AuthError, match="does not trust"):
        after_retirement.verify(old_token)
    listed = await mesh.auth.ListSigningKeys(auth.ListSigningKeysRequest())
    assert [key.key_id for key in listed.signing_keys] == [new_key]


# Dependants


def dependant(display_name="Meera", relationship=auth.RELATIONSHIP_CHILD):
    return auth.Dependant(display_name=display_name, relationship=relationship)


async def add_dependant(mesh, citizen: Citizen, token: str, name="Meera"):
    return await mesh.auth.AddDependant(
        auth.AddDependantRequest(
            parent=citizen.name, dependant=dependant(name), request_id=new_id()
        ),
        metadata=bearer(token),
    )


async def test_a_citizen_can_add_four_dependants_and_no_fifth(mesh):
    citizen = await sign_up(mesh)
    token = (await sign_in(mesh, citizen)).token
    names = ["Meera", "Arjun", "Lakshmi", "Kiran"]
    for name in names:
        await add_dependant(mesh, citizen, token, name)
        mesh.clock.advance(1)

    details = await refused(add_dependant(mesh, citizen, token, "Dev"))
    listed = await mesh.auth.ListDependants(
        auth.ListDependantsRequest(parent=citizen.name), metadata=bearer(token)
    )

    assert (details.code, details.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "DEPENDANT_LIMIT_REACHED",
    )
    assert [d.display_name for d in listed.dependants] == names
    assert all(
        d.name.startswith(f"{citizen.name}/dependants/") for d in listed.dependants
    )


async def test_a_citizen_cannot_list_or_add_another_citizens_dependants(mesh):
    owner, other = await sign_up(mesh), await sign_up(mesh)
    owner_token = (await sign_in(mesh, owner)).token
    other_token = (await sign_in(mesh, other)).token
    await add_dependant(mesh, owner, owner_token)

    listing = await refused(
        mesh.auth.ListDependants(
            auth.ListDependantsRequest(parent=owner.name), metadata=bearer(other_token)
        )
    )
    adding = await refused(add_dependant(mesh, owner, other_token))

    for details in (listing, adding):
        assert (details.code, details.reason) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "NOT_OWNER",
        )


async def test_dependants_cannot_be_listed_without_a_token(mesh):
    citizen = await sign_up(mesh)

    details = await refused(
        anonymous_auth(mesh).ListDependants(
            auth.ListDependantsRequest(parent=citizen.name)
        )
    )

    assert details.code is grpc.StatusCode.UNAUTHENTICATED


def anonymous_auth(mesh) -> auth_pb2_grpc.AuthServiceStub:
    return auth_pb2_grpc.AuthServiceStub(mesh.anonymous("auth"))


# Staff accounts


def staff_request(role=auth.ROLE_CLINIC_STAFF, clinics=("clinics/riverside",)):
    return auth.CreateStaffAccountRequest(
        staff_account=auth.StaffAccount(
            national_id=national_id(),
            contact=phone(),
            role=role,
            clinics=list(clinics),
        ),
        request_id=new_id(),
    )


async def test_only_an_admin_can_create_staff_accounts(mesh):
    request = staff_request()
    citizen_token = (await sign_in(mesh, await sign_up(mesh))).token

    anonymous = await refused(anonymous_auth(mesh).CreateStaffAccount(request))
    as_citizen = await refused(
        mesh.auth.CreateStaffAccount(request, metadata=bearer(citizen_token))
    )
    as_staff = await refused(
        mesh.auth.CreateStaffAccount(
            request, metadata=bearer(token_of(mesh, Role.CLINIC_STAFF))
        )
    )
    created = await mesh.auth.CreateStaffAccount(
        request, metadata=bearer(token_of(mesh, Role.ADMIN))
    )

    assert anonymous.code is grpc.StatusCode.UNAUTHENTICATED
    assert as_citizen.code is grpc.StatusCode.PERMISSION_DENIED
    assert as_staff.code is grpc.StatusCode.PERMISSION_DENIED
    assert created.name.startswith("staffAccounts/")
    assert list(created.clinics) == ["clinics/riverside"]
    assert not created.national_id


async def test_staff_sign_in_with_a_code_and_get_a_token_scoped_to_their_clinics(
    mesh,
):
    request = staff_request(clinics=("clinics/riverside", "clinics/harbour"))
    staff = await mesh.auth.CreateStaffAccount(
        request, metadata=bearer(token_of(mesh, Role.ADMIN))
    )

    challenge = await start_sign_in(
        mesh, request.staff_account.national_id, auth.ACCOUNT_KIND_STAFF
    )
    token = await complete(
        mesh, challenge, code_sent_to(mesh, request.staff_account.contact)
    )

    verified = (await published_verifier(mesh)).verify(token.token)
    assert verified == Principal(
        staff.name, Role.CLINIC_STAFF, ("clinics/harbour", "clinics/riverside")
    )


async def test_clinic_staff_accounts_need_clinics_and_other_roles_none(mesh):
    admin = bearer(token_of(mesh, Role.ADMIN))

    without = await refused(
        mesh.auth.CreateStaffAccount(staff_request(clinics=()), metadata=admin)
    )
    reviewer = await refused(
        mesh.auth.CreateStaffAccount(
            staff_request(role=auth.ROLE_REVIEWER), metadata=admin
        )
    )
    citizen = await refused(
        mesh.auth.CreateStaffAccount(
            staff_request(role=auth.ROLE_CITIZEN, clinics=()), metadata=admin
        )
    )

    assert (
        "needs at least one clinic" in without.field_violations["staff_account.clinics"]
    )
    assert "must be empty" in reviewer.field_violations["staff_account.clinics"]
    assert "staff_account.role" in citizen.field_violations
