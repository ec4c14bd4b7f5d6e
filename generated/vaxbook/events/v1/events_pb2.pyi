import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Event(_message.Message):
    __slots__ = ("event_id", "occur_time", "request_id", "appointment_reserved", "appointment_confirmed", "appointment_cancelled", "appointment_expired", "appointment_rejected", "slot_capacity_changed", "dose_stock_changed", "appointment_review_required", "clinic_created", "slot_created", "appointment_no_show", "appointment_clinic_cancelled", "rebooking_offered", "rebooking_offer_closed", "slot_cancelled", "dose_stock_adjusted", "appointment_review_resolved", "rule_set_activated", "batch_received", "batch_expired", "personal_data_viewed", "appointment_administered")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCUR_TIME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_RESERVED_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_CONFIRMED_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_CANCELLED_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_EXPIRED_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_REJECTED_FIELD_NUMBER: _ClassVar[int]
    SLOT_CAPACITY_CHANGED_FIELD_NUMBER: _ClassVar[int]
    DOSE_STOCK_CHANGED_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_REVIEW_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    CLINIC_CREATED_FIELD_NUMBER: _ClassVar[int]
    SLOT_CREATED_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_NO_SHOW_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_CLINIC_CANCELLED_FIELD_NUMBER: _ClassVar[int]
    REBOOKING_OFFERED_FIELD_NUMBER: _ClassVar[int]
    REBOOKING_OFFER_CLOSED_FIELD_NUMBER: _ClassVar[int]
    SLOT_CANCELLED_FIELD_NUMBER: _ClassVar[int]
    DOSE_STOCK_ADJUSTED_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_REVIEW_RESOLVED_FIELD_NUMBER: _ClassVar[int]
    RULE_SET_ACTIVATED_FIELD_NUMBER: _ClassVar[int]
    BATCH_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    BATCH_EXPIRED_FIELD_NUMBER: _ClassVar[int]
    PERSONAL_DATA_VIEWED_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_ADMINISTERED_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    occur_time: _timestamp_pb2.Timestamp
    request_id: str
    appointment_reserved: AppointmentReserved
    appointment_confirmed: AppointmentConfirmed
    appointment_cancelled: AppointmentCancelled
    appointment_expired: AppointmentExpired
    appointment_rejected: AppointmentRejected
    slot_capacity_changed: SlotCapacityChanged
    dose_stock_changed: DoseStockChanged
    appointment_review_required: AppointmentReviewRequired
    clinic_created: ClinicCreated
    slot_created: SlotCreated
    appointment_no_show: AppointmentNoShow
    appointment_clinic_cancelled: AppointmentClinicCancelled
    rebooking_offered: RebookingOffered
    rebooking_offer_closed: RebookingOfferClosed
    slot_cancelled: SlotCancelled
    dose_stock_adjusted: DoseStockAdjusted
    appointment_review_resolved: AppointmentReviewResolved
    rule_set_activated: RuleSetActivated
    batch_received: BatchReceived
    batch_expired: BatchExpired
    personal_data_viewed: PersonalDataViewed
    appointment_administered: AppointmentAdministered
    def __init__(self, event_id: _Optional[str] = ..., occur_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ..., appointment_reserved: _Optional[_Union[AppointmentReserved, _Mapping]] = ..., appointment_confirmed: _Optional[_Union[AppointmentConfirmed, _Mapping]] = ..., appointment_cancelled: _Optional[_Union[AppointmentCancelled, _Mapping]] = ..., appointment_expired: _Optional[_Union[AppointmentExpired, _Mapping]] = ..., appointment_rejected: _Optional[_Union[AppointmentRejected, _Mapping]] = ..., slot_capacity_changed: _Optional[_Union[SlotCapacityChanged, _Mapping]] = ..., dose_stock_changed: _Optional[_Union[DoseStockChanged, _Mapping]] = ..., appointment_review_required: _Optional[_Union[AppointmentReviewRequired, _Mapping]] = ..., clinic_created: _Optional[_Union[ClinicCreated, _Mapping]] = ..., slot_created: _Optional[_Union[SlotCreated, _Mapping]] = ..., appointment_no_show: _Optional[_Union[AppointmentNoShow, _Mapping]] = ..., appointment_clinic_cancelled: _Optional[_Union[AppointmentClinicCancelled, _Mapping]] = ..., rebooking_offered: _Optional[_Union[RebookingOffered, _Mapping]] = ..., rebooking_offer_closed: _Optional[_Union[RebookingOfferClosed, _Mapping]] = ..., slot_cancelled: _Optional[_Union[SlotCancelled, _Mapping]] = ..., dose_stock_adjusted: _Optional[_Union[DoseStockAdjusted, _Mapping]] = ..., appointment_review_resolved: _Optional[_Union[AppointmentReviewResolved, _Mapping]] = ..., rule_set_activated: _Optional[_Union[RuleSetActivated, _Mapping]] = ..., batch_received: _Optional[_Union[BatchReceived, _Mapping]] = ..., batch_expired: _Optional[_Union[BatchExpired, _Mapping]] = ..., personal_data_viewed: _Optional[_Union[PersonalDataViewed, _Mapping]] = ..., appointment_administered: _Optional[_Union[AppointmentAdministered, _Mapping]] = ...) -> None: ...

