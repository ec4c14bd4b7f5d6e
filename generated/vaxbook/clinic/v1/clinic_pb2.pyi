import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SlotState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SLOT_STATE_UNSPECIFIED: _ClassVar[SlotState]
    SLOT_STATE_OPEN: _ClassVar[SlotState]
    SLOT_STATE_CANCELLED: _ClassVar[SlotState]
SLOT_STATE_UNSPECIFIED: SlotState
SLOT_STATE_OPEN: SlotState
SLOT_STATE_CANCELLED: SlotState

class Clinic(_message.Message):
    __slots__ = ("name", "display_name", "region", "address", "vaccines", "create_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    VACCINES_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    region: str
    address: str
    vaccines: _containers.RepeatedScalarFieldContainer[str]
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., region: _Optional[str] = ..., address: _Optional[str] = ..., vaccines: _Optional[_Iterable[str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Slot(_message.Message):
    __slots__ = ("name", "start_time", "end_time", "capacity", "region", "vaccines", "state", "cancel_reason", "cancel_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    VACCINES_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REASON_FIELD_NUMBER: _ClassVar[int]
    CANCEL_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    capacity: int
    region: str
    vaccines: _containers.RepeatedScalarFieldContainer[str]
    state: SlotState
    cancel_reason: str
    cancel_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., capacity: _Optional[int] = ..., region: _Optional[str] = ..., vaccines: _Optional[_Iterable[str]] = ..., state: _Optional[_Union[SlotState, str]] = ..., cancel_reason: _Optional[str] = ..., cancel_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateClinicRequest(_message.Message):
    __slots__ = ("clinic", "request_id")
    CLINIC_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    clinic: Clinic
    request_id: str
    def __init__(self, clinic: _Optional[_Union[Clinic, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetClinicRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListClinicsRequest(_message.Message):
    __slots__ = ("region", "vaccine", "page_size", "page_token")
    REGION_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    region: str
    vaccine: str
    page_size: int
    page_token: str
    def __init__(self, region: _Optional[str] = ..., vaccine: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListClinicsResponse(_message.Message):
    __slots__ = ("clinics", "next_page_token")
    CLINICS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    clinics: _containers.RepeatedCompositeFieldContainer[Clinic]
    next_page_token: str
    def __init__(self, clinics: _Optional[_Iterable[_Union[Clinic, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateSlotRequest(_message.Message):
    __slots__ = ("parent", "slot", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    slot: Slot
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., slot: _Optional[_Union[Slot, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetSlotRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListSlotsRequest(_message.Message):
    __slots__ = ("parent", "region", "vaccine", "date", "page_size", "page_token", "start_time_from", "start_time_before", "show_cancelled")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FROM_FIELD_NUMBER: _ClassVar[int]
    START_TIME_BEFORE_FIELD_NUMBER: _ClassVar[int]
    SHOW_CANCELLED_FIELD_NUMBER: _ClassVar[int]
    parent: str
    region: str
    vaccine: str
    date: str
    page_size: int
    page_token: str
    start_time_from: _timestamp_pb2.Timestamp
    start_time_before: _timestamp_pb2.Timestamp
    show_cancelled: bool
    def __init__(self, parent: _Optional[str] = ..., region: _Optional[str] = ..., vaccine: _Optional[str] = ..., date: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., start_time_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., show_cancelled: _Optional[bool] = ...) -> None: ...

class ListSlotsResponse(_message.Message):
    __slots__ = ("slots", "next_page_token")
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    slots: _containers.RepeatedCompositeFieldContainer[Slot]
    next_page_token: str
    def __init__(self, slots: _Optional[_Iterable[_Union[Slot, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateSlotCapacityRequest(_message.Message):
    __slots__ = ("name", "capacity", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    capacity: int
    request_id: str
    def __init__(self, name: _Optional[str] = ..., capacity: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class CancelSlotRequest(_message.Message):
    __slots__ = ("name", "reason", "validate_only", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    validate_only: bool
    request_id: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ..., validate_only: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class BatchCancelSlotsRequest(_message.Message):
    __slots__ = ("parent", "date", "reason", "validate_only", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    date: str
    reason: str
    validate_only: bool
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., date: _Optional[str] = ..., reason: _Optional[str] = ..., validate_only: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class CancelSlotsResponse(_message.Message):
    __slots__ = ("slots", "affected_appointments", "rebooking_offers")
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    AFFECTED_APPOINTMENTS_FIELD_NUMBER: _ClassVar[int]
    REBOOKING_OFFERS_FIELD_NUMBER: _ClassVar[int]
    slots: _containers.RepeatedCompositeFieldContainer[Slot]
    affected_appointments: int
    rebooking_offers: int
    def __init__(self, slots: _Optional[_Iterable[_Union[Slot, _Mapping]]] = ..., affected_appointments: _Optional[int] = ..., rebooking_offers: _Optional[int] = ...) -> None: ...

class AdjustDoseStockRequest(_message.Message):
    __slots__ = ("clinic", "vaccine", "delta", "reason", "request_id")
    CLINIC_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    clinic: str
    vaccine: str
    delta: int
    reason: str
    request_id: str
    def __init__(self, clinic: _Optional[str] = ..., vaccine: _Optional[str] = ..., delta: _Optional[int] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class AdjustDoseStockResponse(_message.Message):
    __slots__ = ("old_doses", "new_doses", "shortfall", "cancelled_appointments", "rebooking_offers")
    OLD_DOSES_FIELD_NUMBER: _ClassVar[int]
    NEW_DOSES_FIELD_NUMBER: _ClassVar[int]
    SHORTFALL_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_APPOINTMENTS_FIELD_NUMBER: _ClassVar[int]
    REBOOKING_OFFERS_FIELD_NUMBER: _ClassVar[int]
    old_doses: int
    new_doses: int
    shortfall: int
    cancelled_appointments: _containers.RepeatedScalarFieldContainer[str]
    rebooking_offers: int
    def __init__(self, old_doses: _Optional[int] = ..., new_doses: _Optional[int] = ..., shortfall: _Optional[int] = ..., cancelled_appointments: _Optional[_Iterable[str]] = ..., rebooking_offers: _Optional[int] = ...) -> None: ...
