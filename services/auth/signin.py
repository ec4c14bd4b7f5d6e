"""Signing in with a national ID and a one-time code.

A code is 6 digits from ``secrets``, valid for 5 minutes, and allows 3
attempts; at most 5 are sent an hour per national ID. Only a keyed hash of the
code is stored. Time comes from the injected clock.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.auth.delivery import CodeSender
from services.auth.errors import AccountError
from services.auth.identity import Hasher
from services.auth.keys import KeyRing
from services.auth.store import AccountRow, AuthStore, ChallengeRow
from services.common.auth import IssuedToken, Principal, Role
from services.common.clock import Clock
from services.common.errors import NotFound

log = logging.getLogger(__name__)

CODE_DIGITS = 6
CHALLENGE = "signInChallenges/{}"


@dataclass(frozen=True)
class CodePolicy:
    ttl_seconds: int = 300
    max_attempts: int = 3
    codes_per_hour: int = 5


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def principal_of(account: AccountRow) -> Principal:
    """What a token for ``account`` carries."""
    if account.kind == "citizen":
        return Principal(f"citizens/{account.id}", Role.CITIZEN)
    return Principal(
        f"staffAccounts/{account.id}", Role(account.role), tuple(account.clinics)
    )


@dataclass(frozen=True)
class StartedSignIn:
    challenge: ChallengeRow
    account: AccountRow
    attempts_left: int


class SignIn:
    def __init__(
        self,
        store: AuthStore,
        hasher: Hasher,
        sender: CodeSender,
        keys: KeyRing,
        clock: Clock,
        policy: CodePolicy | None = None,
    ) -> None:
        self.store = store
        self.hasher = hasher
        self.sender = sender
        self.keys = keys
        self.clock = clock
        self.policy = policy or CodePolicy()

    async def start(
        self, national_id: str, kind: str, request_id: str
    ) -> StartedSignIn:
        """Opens a challenge and sends its code; a retry sends nothing."""
        id_hash = self.hasher.national_id(national_id)
        account = await self.store.find_account(id_hash, kind)
        if account is None:
            raise AccountError.not_registered(kind)
        code, now = new_code(), self.clock.now()
        challenge_id = uuid.uuid4().hex
        new = ChallengeRow(
            id=challenge_id,
            account_id=account.id,
            code_hash=self.hasher.code(challenge_id, code),
            attempts=0,
            state="open",
            completed_request_id=None,
            create_time=now,
            expire_time=now + timedelta(seconds=self.policy.ttl_seconds),
        )
        hour = timedelta(hours=1)
        opening = await self.store.open_challenge(
            new, id_hash, request_id, now - hour, self.policy.codes_per_hour
        )
        if opening.challenge is None:
            retry_time = _iso(opening.oldest_in_window + hour)
            raise AccountError.too_many_codes(self.policy.codes_per_hour, retry_time)
        if opening.created:
            await self.sender.send(account.contact, code, new.expire_time)
            log.info(
                "sign-in code sent",
                extra={"fields": {"challenge": CHALLENGE.format(challenge_id)}},
            )
        challenge = opening.challenge
        return StartedSignIn(
            challenge, account, self.policy.max_attempts - challenge.attempts
        )

    async def complete(
        self, challenge_id: str, code: str, request_id: str
    ) -> IssuedToken:
        """Checks the code and, when it matches, mints an access token."""
        name = CHALLENGE.format(challenge_id)
        async with self.store.locked_challenge(challenge_id) as locked:
            if locked.row is None:
                raise NotFound("sign_in_challenge", name)
            outcome = self._judge(locked.row, code, request_id)
            if outcome is not None:
                await locked.update(**outcome)
        # Attempts are counted even when the answer is refused.
        refusal = self._refusal(locked.row, outcome, request_id)
        if refusal is not None:
            raise refusal
        account = await self.store.get_account(locked.row.account_id)
        if account is None:
            raise NotFound("account", name)
        log.info("signed in", extra={"fields": {"challenge": name}})
        return self.keys.signer.mint(principal_of(account))

    def _judge(self, row: ChallengeRow, code: str, request_id: str) -> dict | None:
        """The change an answer makes to an open, live challenge; ``None`` when
        the challenge no longer takes answers."""
        if row.state != "open" or row.expire_time <= self.clock.now():
            return None
        attempts = row.attempts + 1
        if self._matches(row, code):
            return {
                "attempts": attempts,
                "state": "completed",
                "completed_request_id": request_id,
            }
        spent = attempts >= self.policy.max_attempts
        return {"attempts": attempts, "state": "spent" if spent else "open"}

    def _refusal(
        self, row: ChallengeRow, outcome: dict | None, request_id: str
    ) -> AccountError | None:
        """Why the answer is refused; ``None`` when it signs in."""
        name = CHALLENGE.format(row.id)
        if outcome is None:
            if row.state == "completed":
                if row.completed_request_id == request_id:
                    return None
                return AccountError.already_completed(name)
            if row.state == "spent":
                return AccountError.attempts_used_up(name)
            return AccountError.code_expired(name)
        if outcome["state"] == "completed":
            return None
        return AccountError.wrong_code(
            name, self.policy.max_attempts - outcome["attempts"]
        )

    def _matches(self, row: ChallengeRow, code: str) -> bool:
        return hmac.compare_digest(row.code_hash, self.hasher.code(row.id, code))


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
