"""gRPC transport of the audit service, and who may call each RPC."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.message import DecodeError
from vaxbook.audit.v1 import audit_pb2 as pb
from vaxbook.audit.v1 import audit_pb2_grpc
from vaxbook.events.v1 import events_pb2

from services.audit import chain
from services.audit.chain import AuditRow, ChainProblem
from services.audit.entries import EVENT_TYPES
from services.audit.store import AuditStore, RecordFilter
from services.common import paging
from services.common.auth import Role
from services.common.clock import to_timestamp
from services.common.names import APPOINTMENT, CLINIC, check_person
from services.common.validation import Checker, checking

SERVICE = pb.DESCRIPTOR.services_by_name["AuditService"].full_name
MAX_ACTOR_LENGTH = 200

_READERS = {Role.AUDITOR, Role.ADMIN, Role.SERVICE}
# Who may call each RPC; the AuthInterceptor refuses everyone else.
ACCESS_POLICY = {
    f"/{SERVICE}/ListAuditRecords": _READERS,
    f"/{SERVICE}/VerifyAuditChain": _READERS,
}

_PROBLEMS = {
    ChainProblem.CONTENT_ALTERED: pb.CHAIN_PROBLEM_CONTENT_ALTERED,
    ChainProblem.LINK_BROKEN: pb.CHAIN_PROBLEM_LINK_BROKEN,
    ChainProblem.SEQUENCE_GAP: pb.CHAIN_PROBLEM_SEQUENCE_GAP,
}


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    def __init__(self, store: AuditStore) -> None:
        self.store = store

    async def ListAuditRecords(self, request, context) -> pb.ListAuditRecordsResponse:
        with checking() as check:
            wanted = _check_filter(check, request)
        size = paging.page_size(request.page_size)
        offset = paging.decode_offset(request.page_token)
        rows = await self.store.matching(wanted, offset, size + 1)
        return pb.ListAuditRecordsResponse(
            audit_records=[audit_record(row) for row in rows[:size]],
            next_page_token=paging.next_token(offset, size, len(rows)),
        )

    async def VerifyAuditChain(self, request, context) -> pb.VerifyAuditChainResponse:
        report = await chain.verify(self.store.in_chain_order())
        response = pb.VerifyAuditChainResponse(records_checked=report.records_checked)
        if report.mismatch is not None:
            response.first_mismatch.CopyFrom(audit_record(report.mismatch))
            response.problem = _PROBLEMS[report.problem]
        return response


def _check_filter(check: Checker, request: pb.ListAuditRecordsRequest) -> RecordFilter:
    """The filter a request asks for; every bad field is recorded on
    ``check``."""
    if request.appointment:
        check.name("appointment", request.appointment, APPOINTMENT)
    if request.citizen:
        check_person(check, "citizen", request.citizen)
    if request.clinic:
        check.name("clinic", request.clinic, CLINIC)
    check.text("actor", request.actor, MAX_ACTOR_LENGTH, required=False)
    if request.event_type and request.event_type not in EVENT_TYPES:
        check.fail(
            "event_type",
            f"must be a payload field of {events_pb2.Event.DESCRIPTOR.full_name}, "
            f"for example 'appointment_confirmed', got {request.event_type!r}",
        )
    start = _time(check, request, "start_time")
    end = _time(check, request, "end_time")
    if start is not None and end is not None and start >= end:
        check.fail("end_time", "must be later than start_time")
    return RecordFilter(
        appointment=request.appointment,
        citizen=request.citizen,
        clinic=request.clinic,
        actor=request.actor,
        event_type=request.event_type,
        start_time=start,
        end_time=end,
    )


def _time(
    check: Checker, request: pb.ListAuditRecordsRequest, field: str
) -> datetime | None:
    if not request.HasField(field):
        return None
    return check.timestamp(field, getattr(request, field))


def audit_record(row: AuditRow) -> pb.AuditRecord:
    record = pb.AuditRecord(
        name=f"auditRecords/{row.seq}",
        seq=row.seq,
        event_id=row.event_id,
        event_type=row.event_type,
        subject=row.subject,
        occur_time=to_timestamp(row.occur_time),
        record_time=to_timestamp(row.record_time),
        appointment=row.appointment,
        citizen=row.citizen,
        clinic=row.clinic,
        actor=row.actor,
        prev_hash=row.prev_hash.hex(),
        hash=row.hash.hex(),
    )
    try:
        record.event.ParseFromString(row.event)
    except DecodeError:
        # Only an altered record holds bytes that do not parse; verify names it.
        record.ClearField("event")
    return record
