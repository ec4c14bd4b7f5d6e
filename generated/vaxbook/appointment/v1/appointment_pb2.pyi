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

class EligibilityState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ELIGIBILITY_STATE_UNSPECIFIED: _ClassVar[EligibilityState]
    ELIGIBILITY_STATE_CHECKING: _ClassVar[EligibilityState]
    ELIGIBILITY_STATE_PASSED: _ClassVar[EligibilityState]
    ELIGIBILITY_STATE_PROVISIONAL: _ClassVar[EligibilityState]
    ELIGIBILITY_STATE_RETRYING: _ClassVar[EligibilityState]
    ELIGIBILITY_STATE_FAILED: _ClassVar[EligibilityState]

class AppointmentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPOINTMENT_STATE_UNSPECIFIED: _ClassVar[AppointmentState]
    APPOINTMENT_STATE_PENDING: _ClassVar[AppointmentState]
    APPOINTMENT_STATE_CONFIRMED: _ClassVar[AppointmentState]
    APPOINTMENT_STATE_CANCELLED: _ClassVar[AppointmentState]
    APPOINTMENT_STATE_EXPIRED: _ClassVar[AppointmentState]
    APPOINTMENT_STATE_REJECTED: _ClassVar[AppointmentState]
    APPOINTMENT_STATE_ADMINISTERED: _ClassVar[AppointmentState]
    APPOINTMENT_STATE_NO_SHOW: _ClassVar[AppointmentState]
    APPOINTMENT_STATE_CLINIC_CANCELLED: _ClassVar[AppointmentState]

class RebookingOfferState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REBOOKING_OFFER_STATE_UNSPECIFIED: _ClassVar[RebookingOfferState]
    REBOOKING_OFFER_STATE_OPEN: _ClassVar[RebookingOfferState]
    REBOOKING_OFFER_STATE_ACCEPTED: _ClassVar[RebookingOfferState]
    REBOOKING_OFFER_STATE_DECLINED: _ClassVar[RebookingOfferState]
    REBOOKING_OFFER_STATE_LAPSED: _ClassVar[RebookingOfferState]
ELIGIBILITY_STATE_UNSPECIFIED: EligibilityState
ELIGIBILITY_STATE_CHECKING: EligibilityState
ELIGIBILITY_STATE_PASSED: EligibilityState
ELIGIBILITY_STATE_PROVISIONAL: EligibilityState
ELIGIBILITY_STATE_RETRYING: EligibilityState
ELIGIBILITY_STATE_FAILED: EligibilityState
APPOINTMENT_STATE_UNSPECIFIED: AppointmentState
APPOINTMENT_STATE_PENDING: AppointmentState
APPOINTMENT_STATE_CONFIRMED: AppointmentState
APPOINTMENT_STATE_CANCELLED: AppointmentState
APPOINTMENT_STATE_EXPIRED: AppointmentState
APPOINTMENT_STATE_REJECTED: AppointmentState
APPOINTMENT_STATE_ADMINISTERED: AppointmentState
APPOINTMENT_STATE_NO_SHOW: AppointmentState
APPOINTMENT_STATE_CLINIC_CANCELLED: AppointmentState
REBOOKING_OFFER_STATE_UNSPECIFIED: RebookingOfferState
REBOOKING_OFFER_STATE_OPEN: RebookingOfferState
REBOOKING_OFFER_STATE_ACCEPTED: RebookingOfferState
REBOOKING_OFFER_STATE_DECLINED: RebookingOfferState
REBOOKING_OFFER_STATE_LAPSED: RebookingOfferState

