import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from vaxbook.events.v1 import events_pb2 as _events_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChainProblem(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHAIN_PROBLEM_UNSPECIFIED: _ClassVar[ChainProblem]
    CHAIN_PROBLEM_CONTENT_ALTERED: _ClassVar[ChainProblem]
    CHAIN_PROBLEM_LINK_BROKEN: _ClassVar[ChainProblem]
    CHAIN_PROBLEM_SEQUENCE_GAP: _ClassVar[ChainProblem]
CHAIN_PROBLEM_UNSPECIFIED: ChainProblem
CHAIN_PROBLEM_CONTENT_ALTERED: ChainProblem
CHAIN_PROBLEM_LINK_BROKEN: ChainProblem
CHAIN_PROBLEM_SEQUENCE_GAP: ChainProblem

class AuditRecord(_message.Message):
    __slots__ = ("name", "seq", "event_id", "event_type", "subject", "occur_time", "record_time", "appointment", "citizen", "clinic", "actor", "event", "prev_hash", "hash")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    OCCUR_TIME_FIELD_NUMBER: _ClassVar[int]
    RECORD_TIME_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_FIELD_NUMBER: _ClassVar[int]
    CLINIC_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    PREV_HASH_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    name: str
    seq: int
    event_id: str
    event_type: str
    subject: str
    occur_time: _timestamp_pb2.Timestamp
    record_time: _timestamp_pb2.Timestamp
    appointment: str
    citizen: str
    clinic: str
    actor: str
    event: _events_pb2.Event
    prev_hash: str
    hash: str
    def __init__(self, name: _Optional[str] = ..., seq: _Optional[int] = ..., event_id: _Optional[str] = ..., event_type: _Optional[str] = ..., subject: _Optional[str] = ..., occur_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., record_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., appointment: _Optional[str] = ..., citizen: _Optional[str] = ..., clinic: _Optional[str] = ..., actor: _Optional[str] = ..., event: _Optional[_Union[_events_pb2.Event, _Mapping]] = ..., prev_hash: _Optional[str] = ..., hash: _Optional[str] = ...) -> None: ...

class ListAuditRecordsRequest(_message.Message):
    __slots__ = ("appointment", "citizen", "clinic", "actor", "event_type", "start_time", "end_time", "page_size", "page_token")
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_FIELD_NUMBER: _ClassVar[int]
    CLINIC_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    appointment: str
    citizen: str
    clinic: str
    actor: str
    event_type: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, appointment: _Optional[str] = ..., citizen: _Optional[str] = ..., clinic: _Optional[str] = ..., actor: _Optional[str] = ..., event_type: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAuditRecordsResponse(_message.Message):
    __slots__ = ("audit_records", "next_page_token")
    AUDIT_RECORDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    audit_records: _containers.RepeatedCompositeFieldContainer[AuditRecord]
    next_page_token: str
    def __init__(self, audit_records: _Optional[_Iterable[_Union[AuditRecord, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class VerifyAuditChainRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class VerifyAuditChainResponse(_message.Message):
    __slots__ = ("records_checked", "first_mismatch", "problem")
    RECORDS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    FIRST_MISMATCH_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    records_checked: int
    first_mismatch: AuditRecord
    problem: ChainProblem
    def __init__(self, records_checked: _Optional[int] = ..., first_mismatch: _Optional[_Union[AuditRecord, _Mapping]] = ..., problem: _Optional[_Union[ChainProblem, str]] = ...) -> None: ...
