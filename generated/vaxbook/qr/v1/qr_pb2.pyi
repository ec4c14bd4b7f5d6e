import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class QrClaims(_message.Message):
    __slots__ = ("token_id", "appointment", "citizen_ref", "clinic", "slot_start_time", "slot_end_time", "vaccine", "dose_number", "issue_time")
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_REF_FIELD_NUMBER: _ClassVar[int]
    CLINIC_FIELD_NUMBER: _ClassVar[int]
    SLOT_START_TIME_FIELD_NUMBER: _ClassVar[int]
    SLOT_END_TIME_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    DOSE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ISSUE_TIME_FIELD_NUMBER: _ClassVar[int]
    token_id: str
    appointment: str
    citizen_ref: str
    clinic: str
    slot_start_time: _timestamp_pb2.Timestamp
    slot_end_time: _timestamp_pb2.Timestamp
    vaccine: str
    dose_number: int
    issue_time: _timestamp_pb2.Timestamp
    def __init__(self, token_id: _Optional[str] = ..., appointment: _Optional[str] = ..., citizen_ref: _Optional[str] = ..., clinic: _Optional[str] = ..., slot_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., slot_end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., vaccine: _Optional[str] = ..., dose_number: _Optional[int] = ..., issue_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SignedQr(_message.Message):
    __slots__ = ("claims", "key_id", "signature")
    CLAIMS_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    claims: bytes
    key_id: str
    signature: bytes
    def __init__(self, claims: _Optional[bytes] = ..., key_id: _Optional[str] = ..., signature: _Optional[bytes] = ...) -> None: ...