class Reason(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class Appointment(_message.Message):
    __slots__ = ("name", "citizen", "slot", "vaccine", "dose_number", "state", "hold_expire_time", "slot_start_time", "slot_end_time", "create_time", "update_time", "end_reason", "eligibility", "reasons", "review_required", "rules_version", "next_eligibility_check_time", "rebooking_offer", "administration")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    DOSE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    HOLD_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    SLOT_START_TIME_FIELD_NUMBER: _ClassVar[int]
    SLOT_END_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    END_REASON_FIELD_NUMBER: _ClassVar[int]
    ELIGIBILITY_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    REVIEW_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    RULES_VERSION_FIELD_NUMBER: _ClassVar[int]
    NEXT_ELIGIBILITY_CHECK_TIME_FIELD_NUMBER: _ClassVar[int]
    REBOOKING_OFFER_FIELD_NUMBER: _ClassVar[int]
    ADMINISTRATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    citizen: str
    slot: str
    vaccine: str
    dose_number: int
    state: AppointmentState
    hold_expire_time: _timestamp_pb2.Timestamp
    slot_start_time: _timestamp_pb2.Timestamp
    slot_end_time: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    end_reason: str
    eligibility: EligibilityState
    reasons: _containers.RepeatedCompositeFieldContainer[Reason]
    review_required: bool
    rules_version: str
    next_eligibility_check_time: _timestamp_pb2.Timestamp
    rebooking_offer: str
    administration: Administration
    def __init__(self, name: _Optional[str] = ..., citizen: _Optional[str] = ..., slot: _Optional[str] = ..., vaccine: _Optional[str] = ..., dose_number: _Optional[int] = ..., state: _Optional[_Union[AppointmentState, str]] = ..., hold_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., slot_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., slot_end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_reason: _Optional[str] = ..., eligibility: _Optional[_Union[EligibilityState, str]] = ..., reasons: _Optional[_Iterable[_Union[Reason, _Mapping]]] = ..., review_required: _Optional[bool] = ..., rules_version: _Optional[str] = ..., next_eligibility_check_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rebooking_offer: _Optional[str] = ..., administration: _Optional[_Union[Administration, _Mapping]] = ...) -> None: ...

class Administration(_message.Message):
    __slots__ = ("batch", "administer_time", "vaccinator", "device_id")
    BATCH_FIELD_NUMBER: _ClassVar[int]
    ADMINISTER_TIME_FIELD_NUMBER: _ClassVar[int]
    VACCINATOR_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    batch: str
    administer_time: _timestamp_pb2.Timestamp
    vaccinator: str
    device_id: str
    def __init__(self, batch: _Optional[str] = ..., administer_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., vaccinator: _Optional[str] = ..., device_id: _Optional[str] = ...) -> None: ...

class RebookingOffer(_message.Message):
    __slots__ = ("name", "citizen", "slot", "vaccine", "dose_number", "slot_start_time", "slot_end_time", "state", "expire_time", "new_appointment", "create_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CITIZEN_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    DOSE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SLOT_START_TIME_FIELD_NUMBER: _ClassVar[int]
    SLOT_END_TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    NEW_APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    citizen: str
    slot: str
    vaccine: str
    dose_number: int
    slot_start_time: _timestamp_pb2.Timestamp
    slot_end_time: _timestamp_pb2.Timestamp
    state: RebookingOfferState
    expire_time: _timestamp_pb2.Timestamp
    new_appointment: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., citizen: _Optional[str] = ..., slot: _Optional[str] = ..., vaccine: _Optional[str] = ..., dose_number: _Optional[int] = ..., slot_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., slot_end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[_Union[RebookingOfferState, str]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., new_appointment: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReserveAppointmentRequest(_message.Message):
    __slots__ = ("citizen", "slot", "vaccine", "dose_number", "request_id")
    CITIZEN_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    DOSE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    citizen: str
    slot: str
    vaccine: str
    dose_number: int
    request_id: str
    def __init__(self, citizen: _Optional[str] = ..., slot: _Optional[str] = ..., vaccine: _Optional[str] = ..., dose_number: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class ConfirmAppointmentRequest(_message.Message):
    __slots__ = ("name", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    request_id: str
    def __init__(self, name: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CancelAppointmentRequest(_message.Message):
    __slots__ = ("name", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    request_id: str
    def __init__(self, name: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetAppointmentRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListAppointmentsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAppointmentsResponse(_message.Message):
    __slots__ = ("appointments", "next_page_token")
    APPOINTMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    appointments: _containers.RepeatedCompositeFieldContainer[Appointment]
    next_page_token: str
    def __init__(self, appointments: _Optional[_Iterable[_Union[Appointment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListClinicAppointmentsRequest(_message.Message):
    __slots__ = ("parent", "slot", "start_time_from", "start_time_before", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FROM_FIELD_NUMBER: _ClassVar[int]
    START_TIME_BEFORE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    slot: str
    start_time_from: _timestamp_pb2.Timestamp
    start_time_before: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., slot: _Optional[str] = ..., start_time_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListClinicAppointmentsResponse(_message.Message):
    __slots__ = ("appointments", "next_page_token")
    APPOINTMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    appointments: _containers.RepeatedCompositeFieldContainer[Appointment]
    next_page_token: str
    def __init__(self, appointments: _Optional[_Iterable[_Union[Appointment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ResolveReviewRequest(_message.Message):
    __slots__ = ("name", "approved", "note", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    APPROVED_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    approved: bool
    note: str
    request_id: str
    def __init__(self, name: _Optional[str] = ..., approved: _Optional[bool] = ..., note: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CancelSlotAppointmentsRequest(_message.Message):
    __slots__ = ("slot", "note", "validate_only", "request_id")
    SLOT_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    slot: str
    note: str
    validate_only: bool
    request_id: str
    def __init__(self, slot: _Optional[str] = ..., note: _Optional[str] = ..., validate_only: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class CancelForDoseShortfallRequest(_message.Message):
    __slots__ = ("clinic", "vaccine", "doses", "note", "request_id")
    CLINIC_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    DOSES_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    clinic: str
    vaccine: str
    doses: int
    note: str
    request_id: str
    def __init__(self, clinic: _Optional[str] = ..., vaccine: _Optional[str] = ..., doses: _Optional[int] = ..., note: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CancelAppointmentsResponse(_message.Message):
    __slots__ = ("appointments", "rebooking_offers")
    APPOINTMENTS_FIELD_NUMBER: _ClassVar[int]
    REBOOKING_OFFERS_FIELD_NUMBER: _ClassVar[int]
    appointments: _containers.RepeatedScalarFieldContainer[str]
    rebooking_offers: int
    def __init__(self, appointments: _Optional[_Iterable[str]] = ..., rebooking_offers: _Optional[int] = ...) -> None: ...

class GetRebookingOfferRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class AcceptRebookingOfferRequest(_message.Message):
    __slots__ = ("name", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    request_id: str
    def __init__(self, name: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeclineRebookingOfferRequest(_message.Message):
    __slots__ = ("name", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    request_id: str
    def __init__(self, name: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RescheduleAppointmentRequest(_message.Message):
    __slots__ = ("name", "slot", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SLOT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    slot: str
    request_id: str
    def __init__(self, name: _Optional[str] = ..., slot: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...
