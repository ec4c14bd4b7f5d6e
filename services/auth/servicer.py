"""gRPC transport of the auth service, and who may call each RPC."""

from __future__ import annotations

from vaxbook.auth.v1 import auth_pb2 as pb
from vaxbook.auth.v1 import auth_pb2_grpc

from services.auth.accounts import Accounts
from services.auth.identity import (
    Contact,
    NationalIdScheme,
    check_contact,
    check_national_id,
)
from services.auth.keys import KeyRing
from services.auth.signin import SignIn, StartedSignIn
from services.auth.store import AccountRow, DependantRow
from services.common.auth import PUBLIC, IssuedToken, Role, current_principal
from services.common.clock import to_timestamp
from services.common.languages import check_language
from services.common.names import (
    CITIZEN,
    CLINIC,
    DEPENDANT,
    SIGN_IN_CHALLENGE,
    SIGNING_KEY,
    STAFF_ACCOUNT,
    check_person,
)
from services.common.validation import Checker, checking

SERVICE = pb.DESCRIPTOR.services_by_name["AuthService"].full_name
MAX_DISPLAY_NAME_LENGTH = 100

# Who may call each RPC; the AuthInterceptor refuses everyone else.
ACCESS_POLICY = {
    f"/{SERVICE}/SignUp": PUBLIC,
    f"/{SERVICE}/StartSignIn": PUBLIC,
    f"/{SERVICE}/CompleteSignIn": PUBLIC,
    f"/{SERVICE}/ListSigningKeys": PUBLIC,
    f"/{SERVICE}/AddDependant": {Role.CITIZEN},
    f"/{SERVICE}/ListDependants": {Role.CITIZEN, Role.SERVICE},
    f"/{SERVICE}/CreateStaffAccount": {Role.ADMIN},
    f"/{SERVICE}/GetNotificationContact": {Role.SERVICE},
}

_ROLES = {
    pb.ROLE_CITIZEN: Role.CITIZEN,
    pb.ROLE_CLINIC_STAFF: Role.CLINIC_STAFF,
    pb.ROLE_REVIEWER: Role.REVIEWER,
    pb.ROLE_AUDITOR: Role.AUDITOR,
    pb.ROLE_ADMIN: Role.ADMIN,
}
_ROLE_NUMBERS = {role: number for number, role in _ROLES.items()}
_KINDS = {
    pb.ACCOUNT_KIND_UNSPECIFIED: "citizen",
    pb.ACCOUNT_KIND_CITIZEN: "citizen",
    pb.ACCOUNT_KIND_STAFF: "staff",
}
_RELATIONSHIPS = {
    pb.RELATIONSHIP_CHILD: "child",
    pb.RELATIONSHIP_PARENT: "parent",
    pb.RELATIONSHIP_SPOUSE: "spouse",
    pb.RELATIONSHIP_OTHER: "other",
}
_RELATIONSHIP_NUMBERS = {text: number for number, text in _RELATIONSHIPS.items()}


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    def __init__(
        self,
        accounts: Accounts,
        sign_in: SignIn,
        keys: KeyRing,
        scheme: NationalIdScheme,
    ) -> None:
        self.accounts = accounts
        self.sign_in = sign_in
        self.keys = keys
        self.scheme = scheme

    async def SignUp(self, request, context) -> pb.Citizen:
        with checking() as check:
            national_id = check_national_id(
                check, "national_id", request.national_id, self.scheme
            )
            contact = check_contact(check, "contact", request.contact)
            language = check_language(
                check, "preferred_language", request.preferred_language
            )
            check.request_id(request.request_id)
        row = await self.accounts.sign_up(
            national_id, contact, language, request.request_id
        )
        return pb.Citizen(
            name=CITIZEN.format(citizen=row.id),
            masked_destination=row.contact.masked(),
            create_time=to_timestamp(row.create_time),
            preferred_language=row.preferred_language,
        )

    async def StartSignIn(self, request, context) -> pb.SignInChallenge:
        with checking() as check:
            national_id = check_national_id(
                check, "national_id", request.national_id, self.scheme
            )
            kind = _KINDS.get(request.account_kind)
            if kind is None:
                check.fail("account_kind", f"is unknown: {request.account_kind}")
            check.request_id(request.request_id)
        started = await self.sign_in.start(national_id, kind, request.request_id)
        return _challenge(started)

    async def CompleteSignIn(self, request, context) -> pb.AccessToken:
        with checking() as check:
            ids = check.name("challenge", request.challenge, SIGN_IN_CHALLENGE)
            if check.required("code", request.code) and not (
                len(request.code) == 6 and request.code.isdigit()
            ):
                check.fail("code", "must be the 6 digits that were sent")
            check.request_id(request.request_id)
        issued = await self.sign_in.complete(
            ids["sign_in_challenge"], request.code, request.request_id
        )
        return _access_token(issued)

    async def AddDependant(self, request, context) -> pb.Dependant:
        dependant = request.dependant
        with checking() as check:
            ids = check.name("parent", request.parent, CITIZEN)
            check.text(
                "dependant.display_name",
                dependant.display_name.strip(),
                MAX_DISPLAY_NAME_LENGTH,
            )
            relationship = _RELATIONSHIPS.get(dependant.relationship)
            if relationship is None:
                check.fail("dependant.relationship", "must be set")
            check.request_id(request.request_id)
        row = await self.accounts.add_dependant(
            current_principal(),
            ids["citizen"],
            {
                "display_name": dependant.display_name.strip(),
                "relationship": relationship,
            },
            request.request_id,
        )
        return _dependant(row)

    async def ListDependants(self, request, context) -> pb.ListDependantsResponse:
        with checking() as check:
            ids = check.name("parent", request.parent, CITIZEN)
        rows = await self.accounts.list_dependants(current_principal(), ids["citizen"])
        return pb.ListDependantsResponse(dependants=[_dependant(r) for r in rows])

    async def CreateStaffAccount(self, request, context) -> pb.StaffAccount:
        staff = request.staff_account
        with checking() as check:
            national_id = check_national_id(
                check, "staff_account.national_id", staff.national_id, self.scheme
            )
            contact = check_contact(check, "staff_account.contact", staff.contact)
            role = _check_staff_role(check, staff)
            check.request_id(request.request_id)
        row = await self.accounts.create_staff(
            national_id, contact, role, list(staff.clinics), request.request_id
        )
        return _staff_account(row)

    async def GetNotificationContact(self, request, context) -> pb.NotificationContact:
        with checking() as check:
            person = check_person(check, "name", request.name)
        row = await self.accounts.notification_account(person)
        return pb.NotificationContact(
            account=CITIZEN.format(citizen=row.id),
            contact=_contact(row.contact),
            masked_destination=row.contact.masked(),
            preferred_language=row.preferred_language,
        )

    async def ListSigningKeys(self, request, context) -> pb.ListSigningKeysResponse:
        return pb.ListSigningKeysResponse(
            signing_keys=[
                pb.SigningKey(
                    name=SIGNING_KEY.format(signing_key=row.key_id),
                    key_id=row.key_id,
                    algorithm="EdDSA",
                    public_key=row.public_key,
                    create_time=to_timestamp(row.create_time),
                )
                for row in self.keys.live
            ]
        )


