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

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_CITIZEN: _ClassVar[Role]
    ROLE_CLINIC_STAFF: _ClassVar[Role]
    ROLE_REVIEWER: _ClassVar[Role]
    ROLE_AUDITOR: _ClassVar[Role]
    ROLE_ADMIN: _ClassVar[Role]

class AccountKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCOUNT_KIND_UNSPECIFIED: _ClassVar[AccountKind]
    ACCOUNT_KIND_CITIZEN: _ClassVar[AccountKind]
    ACCOUNT_KIND_STAFF: _ClassVar[AccountKind]

class Relationship(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RELATIONSHIP_UNSPECIFIED: _ClassVar[Relationship]
    RELATIONSHIP_CHILD: _ClassVar[Relationship]
    RELATIONSHIP_PARENT: _ClassVar[Relationship]
    RELATIONSHIP_SPOUSE: _ClassVar[Relationship]
    RELATIONSHIP_OTHER: _ClassVar[Relationship]
ROLE_UNSPECIFIED: Role
ROLE_CITIZEN: Role
ROLE_CLINIC_STAFF: Role
ROLE_REVIEWER: Role
ROLE_AUDITOR: Role
ROLE_ADMIN: Role
ACCOUNT_KIND_UNSPECIFIED: AccountKind
ACCOUNT_KIND_CITIZEN: AccountKind
ACCOUNT_KIND_STAFF: AccountKind
RELATIONSHIP_UNSPECIFIED: Relationship
RELATIONSHIP_CHILD: Relationship
RELATIONSHIP_PARENT: Relationship
RELATIONSHIP_SPOUSE: Relationship
RELATIONSHIP_OTHER: Relationship

class Contact(_message.Message):
    __slots__ = ("phone_number", "email")
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    phone_number: str
    email: str
    def __init__(self, phone_number: _Optional[str] = ..., email: _Optional[str] = ...) -> None: ...

class Citizen(_message.Message):
    __slots__ = ("name", "masked_destination", "create_time", "preferred_language")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MASKED_DESTINATION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    name: str
    masked_destination: str
    create_time: _timestamp_pb2.Timestamp
    preferred_language: str
    def __init__(self, name: _Optional[str] = ..., masked_destination: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., preferred_language: _Optional[str] = ...) -> None: ...

class NotificationContact(_message.Message):
    __slots__ = ("account", "contact", "masked_destination", "preferred_language")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    MASKED_DESTINATION_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    account: str
    contact: Contact
    masked_destination: str
    preferred_language: str
    def __init__(self, account: _Optional[str] = ..., contact: _Optional[_Union[Contact, _Mapping]] = ..., masked_destination: _Optional[str] = ..., preferred_language: _Optional[str] = ...) -> None: ...

class SignInChallenge(_message.Message):
    __slots__ = ("name", "masked_destination", "expire_time", "attempts_left")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MASKED_DESTINATION_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_LEFT_FIELD_NUMBER: _ClassVar[int]
    name: str
    masked_destination: str
    expire_time: _timestamp_pb2.Timestamp
    attempts_left: int
    def __init__(self, name: _Optional[str] = ..., masked_destination: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempts_left: _Optional[int] = ...) -> None: ...

class AccessToken(_message.Message):
    __slots__ = ("token", "expire_time", "subject", "role", "clinics")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CLINICS_FIELD_NUMBER: _ClassVar[int]
    token: str
    expire_time: _timestamp_pb2.Timestamp
    subject: str
    role: Role
    clinics: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, token: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., subject: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., clinics: _Optional[_Iterable[str]] = ...) -> None: ...

class Dependant(_message.Message):
    __slots__ = ("name", "display_name", "relationship", "create_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    RELATIONSHIP_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    relationship: Relationship
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., relationship: _Optional[_Union[Relationship, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StaffAccount(_message.Message):
    __slots__ = ("name", "national_id", "contact", "role", "clinics", "masked_destination", "create_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NATIONAL_ID_FIELD_NUMBER: _ClassVar[int]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CLINICS_FIELD_NUMBER: _ClassVar[int]
    MASKED_DESTINATION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    national_id: str
    contact: Contact
    role: Role
    clinics: _containers.RepeatedScalarFieldContainer[str]
    masked_destination: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., national_id: _Optional[str] = ..., contact: _Optional[_Union[Contact, _Mapping]] = ..., role: _Optional[_Union[Role, str]] = ..., clinics: _Optional[_Iterable[str]] = ..., masked_destination: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SigningKey(_message.Message):
    __slots__ = ("name", "key_id", "algorithm", "public_key", "create_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    key_id: str
    algorithm: str
    public_key: bytes
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., key_id: _Optional[str] = ..., algorithm: _Optional[str] = ..., public_key: _Optional[bytes] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SignUpRequest(_message.Message):
    __slots__ = ("national_id", "contact", "request_id", "preferred_language")
    NATIONAL_ID_FIELD_NUMBER: _ClassVar[int]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    national_id: str
    contact: Contact
    request_id: str
    preferred_language: str
    def __init__(self, national_id: _Optional[str] = ..., contact: _Optional[_Union[Contact, _Mapping]] = ..., request_id: _Optional[str] = ..., preferred_language: _Optional[str] = ...) -> None: ...

class StartSignInRequest(_message.Message):
    __slots__ = ("national_id", "account_kind", "request_id")
    NATIONAL_ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_KIND_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    national_id: str
    account_kind: AccountKind
    request_id: str
    def __init__(self, national_id: _Optional[str] = ..., account_kind: _Optional[_Union[AccountKind, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CompleteSignInRequest(_message.Message):
    __slots__ = ("challenge", "code", "request_id")
    CHALLENGE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    challenge: str
    code: str
    request_id: str
    def __init__(self, challenge: _Optional[str] = ..., code: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class AddDependantRequest(_message.Message):
    __slots__ = ("parent", "dependant", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    DEPENDANT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    dependant: Dependant
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., dependant: _Optional[_Union[Dependant, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class ListDependantsRequest(_message.Message):
    __slots__ = ("parent",)
    PARENT_FIELD_NUMBER: _ClassVar[int]
    parent: str
    def __init__(self, parent: _Optional[str] = ...) -> None: ...

class ListDependantsResponse(_message.Message):
    __slots__ = ("dependants",)
    DEPENDANTS_FIELD_NUMBER: _ClassVar[int]
    dependants: _containers.RepeatedCompositeFieldContainer[Dependant]
    def __init__(self, dependants: _Optional[_Iterable[_Union[Dependant, _Mapping]]] = ...) -> None: ...

class CreateStaffAccountRequest(_message.Message):
    __slots__ = ("staff_account", "request_id")
    STAFF_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    staff_account: StaffAccount
    request_id: str
    def __init__(self, staff_account: _Optional[_Union[StaffAccount, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class ListSigningKeysRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetNotificationContactRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListSigningKeysResponse(_message.Message):
    __slots__ = ("signing_keys",)
    SIGNING_KEYS_FIELD_NUMBER: _ClassVar[int]
    signing_keys: _containers.RepeatedCompositeFieldContainer[SigningKey]
    def __init__(self, signing_keys: _Optional[_Iterable[_Union[SigningKey, _Mapping]]] = ...) -> None: ...
