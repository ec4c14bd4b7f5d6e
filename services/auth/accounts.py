"""Citizen and staff accounts, and the dependants a citizen books for."""

from __future__ import annotations

import logging

from services.auth.errors import AccountError
from services.auth.identity import Contact, Hasher
from services.auth.store import AccountRow, AuthStore, DependantRow, NewAccount
from services.common.auth import AuthError, Principal, Role
from services.common.clock import Clock
from services.common.errors import NotFound
from services.common.names import Person

log = logging.getLogger(__name__)

MAX_DEPENDANTS = 4


class Accounts:
    def __init__(self, store: AuthStore, hasher: Hasher, clock: Clock) -> None:
        self.store = store
        self.hasher = hasher
        self.clock = clock

    async def sign_up(
        self, national_id: str, contact: Contact, language: str, request_id: str
    ) -> AccountRow:
        """A new citizen account whose notifications are written in
        ``language``; a retry returns the first one."""
        account = NewAccount(
            "citizen",
            self.hasher.national_id(national_id),
            contact,
            "citizen",
            [],
            language,
        )
        return await self._create(account, request_id)

    async def create_staff(
        self,
        national_id: str,
        contact: Contact,
        role: Role,
        clinics: list[str],
        request_id: str,
    ) -> AccountRow:
        """A staff account with ``role``, scoped to ``clinics`` for clinic staff."""
        account = NewAccount(
            "staff",
            self.hasher.national_id(national_id),
            contact,
            role.value,
            sorted(set(clinics)),
        )
        return await self._create(account, request_id)

    async def add_dependant(
        self,
        caller: Principal,
        citizen_id: str,
        fields: dict[str, str],
        request_id: str,
    ) -> DependantRow:
        """Registers a dependant of the calling citizen, at most 4 in all."""
        _check_owner(caller, citizen_id)
        row = await self.store.add_dependant(
            citizen_id, fields, request_id, self.clock.now(), MAX_DEPENDANTS
        )
        if row is None:
            raise AccountError.dependant_limit(caller.subject, MAX_DEPENDANTS)
        log.info("dependant added", extra={"fields": {"dependant": row.id}})
        return row

    async def list_dependants(
        self, caller: Principal, citizen_id: str
    ) -> list[DependantRow]:
        # Other services ask which dependants a citizen has registered.
        if caller.role is not Role.SERVICE:
            _check_owner(caller, citizen_id)
        return await self.store.list_dependants(citizen_id)

    async def notification_account(self, person: Person) -> AccountRow:
        """The citizen account that is notified about ``person``: their own,
        or for a dependant the citizen who registered them."""
        account = await self.store.get_account(person.citizen)
        if account is None or account.kind != "citizen":
            raise NotFound("citizen", person.account)
        if person.dependant and (
            await self.store.get_dependant(person.citizen, person.dependant) is None
        ):
            raise NotFound("dependant", person.name)
        return account

    async def _create(self, account: NewAccount, request_id: str) -> AccountRow:
        row = await self.store.create_account(request_id, account, self.clock.now())
        if row is None:
            raise AccountError.already_registered(account.kind)
        log.info(
            "account created",
            extra={"fields": {"account": row.id, "account_kind": row.kind}},
        )
        return row


def _check_owner(caller: Principal, citizen_id: str) -> None:
    """Only the citizen themself may see or change their dependants."""
    citizen = f"citizens/{citizen_id}"
    if caller.role is not Role.CITIZEN or caller.subject != citizen:
        raise AuthError.not_owner(caller.subject, f"{citizen}/dependants")