class AppointmentRef(_message.Message):
    __slots__ = ("appointment", "citizen", "slot", "vaccine", "dose_number", "slot_start_time")
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    DOSE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SLOT_START_TIME_FIELD_NUMBER: _ClassVar[int]
    appointment: str
    citizen: str
    slot: str
    vaccine: str
    dose_number: int
    slot_start_time: _timestamp_pb2.Timestamp
    def __init__(self, appointment: _Optional[str] = ..., citizen: _Optional[str] = ..., slot: _Optional[str] = ..., vaccine: _Optional[str] = ..., dose_number: _Optional[int] = ..., slot_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AppointmentReserved(_message.Message):
    __slots__ = ("appointment", "hold_expire_time")
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    HOLD_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    appointment: AppointmentRef
    hold_expire_time: _timestamp_pb2.Timestamp
    def __init__(self, appointment: _Optional[_Union[AppointmentRef, _Mapping]] = ..., hold_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AppointmentConfirmed(_message.Message):
    __slots__ = ("appointment", "qr_token")
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    QR_TOKEN_FIELD_NUMBER: _ClassVar[int]
    appointment: AppointmentRef
    qr_token: str
    def __init__(self, appointment: _Optional[_Union[AppointmentRef, _Mapping]] = ..., qr_token: _Optional[str] = ...) -> None: ...

class AppointmentAdministered(_message.Message):
    __slots__ = ("appointment", "batch", "administer_time", "vaccinator", "device_id", "actor")
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    ADMINISTER_TIME_FIELD_NUMBER: _ClassVar[int]
    VACCINATOR_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    appointment: AppointmentRef
    batch: str
    administer_time: _timestamp_pb2.Timestamp
    vaccinator: str
    device_id: str
    actor: str
    def __init__(self, appointment: _Optional[_Union[AppointmentRef, _Mapping]] = ..., batch: _Optional[str] = ..., administer_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., vaccinator: _Optional[str] = ..., device_id: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class AppointmentCancelled(_message.Message):
    __slots__ = ("appointment", "was_confirmed", "reason")
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    WAS_CONFIRMED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    appointment: AppointmentRef
    was_confirmed: bool
    reason: str
    def __init__(self, appointment: _Optional[_Union[AppointmentRef, _Mapping]] = ..., was_confirmed: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class AppointmentExpired(_message.Message):
    __slots__ = ("appointment", "reason")
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    appointment: AppointmentRef
    reason: str
    def __init__(self, appointment: _Optional[_Union[AppointmentRef, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class AppointmentNoShow(_message.Message):
    __slots__ = ("appointment",)
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    appointment: AppointmentRef
    def __init__(self, appointment: _Optional[_Union[AppointmentRef, _Mapping]] = ...) -> None: ...

class AppointmentRejected(_message.Message):
    __slots__ = ("appointment", "reasons")
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    appointment: AppointmentRef
    reasons: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, appointment: _Optional[_Union[AppointmentRef, _Mapping]] = ..., reasons: _Optional[_Iterable[str]] = ...) -> None: ...

class AppointmentReviewRequired(_message.Message):
    __slots__ = ("appointment", "reason")
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    appointment: AppointmentRef
    reason: str
    def __init__(self, appointment: _Optional[_Union[AppointmentRef, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class AppointmentClinicCancelled(_message.Message):
    __slots__ = ("appointment", "was_confirmed", "reason", "note")
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    WAS_CONFIRMED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    appointment: AppointmentRef
    was_confirmed: bool
    reason: str
    note: str
    def __init__(self, appointment: _Optional[_Union[AppointmentRef, _Mapping]] = ..., was_confirmed: _Optional[bool] = ..., reason: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class RebookingOffered(_message.Message):
    __slots__ = ("offer", "appointment", "slot", "slot_start_time", "expire_time")
    OFFER_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    SLOT_START_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    offer: str
    appointment: AppointmentRef
    slot: str
    slot_start_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, offer: _Optional[str] = ..., appointment: _Optional[_Union[AppointmentRef, _Mapping]] = ..., slot: _Optional[str] = ..., slot_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RebookingOfferClosed(_message.Message):
    __slots__ = ("offer", "appointment", "outcome", "new_appointment")
    OFFER_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    NEW_APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    offer: str
    appointment: AppointmentRef
    outcome: str
    new_appointment: str
    def __init__(self, offer: _Optional[str] = ..., appointment: _Optional[_Union[AppointmentRef, _Mapping]] = ..., outcome: _Optional[str] = ..., new_appointment: _Optional[str] = ...) -> None: ...

class SlotCancelled(_message.Message):
    __slots__ = ("slot", "start_time", "reason", "actor")
    SLOT_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    slot: str
    start_time: _timestamp_pb2.Timestamp
    reason: str
    actor: str
    def __init__(self, slot: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class DoseStockAdjusted(_message.Message):
    __slots__ = ("clinic", "vaccine", "delta", "reason", "old_doses", "new_doses", "shortfall", "actor")
    CLINIC_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    OLD_DOSES_FIELD_NUMBER: _ClassVar[int]
    NEW_DOSES_FIELD_NUMBER: _ClassVar[int]
    SHORTFALL_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    clinic: str
    vaccine: str
    delta: int
    reason: str
    old_doses: int
    new_doses: int
    shortfall: int
    actor: str
    def __init__(self, clinic: _Optional[str] = ..., vaccine: _Optional[str] = ..., delta: _Optional[int] = ..., reason: _Optional[str] = ..., old_doses: _Optional[int] = ..., new_doses: _Optional[int] = ..., shortfall: _Optional[int] = ..., actor: _Optional[str] = ...) -> None: ...

class AppointmentReviewResolved(_message.Message):
    __slots__ = ("appointment", "approved")
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    APPROVED_FIELD_NUMBER: _ClassVar[int]
    appointment: AppointmentRef
    approved: bool
    def __init__(self, appointment: _Optional[_Union[AppointmentRef, _Mapping]] = ..., approved: _Optional[bool] = ...) -> None: ...

class RuleSetActivated(_message.Message):
    __slots__ = ("version", "actor")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    version: str
    actor: str
    def __init__(self, version: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class BatchReceived(_message.Message):
    __slots__ = ("batch", "clinic", "vaccine", "expire_date", "doses", "actor")
    BATCH_FIELD_NUMBER: _ClassVar[int]
    CLINIC_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_DATE_FIELD_NUMBER: _ClassVar[int]
    DOSES_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    batch: str
    clinic: str
    vaccine: str
    expire_date: str
    doses: int
    actor: str
    def __init__(self, batch: _Optional[str] = ..., clinic: _Optional[str] = ..., vaccine: _Optional[str] = ..., expire_date: _Optional[str] = ..., doses: _Optional[int] = ..., actor: _Optional[str] = ...) -> None: ...

class BatchExpired(_message.Message):
    __slots__ = ("batch", "clinic", "vaccine", "expire_date", "doses_left", "doses_removed")
    BATCH_FIELD_NUMBER: _ClassVar[int]
    CLINIC_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_DATE_FIELD_NUMBER: _ClassVar[int]
    DOSES_LEFT_FIELD_NUMBER: _ClassVar[int]
    DOSES_REMOVED_FIELD_NUMBER: _ClassVar[int]
    batch: str
    clinic: str
    vaccine: str
    expire_date: str
    doses_left: int
    doses_removed: int
    def __init__(self, batch: _Optional[str] = ..., clinic: _Optional[str] = ..., vaccine: _Optional[str] = ..., expire_date: _Optional[str] = ..., doses_left: _Optional[int] = ..., doses_removed: _Optional[int] = ...) -> None: ...

class SlotCapacityChanged(_message.Message):
    __slots__ = ("slot", "old_capacity", "new_capacity")
    SLOT_FIELD_NUMBER: _ClassVar[int]
    OLD_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    NEW_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    slot: str
    old_capacity: int
    new_capacity: int
    def __init__(self, slot: _Optional[str] = ..., old_capacity: _Optional[int] = ..., new_capacity: _Optional[int] = ...) -> None: ...

class ClinicCreated(_message.Message):
    __slots__ = ("clinic", "display_name", "region", "address", "vaccines")
    CLINIC_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    VACCINES_FIELD_NUMBER: _ClassVar[int]
    clinic: str
    display_name: str
    region: str
    address: str
    vaccines: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, clinic: _Optional[str] = ..., display_name: _Optional[str] = ..., region: _Optional[str] = ..., address: _Optional[str] = ..., vaccines: _Optional[_Iterable[str]] = ...) -> None: ...

class SlotCreated(_message.Message):
    __slots__ = ("slot", "start_time", "end_time", "capacity")
    SLOT_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    slot: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    capacity: int
    def __init__(self, slot: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., capacity: _Optional[int] = ...) -> None: ...

class DoseStockChanged(_message.Message):
    __slots__ = ("clinic", "vaccine", "old_doses", "new_doses")
    CLINIC_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    OLD_DOSES_FIELD_NUMBER: _ClassVar[int]
    NEW_DOSES_FIELD_NUMBER: _ClassVar[int]
    clinic: str
    vaccine: str
    old_doses: int
    new_doses: int
    def __init__(self, clinic: _Optional[str] = ..., vaccine: _Optional[str] = ..., old_doses: _Optional[int] = ..., new_doses: _Optional[int] = ...) -> None: ...

class PersonalDataViewed(_message.Message):
    __slots__ = ("actor", "actor_role", "resource", "rpc", "citizen", "appointment", "clinic")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ROLE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    RPC_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    CLINIC_FIELD_NUMBER: _ClassVar[int]
    actor: str
    actor_role: str
    resource: str
    rpc: str
    citizen: str
    appointment: str
    clinic: str
    def __init__(self, actor: _Optional[str] = ..., actor_role: _Optional[str] = ..., resource: _Optional[str] = ..., rpc: _Optional[str] = ..., citizen: _Optional[str] = ..., appointment: _Optional[str] = ..., clinic: _Optional[str] = ...) -> None: ...