def _check_staff_role(check: Checker, staff: pb.StaffAccount) -> Role:
    role = _ROLES.get(staff.role)
    if role is None or role is Role.CITIZEN:
        check.fail("staff_account.role", "must be a staff role, not citizen or unset")
        return Role.CLINIC_STAFF
    for clinic in staff.clinics:
        if CLINIC.parse(clinic) is None:
            check.fail(
                "staff_account.clinics",
                f"must look like 'clinics/{{clinic}}', got {clinic!r}",
            )
    if role is Role.CLINIC_STAFF and not staff.clinics:
        check.fail("staff_account.clinics", "needs at least one clinic for staff")
    if role is not Role.CLINIC_STAFF and staff.clinics:
        check.fail("staff_account.clinics", f"must be empty for role {role.value}")
    return role


def _contact(contact: Contact) -> pb.Contact:
    if contact.kind == "phone":
        return pb.Contact(phone_number=contact.address)
    return pb.Contact(email=contact.address)


def _challenge(started: StartedSignIn) -> pb.SignInChallenge:
    challenge = started.challenge
    return pb.SignInChallenge(
        name=SIGN_IN_CHALLENGE.format(sign_in_challenge=challenge.id),
        masked_destination=started.account.contact.masked(),
        expire_time=to_timestamp(challenge.expire_time),
        attempts_left=started.attempts_left,
    )


def _access_token(issued: IssuedToken) -> pb.AccessToken:
    principal = issued.principal
    return pb.AccessToken(
        token=issued.token,
        expire_time=to_timestamp(issued.expire_time),
        subject=principal.subject,
        role=_ROLE_NUMBERS[principal.role],
        clinics=list(principal.clinics),
    )


def _dependant(row: DependantRow) -> pb.Dependant:
    return pb.Dependant(
        name=DEPENDANT.format(citizen=row.owner_id, dependant=row.id),
        display_name=row.display_name,
        relationship=_RELATIONSHIP_NUMBERS[row.relationship],
        create_time=to_timestamp(row.create_time),
    )


def _staff_account(row: AccountRow) -> pb.StaffAccount:
    return pb.StaffAccount(
        name=STAFF_ACCOUNT.format(staff_account=row.id),
        role=_ROLE_NUMBERS[Role(row.role)],
        clinics=row.clinics,
        masked_destination=row.contact.masked(),
        create_time=to_timestamp(row.create_time),
    )
