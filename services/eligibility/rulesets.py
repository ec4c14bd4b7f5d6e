"""Which rule set is in force, kept the same on every replica.

Every rule set put in force is recorded in ``eligibility.rule_sets``, and the
one recorded last is in force. At start-up the rule file shipped with the code
is recorded when its version is new, so a deploy with a new file takes over;
an admin's replacement holds until then. Replicas poll the table and pick up
what another replica recorded.
"""

from __future__ import annotations

import logging

from services.common.clock import Clock
from services.eligibility.errors import EligibilityError
from services.eligibility.rules import RuleBook, RuleSet, parse_rules_text
from services.eligibility.store import EligibilityStore, RuleSetRow

log = logging.getLogger(__name__)

# How an uploaded rule set is named in the errors it causes.
UPLOAD_SOURCE = "upload"


class RuleSets:
    """The recorded rule sets, and the rule book holding the one in force."""

    def __init__(
        self, store: EligibilityStore, clock: Clock, row: RuleSetRow, book: RuleBook
    ) -> None:
        self.store = store
        self.clock = clock
        self.book = book
        self._row = row

    @classmethod
    async def start(
        cls, store: EligibilityStore, clock: Clock, shipped_text: str, source: str
    ) -> RuleSets:
        """Records the shipped rules when their version is unseen, then puts
        the latest recorded set in force."""
        shipped = parse_rules_text(shipped_text, source)
        await store.record_rule_set(
            shipped.version, shipped_text, "file", "", "", clock.now()
        )
        row = await store.latest_rule_set()
        assert row is not None, "a rule set was just recorded"
        rule_sets = cls(store, clock, row, RuleBook(_parse(row)))
        log.info(
            "rule set %s in force",
            row.version,
            extra={"fields": {"rules_version": row.version}},
        )
        return rule_sets

    @property
    def in_force(self) -> RuleSetRow:
        return self._row

    async def refresh(self) -> bool:
        """Puts the latest recorded set in force; ``True`` when it changed."""
        row = await self.store.latest_rule_set()
        if row is None or row.id == self._row.id:
            return False
        previous = self._row
        self.book.replace(_parse(row))
        self._row = row
        log.info(
            "rule set %s in force, replacing %s",
            row.version,
            previous.version,
            extra={"fields": {"rules_version": row.version}},
        )
        return True

    async def replace(self, rules_json: str, request_id: str, actor: str) -> RuleSetRow:
        """Records uploaded rules and puts them in force, naming ``actor`` as
        who did. A version already recorded is refused, unless this is the
        same request again."""
        rules = parse_rules_text(rules_json, UPLOAD_SOURCE)
        recorded = await self.store.record_rule_set(
            rules.version, rules_json, "admin", request_id, actor, self.clock.now()
        )
        row = recorded.row
        repeated = row.request_id == request_id and row.rules_json == rules_json
        if not recorded.created and not repeated:
            raise EligibilityError.rules_version_exists(rules.version)
        await self.refresh()
        return row


def _parse(row: RuleSetRow) -> RuleSet:
    return parse_rules_text(row.rules_json, f"rule set {row.version}")
