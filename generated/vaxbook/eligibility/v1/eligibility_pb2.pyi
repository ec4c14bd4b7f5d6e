import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTCOME_UNSPECIFIED: _ClassVar[Outcome]
    OUTCOME_ELIGIBLE: _ClassVar[Outcome]
    OUTCOME_NOT_ELIGIBLE: _ClassVar[Outcome]
    OUTCOME_PROVISIONAL: _ClassVar[Outcome]
    OUTCOME_RETRY: _ClassVar[Outcome]

class ReviewState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REVIEW_STATE_UNSPECIFIED: _ClassVar[ReviewState]
    REVIEW_STATE_OPEN: _ClassVar[ReviewState]
    REVIEW_STATE_APPROVED: _ClassVar[ReviewState]
    REVIEW_STATE_REJECTED: _ClassVar[ReviewState]
OUTCOME_UNSPECIFIED: Outcome
OUTCOME_ELIGIBLE: Outcome
OUTCOME_NOT_ELIGIBLE: Outcome
OUTCOME_PROVISIONAL: Outcome
OUTCOME_RETRY: Outcome
REVIEW_STATE_UNSPECIFIED: ReviewState
REVIEW_STATE_OPEN: ReviewState
REVIEW_STATE_APPROVED: ReviewState
REVIEW_STATE_REJECTED: ReviewState

class Failure(_message.Message):
    __slots__ = ("code", "message", "details")
    class DetailsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    details: _containers.ScalarMap[str, str]
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ..., details: _Optional[_Mapping[str, str]] = ...) -> None: ...

class EligibilityDecision(_message.Message):
    __slots__ = ("outcome", "failures", "rules_version", "retry_delay")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    RULES_VERSION_FIELD_NUMBER: _ClassVar[int]
    RETRY_DELAY_FIELD_NUMBER: _ClassVar[int]
    outcome: Outcome
    failures: _containers.RepeatedCompositeFieldContainer[Failure]
    rules_version: str
    retry_delay: _duration_pb2.Duration
    def __init__(self, outcome: _Optional[_Union[Outcome, str]] = ..., failures: _Optional[_Iterable[_Union[Failure, _Mapping]]] = ..., rules_version: _Optional[str] = ..., retry_delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class CheckEligibilityRequest(_message.Message):
    __slots__ = ("patient", "vaccine", "dose_number", "appointment_time", "previous_attempts")
    PATIENT_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    DOSE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_TIME_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    patient: str
    vaccine: str
    dose_number: int
    appointment_time: _timestamp_pb2.Timestamp
    previous_attempts: int
    def __init__(self, patient: _Optional[str] = ..., vaccine: _Optional[str] = ..., dose_number: _Optional[int] = ..., appointment_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., previous_attempts: _Optional[int] = ...) -> None: ...

class BatchCheckEligibilityRequest(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[CheckEligibilityRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[CheckEligibilityRequest, _Mapping]]] = ...) -> None: ...

class BatchCheckEligibilityResponse(_message.Message):
    __slots__ = ("decisions",)
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    decisions: _containers.RepeatedCompositeFieldContainer[EligibilityDecision]
    def __init__(self, decisions: _Optional[_Iterable[_Union[EligibilityDecision, _Mapping]]] = ...) -> None: ...

class RuleSet(_message.Message):
    __slots__ = ("name", "version", "rules_json", "update_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RULES_JSON_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    rules_json: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., rules_json: _Optional[str] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetRuleSetRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ReplaceRuleSetRequest(_message.Message):
    __slots__ = ("rules_json", "request_id")
    RULES_JSON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    rules_json: str
    request_id: str
    def __init__(self, rules_json: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ReviewCase(_message.Message):
    __slots__ = ("name", "appointment", "patient", "vaccine", "dose_number", "reason", "rules_version", "state", "reviewer", "note", "create_time", "decide_time", "decision_applied")
    NAME_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    PATIENT_FIELD_NUMBER: _ClassVar[int]
    VACCINE_FIELD_NUMBER: _ClassVar[int]
    DOSE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RULES_VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REVIEWER_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DECIDE_TIME_FIELD_NUMBER: _ClassVar[int]
    DECISION_APPLIED_FIELD_NUMBER: _ClassVar[int]
    name: str
    appointment: str
    patient: str
    vaccine: str
    dose_number: int
    reason: str
    rules_version: str
    state: ReviewState
    reviewer: str
    note: str
    create_time: _timestamp_pb2.Timestamp
    decide_time: _timestamp_pb2.Timestamp
    decision_applied: bool
    def __init__(self, name: _Optional[str] = ..., appointment: _Optional[str] = ..., patient: _Optional[str] = ..., vaccine: _Optional[str] = ..., dose_number: _Optional[int] = ..., reason: _Optional[str] = ..., rules_version: _Optional[str] = ..., state: _Optional[_Union[ReviewState, str]] = ..., reviewer: _Optional[str] = ..., note: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., decide_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., decision_applied: _Optional[bool] = ...) -> None: ...

class CreateReviewCaseRequest(_message.Message):
    __slots__ = ("review_case", "request_id")
    REVIEW_CASE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    review_case: ReviewCase
    request_id: str
    def __init__(self, review_case: _Optional[_Union[ReviewCase, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class ListReviewCasesRequest(_message.Message):
    __slots__ = ("state", "page_size", "page_token")
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    state: ReviewState
    page_size: int
    page_token: str
    def __init__(self, state: _Optional[_Union[ReviewState, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListReviewCasesResponse(_message.Message):
    __slots__ = ("review_cases", "next_page_token")
    REVIEW_CASES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    review_cases: _containers.RepeatedCompositeFieldContainer[ReviewCase]
    next_page_token: str
    def __init__(self, review_cases: _Optional[_Iterable[_Union[ReviewCase, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ApproveReviewCaseRequest(_message.Message):
    __slots__ = ("name", "note", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    note: str
    request_id: str
    def __init__(self, name: _Optional[str] = ..., note: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RejectReviewCaseRequest(_message.Message):
    __slots__ = ("name", "note", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    note: str
    request_id: str
    def __init__(self, name: _Optional[str] = ..., note: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...
