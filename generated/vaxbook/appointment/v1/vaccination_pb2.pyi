import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from vaxbook.appointment.v1 import appointment_pb2 as _appointment_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ScanRejection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCAN_REJECTION_UNSPECIFIED: _ClassVar[ScanRejection]
    SCAN_REJECTION_FORGED: _ClassVar[ScanRejection]
    SCAN_REJECTION_UNKNOWN_KEY: _ClassVar[ScanRejection]
    SCAN_REJECTION_WRONG_CLINIC: _ClassVar[ScanRejection]
    SCAN_REJECTION_WRONG_DAY: _ClassVar[ScanRejection]
    SCAN_REJECTION_ALREADY_ADMINISTERED: _ClassVar[ScanRejection]
    SCAN_REJECTION_CANCELLED: _ClassVar[ScanRejection]
    SCAN_REJECTION_REVOKED: _ClassVar[ScanRejection]
    SCAN_REJECTION_BATCH_NOT_FOUND: _ClassVar[ScanRejection]
    SCAN_REJECTION_BATCH_OTHER_CLINIC: _ClassVar[ScanRejection]
    SCAN_REJECTION_BATCH_WRONG_VACCINE: _ClassVar[ScanRejection]
    SCAN_REJECTION_BATCH_EXPIRED: _ClassVar[ScanRejection]
    SCAN_REJECTION_BATCH_USED_UP: _ClassVar[ScanRejection]
    SCAN_REJECTION_INVALID: _ClassVar[ScanRejection]
    SCAN_REJECTION_TRY_AGAIN: _ClassVar[ScanRejection]
SCAN_REJECTION_UNSPECIFIED: ScanRejection
SCAN_REJECTION_FORGED: ScanRejection
SCAN_REJECTION_UNKNOWN_KEY: ScanRejection
SCAN_REJECTION_WRONG_CLINIC: ScanRejection
SCAN_REJECTION_WRONG_DAY: ScanRejection
SCAN_REJECTION_ALREADY_ADMINISTERED: ScanRejection
SCAN_REJECTION_CANCELLED: ScanRejection
SCAN_REJECTION_REVOKED: ScanRejection
SCAN_REJECTION_BATCH_NOT_FOUND: ScanRejection
SCAN_REJECTION_BATCH_OTHER_CLINIC: ScanRejection
SCAN_REJECTION_BATCH_WRONG_VACCINE: ScanRejection
SCAN_REJECTION_BATCH_EXPIRED: ScanRejection
SCAN_REJECTION_BATCH_USED_UP: ScanRejection
SCAN_REJECTION_INVALID: ScanRejection
SCAN_REJECTION_TRY_AGAIN: ScanRejection

class GetAppointmentQrCodeRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ReissueAppointmentQrCodeRequest(_message.Message):
    __slots__ = ("name", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    request_id: str
    def __init__(self, name: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class AppointmentQrCode(_message.Message):
    __slots__ = ("appointment", "token", "png", "svg", "key_id")
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    PNG_FIELD_NUMBER: _ClassVar[int]
    SVG_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    appointment: str
    token: str
    png: bytes
    svg: str
    key_id: str
    def __init__(self, appointment: _Optional[str] = ..., token: _Optional[str] = ..., png: _Optional[bytes] = ..., svg: _Optional[str] = ..., key_id: _Optional[str] = ...) -> None: ...

class ListQrKeysRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListQrKeysResponse(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[QrKey]
    def __init__(self, keys: _Optional[_Iterable[_Union[QrKey, _Mapping]]] = ...) -> None: ...

class RotateQrKeyRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RetireQrKeyRequest(_message.Message):
    __slots__ = ("key_id",)
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    def __init__(self, key_id: _Optional[str] = ...) -> None: ...

class RetireQrKeyResponse(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[QrKey]
    def __init__(self, keys: _Optional[_Iterable[_Union[QrKey, _Mapping]]] = ...) -> None: ...

class QrKey(_message.Message):
    __slots__ = ("key_id", "public_key", "create_time")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    public_key: bytes
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, key_id: _Optional[str] = ..., public_key: _Optional[bytes] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ScanAppointmentsRequest(_message.Message):
    __slots__ = ("nonce", "open", "scan", "record")
    NONCE_FIELD_NUMBER: _ClassVar[int]
    OPEN_FIELD_NUMBER: _ClassVar[int]
    SCAN_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    nonce: str
    open: OpenScanner
    scan: ScanQrCode
    record: RecordAdministration
    def __init__(self, nonce: _Optional[str] = ..., open: _Optional[_Union[OpenScanner, _Mapping]] = ..., scan: _Optional[_Union[ScanQrCode, _Mapping]] = ..., record: _Optional[_Union[RecordAdministration, _Mapping]] = ...) -> None: ...

class OpenScanner(_message.Message):
    __slots__ = ("clinic", "device_id")
    CLINIC_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    clinic: str
    device_id: str
    def __init__(self, clinic: _Optional[str] = ..., device_id: _Optional[str] = ...) -> None: ...

class ScanQrCode(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class RecordAdministration(_message.Message):
    __slots__ = ("appointment", "batch", "administer_time", "vaccinator")
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    ADMINISTER_TIME_FIELD_NUMBER: _ClassVar[int]
    VACCINATOR_FIELD_NUMBER: _ClassVar[int]
    appointment: str
    batch: str
    administer_time: _timestamp_pb2.Timestamp
    vaccinator: str
    def __init__(self, appointment: _Optional[str] = ..., batch: _Optional[str] = ..., administer_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., vaccinator: _Optional[str] = ...) -> None: ...

class ScanAppointmentsResponse(_message.Message):
    __slots__ = ("nonce", "opened", "accepted", "rejected", "recorded")
    NONCE_FIELD_NUMBER: _ClassVar[int]
    OPENED_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    nonce: str
    opened: ScannerOpened
    accepted: ScanAccepted
    rejected: ScanRejected
    recorded: AdministrationRecorded
    def __init__(self, nonce: _Optional[str] = ..., opened: _Optional[_Union[ScannerOpened, _Mapping]] = ..., accepted: _Optional[_Union[ScanAccepted, _Mapping]] = ..., rejected: _Optional[_Union[ScanRejected, _Mapping]] = ..., recorded: _Optional[_Union[AdministrationRecorded, _Mapping]] = ...) -> None: ...

class ScannerOpened(_message.Message):
    __slots__ = ("clinic", "device_id")
    CLINIC_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    clinic: str
    device_id: str
    def __init__(self, clinic: _Optional[str] = ..., device_id: _Optional[str] = ...) -> None: ...

class ScanAccepted(_message.Message):
    __slots__ = ("appointment", "person", "display_name", "birth_date", "vaccine", "dose_number", "slot_start_time", "slot_end_time", "warnings")
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    DOSE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SLOT_START_TIME_FIELD_NUMBER: _ClassVar[int]
    SLOT_END_TIME_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    appointment: str
    person: str
    display_name: str
    birth_date: str
    vaccine: str
    dose_number: int
    slot_start_time: _timestamp_pb2.Timestamp
    slot_end_time: _timestamp_pb2.Timestamp
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, appointment: _Optional[str] = ..., person: _Optional[str] = ..., display_name: _Optional[str] = ..., birth_date: _Optional[str] = ..., vaccine: _Optional[str] = ..., dose_number: _Optional[int] = ..., slot_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., slot_end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., warnings: _Optional[_Iterable[str]] = ...) -> None: ...

class ScanRejected(_message.Message):
    __slots__ = ("code", "message", "appointment", "administer_time", "clinic")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    ADMINISTER_TIME_FIELD_NUMBER: _ClassVar[int]
    CLINIC_FIELD_NUMBER: _ClassVar[int]
    code: ScanRejection
    message: str
    appointment: str
    administer_time: _timestamp_pb2.Timestamp
    clinic: str
    def __init__(self, code: _Optional[_Union[ScanRejection, str]] = ..., message: _Optional[str] = ..., appointment: _Optional[str] = ..., administer_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., clinic: _Optional[str] = ...) -> None: ...

class AdministrationRecorded(_message.Message):
    __slots__ = ("appointment", "batch", "administer_time", "vaccinator")
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    ADMINISTER_TIME_FIELD_NUMBER: _ClassVar[int]
    VACCINATOR_FIELD_NUMBER: _ClassVar[int]
    appointment: str
    batch: str
    administer_time: _timestamp_pb2.Timestamp
    vaccinator: str
    def __init__(self, appointment: _Optional[str] = ..., batch: _Optional[str] = ..., administer_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., vaccinator: _Optional[str] = ...) -> None: ...

class GetScannerBundleRequest(_message.Message):
    __slots__ = ("clinic", "date")
    CLINIC_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    clinic: str
    date: str
    def __init__(self, clinic: _Optional[str] = ..., date: _Optional[str] = ...) -> None: ...

class ScannerBundle(_message.Message):
    __slots__ = ("clinic", "date", "keys", "revoked_token_ids", "appointments", "create_time")
    CLINIC_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    REVOKED_TOKEN_IDS_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENTS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    clinic: str
    date: str
    keys: _containers.RepeatedCompositeFieldContainer[QrKey]
    revoked_token_ids: _containers.RepeatedScalarFieldContainer[str]
    appointments: _containers.RepeatedCompositeFieldContainer[BundledAppointment]
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, clinic: _Optional[str] = ..., date: _Optional[str] = ..., keys: _Optional[_Iterable[_Union[QrKey, _Mapping]]] = ..., revoked_token_ids: _Optional[_Iterable[str]] = ..., appointments: _Optional[_Iterable[_Union[BundledAppointment, _Mapping]]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BundledAppointment(_message.Message):
    __slots__ = ("person", "token_id")
    PERSON_FIELD_NUMBER: _ClassVar[int]
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    person: ScanAccepted
    token_id: str
    def __init__(self, person: _Optional[_Union[ScanAccepted, _Mapping]] = ..., token_id: _Optional[str] = ...) -> None: ...

class UploadScansRequest(_message.Message):
    __slots__ = ("clinic", "device_id", "administrations")
    CLINIC_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    ADMINISTRATIONS_FIELD_NUMBER: _ClassVar[int]
    clinic: str
    device_id: str
    administrations: _containers.RepeatedCompositeFieldContainer[OfflineAdministration]
    def __init__(self, clinic: _Optional[str] = ..., device_id: _Optional[str] = ..., administrations: _Optional[_Iterable[_Union[OfflineAdministration, _Mapping]]] = ...) -> None: ...

class OfflineAdministration(_message.Message):
    __slots__ = ("nonce", "token", "batch", "administer_time", "vaccinator")
    NONCE_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    ADMINISTER_TIME_FIELD_NUMBER: _ClassVar[int]
    VACCINATOR_FIELD_NUMBER: _ClassVar[int]
    nonce: str
    token: str
    batch: str
    administer_time: _timestamp_pb2.Timestamp
    vaccinator: str
    def __init__(self, nonce: _Optional[str] = ..., token: _Optional[str] = ..., batch: _Optional[str] = ..., administer_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., vaccinator: _Optional[str] = ...) -> None: ...

class UploadScansResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[ScanAppointmentsResponse]
    def __init__(self, results: _Optional[_Iterable[_Union[ScanAppointmentsResponse, _Mapping]]] = ...) -> None: ...

class BookWalkInRequest(_message.Message):
    __slots__ = ("clinic", "citizen", "vaccine", "dose_number", "request_id")
    CLINIC_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    DOSE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    clinic: str
    citizen: str
    vaccine: str
    dose_number: int
    request_id: str
    def __init__(self, clinic: _Optional[str] = ..., citizen: _Optional[str] = ..., vaccine: _Optional[str] = ..., dose_number: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...
