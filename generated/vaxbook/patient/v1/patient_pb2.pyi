import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Vaccination(_message.Message):
    __slots__ = ("vaccine", "dose_number", "given_date", "clinic", "batch")
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    DOSE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    GIVEN_DATE_FIELD_NUMBER: _ClassVar[int]
    CLINIC_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    vaccine: str
    dose_number: int
    given_date: str
    clinic: str
    batch: str
    def __init__(self, vaccine: _Optional[str] = ..., dose_number: _Optional[int] = ..., given_date: _Optional[str] = ..., clinic: _Optional[str] = ..., batch: _Optional[str] = ...) -> None: ...

class Patient(_message.Message):
    __slots__ = ("name", "birth_date", "region", "allergies", "contraindications", "guardian_consent", "vaccinations", "update_time", "display_name")
    NAME_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    ALLERGIES_FIELD_NUMBER: _ClassVar[int]
    CONTRAINDICATIONS_FIELD_NUMBER: _ClassVar[int]
    GUARDIAN_CONSENT_FIELD_NUMBER: _ClassVar[int]
    VACCINATIONS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    birth_date: str
    region: str
    allergies: _containers.RepeatedScalarFieldContainer[str]
    contraindications: _containers.RepeatedScalarFieldContainer[str]
    guardian_consent: bool
    vaccinations: _containers.RepeatedCompositeFieldContainer[Vaccination]
    update_time: _timestamp_pb2.Timestamp
    display_name: str
    def __init__(self, name: _Optional[str] = ..., birth_date: _Optional[str] = ..., region: _Optional[str] = ..., allergies: _Optional[_Iterable[str]] = ..., contraindications: _Optional[_Iterable[str]] = ..., guardian_consent: _Optional[bool] = ..., vaccinations: _Optional[_Iterable[_Union[Vaccination, _Mapping]]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., display_name: _Optional[str] = ...) -> None: ...

class GetPatientRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class BatchGetPatientsRequest(_message.Message):
    __slots__ = ("names",)
    NAMES_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, names: _Optional[_Iterable[str]] = ...) -> None: ...

class BatchGetPatientsResponse(_message.Message):
    __slots__ = ("patients",)
    PATIENTS_FIELD_NUMBER: _ClassVar[int]
    patients: _containers.RepeatedCompositeFieldContainer[Patient]
    def __init__(self, patients: _Optional[_Iterable[_Union[Patient, _Mapping]]] = ...) -> None: ...

class UpdatePatientRequest(_message.Message):
    __slots__ = ("patient", "allow_missing", "request_id")
    PATIENT_FIELD_NUMBER: _ClassVar[int]
    ALLOW_MISSING_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    patient: Patient
    allow_missing: bool
    request_id: str
    def __init__(self, patient: _Optional[_Union[Patient, _Mapping]] = ..., allow_missing: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class RecordVaccinationRequest(_message.Message):
    __slots__ = ("parent", "vaccination", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    VACCINATION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    vaccination: Vaccination
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., vaccination: _Optional[_Union[Vaccination, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...
