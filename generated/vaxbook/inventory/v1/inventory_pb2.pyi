import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HoldStore(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HOLD_STORE_UNSPECIFIED: _ClassVar[HoldStore]
    HOLD_STORE_REDIS: _ClassVar[HoldStore]
    HOLD_STORE_DATABASE: _ClassVar[HoldStore]

class HoldState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HOLD_STATE_UNSPECIFIED: _ClassVar[HoldState]
    HOLD_STATE_HELD: _ClassVar[HoldState]
    HOLD_STATE_COMMITTED: _ClassVar[HoldState]
    HOLD_STATE_RELEASED: _ClassVar[HoldState]
    HOLD_STATE_EXPIRED: _ClassVar[HoldState]
    HOLD_STATE_USED: _ClassVar[HoldState]

class BatchState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BATCH_STATE_UNSPECIFIED: _ClassVar[BatchState]
    BATCH_STATE_ACTIVE: _ClassVar[BatchState]
    BATCH_STATE_EXPIRED: _ClassVar[BatchState]
    BATCH_STATE_USED_UP: _ClassVar[BatchState]
HOLD_STORE_UNSPECIFIED: HoldStore
HOLD_STORE_REDIS: HoldStore
HOLD_STORE_DATABASE: HoldStore
HOLD_STATE_UNSPECIFIED: HoldState
HOLD_STATE_HELD: HoldState
HOLD_STATE_COMMITTED: HoldState
HOLD_STATE_RELEASED: HoldState
HOLD_STATE_EXPIRED: HoldState
HOLD_STATE_USED: HoldState
BATCH_STATE_UNSPECIFIED: BatchState
BATCH_STATE_ACTIVE: BatchState
BATCH_STATE_EXPIRED: BatchState
BATCH_STATE_USED_UP: BatchState

class Hold(_message.Message):
    __slots__ = ("name", "slot", "vaccine", "state", "expire_time", "store")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    STORE_FIELD_NUMBER: _ClassVar[int]
    name: str
    slot: str
    vaccine: str
    state: HoldState
    expire_time: _timestamp_pb2.Timestamp
    store: HoldStore
    def __init__(self, name: _Optional[str] = ..., slot: _Optional[str] = ..., vaccine: _Optional[str] = ..., state: _Optional[_Union[HoldState, str]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., store: _Optional[_Union[HoldStore, str]] = ...) -> None: ...

class Counts(_message.Message):
    __slots__ = ("total", "held", "committed", "free")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    HELD_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_FIELD_NUMBER: _ClassVar[int]
    FREE_FIELD_NUMBER: _ClassVar[int]
    total: int
    held: int
    committed: int
    free: int
    def __init__(self, total: _Optional[int] = ..., held: _Optional[int] = ..., committed: _Optional[int] = ..., free: _Optional[int] = ...) -> None: ...

class Availability(_message.Message):
    __slots__ = ("slot", "vaccine", "seats", "doses")
    SLOT_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    SEATS_FIELD_NUMBER: _ClassVar[int]
    DOSES_FIELD_NUMBER: _ClassVar[int]
    slot: str
    vaccine: str
    seats: Counts
    doses: Counts
    def __init__(self, slot: _Optional[str] = ..., vaccine: _Optional[str] = ..., seats: _Optional[_Union[Counts, _Mapping]] = ..., doses: _Optional[_Union[Counts, _Mapping]] = ...) -> None: ...

class SetSlotCapacityRequest(_message.Message):
    __slots__ = ("slot", "capacity", "request_id")
    SLOT_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    slot: str
    capacity: int
    request_id: str
    def __init__(self, slot: _Optional[str] = ..., capacity: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class SetDoseStockRequest(_message.Message):
    __slots__ = ("clinic", "vaccine", "doses", "request_id")
    CLINIC_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    DOSES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    clinic: str
    vaccine: str
    doses: int
    request_id: str
    def __init__(self, clinic: _Optional[str] = ..., vaccine: _Optional[str] = ..., doses: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetAvailabilityRequest(_message.Message):
    __slots__ = ("slot", "vaccine")
    SLOT_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    slot: str
    vaccine: str
    def __init__(self, slot: _Optional[str] = ..., vaccine: _Optional[str] = ...) -> None: ...

class CreateHoldRequest(_message.Message):
    __slots__ = ("slot", "vaccine", "hold_id", "ttl_seconds", "request_id")
    SLOT_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    HOLD_ID_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    slot: str
    vaccine: str
    hold_id: str
    ttl_seconds: int
    request_id: str
    def __init__(self, slot: _Optional[str] = ..., vaccine: _Optional[str] = ..., hold_id: _Optional[str] = ..., ttl_seconds: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class BatchCreateHoldsRequest(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[CreateHoldRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[CreateHoldRequest, _Mapping]]] = ...) -> None: ...

class HoldResult(_message.Message):
    __slots__ = ("hold", "error")
    HOLD_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    hold: Hold
    error: _status_pb2.Status
    def __init__(self, hold: _Optional[_Union[Hold, _Mapping]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...

class BatchCreateHoldsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[HoldResult]
    def __init__(self, results: _Optional[_Iterable[_Union[HoldResult, _Mapping]]] = ...) -> None: ...

class CommitHoldRequest(_message.Message):
    __slots__ = ("name", "slot", "vaccine", "expire_time", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    slot: str
    vaccine: str
    expire_time: _timestamp_pb2.Timestamp
    request_id: str
    def __init__(self, name: _Optional[str] = ..., slot: _Optional[str] = ..., vaccine: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class BatchCommitHoldsRequest(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[CommitHoldRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[CommitHoldRequest, _Mapping]]] = ...) -> None: ...

class BatchCommitHoldsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[HoldResult]
    def __init__(self, results: _Optional[_Iterable[_Union[HoldResult, _Mapping]]] = ...) -> None: ...

class ReleaseHoldRequest(_message.Message):
    __slots__ = ("name", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    request_id: str
    def __init__(self, name: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ExtendHoldRequest(_message.Message):
    __slots__ = ("name", "slot", "vaccine", "expire_time", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    slot: str
    vaccine: str
    expire_time: _timestamp_pb2.Timestamp
    request_id: str
    def __init__(self, name: _Optional[str] = ..., slot: _Optional[str] = ..., vaccine: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CloseSlotRequest(_message.Message):
    __slots__ = ("slot", "request_id")
    SLOT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    slot: str
    request_id: str
    def __init__(self, slot: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class AdjustDoseStockRequest(_message.Message):
    __slots__ = ("clinic", "vaccine", "delta", "reason", "request_id", "actor")
    CLINIC_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    clinic: str
    vaccine: str
    delta: int
    reason: str
    request_id: str
    actor: str
    def __init__(self, clinic: _Optional[str] = ..., vaccine: _Optional[str] = ..., delta: _Optional[int] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class DoseAdjustment(_message.Message):
    __slots__ = ("clinic", "vaccine", "delta", "reason", "old_doses", "new_doses", "shortfall", "request_id")
    CLINIC_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    OLD_DOSES_FIELD_NUMBER: _ClassVar[int]
    NEW_DOSES_FIELD_NUMBER: _ClassVar[int]
    SHORTFALL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    clinic: str
    vaccine: str
    delta: int
    reason: str
    old_doses: int
    new_doses: int
    shortfall: int
    request_id: str
    def __init__(self, clinic: _Optional[str] = ..., vaccine: _Optional[str] = ..., delta: _Optional[int] = ..., reason: _Optional[str] = ..., old_doses: _Optional[int] = ..., new_doses: _Optional[int] = ..., shortfall: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class Batch(_message.Message):
    __slots__ = ("name", "vaccine", "expire_date", "doses_received", "doses_used", "doses_left", "state", "receive_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_DATE_FIELD_NUMBER: _ClassVar[int]
    DOSES_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    DOSES_USED_FIELD_NUMBER: _ClassVar[int]
    DOSES_LEFT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    vaccine: str
    expire_date: str
    doses_received: int
    doses_used: int
    doses_left: int
    state: BatchState
    receive_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., vaccine: _Optional[str] = ..., expire_date: _Optional[str] = ..., doses_received: _Optional[int] = ..., doses_used: _Optional[int] = ..., doses_left: _Optional[int] = ..., state: _Optional[_Union[BatchState, str]] = ..., receive_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReceiveBatchRequest(_message.Message):
    __slots__ = ("parent", "batch_id", "batch", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    batch_id: str
    batch: Batch
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., batch_id: _Optional[str] = ..., batch: _Optional[_Union[Batch, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetBatchRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListBatchesRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListBatchesResponse(_message.Message):
    __slots__ = ("batches", "next_page_token")
    BATCHES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    batches: _containers.RepeatedCompositeFieldContainer[Batch]
    next_page_token: str
    def __init__(self, batches: _Optional[_Iterable[_Union[Batch, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ExpireBatchesRequest(_message.Message):
    __slots__ = ("today", "request_id")
    TODAY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    today: str
    request_id: str
    def __init__(self, today: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ExpireBatchesResponse(_message.Message):
    __slots__ = ("expired", "adjustments")
    EXPIRED_FIELD_NUMBER: _ClassVar[int]
    ADJUSTMENTS_FIELD_NUMBER: _ClassVar[int]
    expired: _containers.RepeatedCompositeFieldContainer[Batch]
    adjustments: _containers.RepeatedCompositeFieldContainer[DoseAdjustment]
    def __init__(self, expired: _Optional[_Iterable[_Union[Batch, _Mapping]]] = ..., adjustments: _Optional[_Iterable[_Union[DoseAdjustment, _Mapping]]] = ...) -> None: ...

class ConsumeDoseRequest(_message.Message):
    __slots__ = ("hold", "batch", "appointment", "administer_time", "request_id")
    HOLD_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    ADMINISTER_TIME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    hold: str
    batch: str
    appointment: str
    administer_time: _timestamp_pb2.Timestamp
    request_id: str
    def __init__(self, hold: _Optional[str] = ..., batch: _Optional[str] = ..., appointment: _Optional[str] = ..., administer_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class DoseUse(_message.Message):
    __slots__ = ("appointment", "batch", "vaccine", "administer_time", "request_id", "create_time", "hold")
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    ADMINISTER_TIME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    HOLD_FIELD_NUMBER: _ClassVar[int]
    appointment: str
    batch: str
    vaccine: str
    administer_time: _timestamp_pb2.Timestamp
    request_id: str
    create_time: _timestamp_pb2.Timestamp
    hold: str
    def __init__(self, appointment: _Optional[str] = ..., batch: _Optional[str] = ..., vaccine: _Optional[str] = ..., administer_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., hold: _Optional[str] = ...) -> None: ...
