"""The gateway's OpenAPI 3.1 document, built from the bindings it routes.

Paths come from the path templates: each wildcard of a variable becomes a
path parameter named after the collection before it, so
``/v1/{name=appointments/*}:confirm`` is ``/v1/appointments/{appointment}:confirm``.
Query parameters are the fields neither the path nor the body sets.
Messages and enums are component schemas named by their full proto names;
``required`` comes from ``field_behavior = REQUIRED``, ``readOnly`` from
``OUTPUT_ONLY``, ``writeOnly`` from ``INPUT_ONLY``, and descriptions from
the protos' comments.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from google.api import field_behavior_pb2
from google.protobuf.descriptor import (
    Descriptor,
    EnumDescriptor,
    FieldDescriptor,
    ServiceDescriptor,
)
from google.rpc import error_details_pb2, status_pb2

from gateway import fields
from gateway.routes import Binding
from gateway.session import CSRF_COOKIE, SESSION_COOKIE, STATE_CHANGING
from gateway.templates import PathTemplate, Segment
from gateway.transcode import REQUEST_ID

OPENAPI_VERSION = "3.1.0"
SIGN_OUT_PATH = "/v1/signOut"
Schema = dict[str, Any]

_DESCRIPTION = (
    "REST and JSON over the vaxbook gRPC services, generated from the "
    "`google.api.http` options of their protos. Bodies and replies are proto "
    "JSON: lowerCamel names, enums by name, 64-bit integers and bytes (base64) "
    "as strings; an unknown field is refused. Every failure is a "
    "`google.rpc.Status` whose first detail is an `ErrorInfo` with a reason "
    "code. Sign in with a bearer token, or with the session cookie that "
    "`CompleteSignIn` sets, which needs `X-CSRF-Token` on changes."
)
_STATUS_DESCRIPTION = (
    "Why a call failed: the gRPC code, a message for people, and details. "
    "Each detail is an object with `@type` and that type's fields: "
    "`type.googleapis.com/google.rpc.ErrorInfo` (the reason code, first), "
    "`type.googleapis.com/google.rpc.BadRequest` (the bad fields), and so on."
)
_SCALARS: Mapping[int, Schema] = {
    FieldDescriptor.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldDescriptor.TYPE_INT64: {"type": "string", "format": "int64"},
    FieldDescriptor.TYPE_SINT64: {"type": "string", "format": "int64"},
    FieldDescriptor.TYPE_SFIXED64: {"type": "string", "format": "int64"},
    FieldDescriptor.TYPE_UINT64: {"type": "string", "format": "uint64"},
    FieldDescriptor.TYPE_FIXED64: {"type": "string", "format": "uint64"},
    FieldDescriptor.TYPE_INT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_UINT32: {"type": "integer", "format": "int64", "minimum": 0},
    FieldDescriptor.TYPE_FIXED32: {"type": "integer", "format": "int64", "minimum": 0},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {
        "type": "string",
        "format": "byte",
        "contentEncoding": "base64",
    },
}
_WELL_KNOWN: Mapping[str, Schema] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?\d+(\.\d+)?s$"},
    "google.protobuf.FieldMask": {"type": "string"},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array"},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "required": ["@type"],
    },
    "google.protobuf.DoubleValue": {"type": "number", "format": "double"},
    "google.protobuf.FloatValue": {"type": "number", "format": "float"},
    "google.protobuf.Int64Value": {"type": "string", "format": "int64"},
    "google.protobuf.UInt64Value": {"type": "string", "format": "uint64"},
    "google.protobuf.Int32Value": {"type": "integer", "format": "int32"},
    "google.protobuf.UInt32Value": {"type": "integer", "format": "int64"},
    "google.protobuf.BoolValue": {"type": "boolean"},
    "google.protobuf.StringValue": {"type": "string"},
    "google.protobuf.BytesValue": {"type": "string", "format": "byte"},
}


def build_document(
    bindings: Sequence[Binding], comments: Mapping[str, str]
) -> dict[str, Any]:
    """The whole document; ``comments`` are the protos' comments by full
    name (see :func:`gateway.descriptors.load_comments`)."""
    schemas = _Schemas(comments)
    status_ref = schemas.status()
    paths: dict[str, dict[str, Any]] = {}
    for binding in bindings:
        path, operation = _Operation(binding, schemas, comments).build()
        paths.setdefault(path, {})[binding.http_method.lower()] = operation
    paths[SIGN_OUT_PATH] = {"post": _sign_out_operation()}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "vaxbook", "version": "v1", "description": _DESCRIPTION},
        "tags": _tags(bindings, comments),
        "paths": paths,
        "components": {
            "schemas": schemas.built,
            "responses": {
                "Error": {
                    "description": "The call failed.",
                    "content": {"application/json": {"schema": status_ref}},
                }
            },
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE},
            },
        },
        # Either credential, or none for the calls anyone may make.
        "security": [{"bearer": []}, {"session": []}, {}],
    }


class _Schemas:
    """Component schemas of the messages and enums in use, each built once."""

    def __init__(self, comments: Mapping[str, str]) -> None:
        self.comments = comments
        self.built: dict[str, Schema] = {}

    def status(self) -> Schema:
        """The error body, with the detail types services send."""
        for detail in (
            error_details_pb2.ErrorInfo,
            error_details_pb2.BadRequest,
            error_details_pb2.PreconditionFailure,
            error_details_pb2.QuotaFailure,
        ):
            self.message_ref(detail.DESCRIPTOR)
        ref = self.message_ref(status_pb2.Status.DESCRIPTOR)
        self.built[status_pb2.Status.DESCRIPTOR.full_name]["description"] = (
            _STATUS_DESCRIPTION
        )
        return ref

    def message_ref(self, message: Descriptor) -> Schema:
        name = message.full_name
        if name not in self.built:
            # Taken first, so a message that holds itself refers back to
            # its own schema instead of building it forever.
            self.built[name] = {}
            self.built[name] = self._message(message)
        return {"$ref": f"#/components/schemas/{name}"}

    def enum_ref(self, enum: EnumDescriptor) -> Schema:
        name = enum.full_name
        if name not in self.built:
            self.built[name] = self._enum(enum)
        return {"$ref": f"#/components/schemas/{name}"}

    def field(self, field: FieldDescriptor) -> Schema:
        """A field's schema, without its description."""
        if fields.is_map(field):
            value = field.message_type.fields_by_name["value"]
            return {"type": "object", "additionalProperties": self.single(value)}
        if field.is_repeated:
            return {"type": "array", "items": self.single(field)}
        return self.single(field)

    def single(self, field: FieldDescriptor) -> Schema:
        """The schema of one value of a field."""
        if field.message_type is not None:
            known = _WELL_KNOWN.get(field.message_type.full_name)
            if known is not None:
                return dict(known)
            return self.message_ref(field.message_type)
        if field.enum_type is not None:
            return self.enum_ref(field.enum_type)
        return dict(_SCALARS[field.type])

    def described(self, field: FieldDescriptor) -> Schema:
        """A field's schema with its comment and read or write direction."""
        schema = self.field(field)
        comment = self.comments.get(field.full_name)
        if comment:
            schema["description"] = comment
        behaviours = field_behaviours(field)
        if field_behavior_pb2.OUTPUT_ONLY in behaviours:
            schema["readOnly"] = True
        if field_behavior_pb2.INPUT_ONLY in behaviours:
            schema["writeOnly"] = True
        return schema

    def object_of(
        self, message: Descriptor, leave_out: frozenset[str] = frozenset()
    ) -> Schema:
        """An object schema of ``message``'s fields but ``leave_out``."""
        kept = [f for f in message.fields if f.name not in leave_out]
        schema: Schema = {
            "type": "object",
            "properties": {f.json_name: self.described(f) for f in kept},
        }
        required = [f.json_name for f in kept if is_required(f)]
        if required:
            schema["required"] = required
        return schema

    def _message(self, message: Descriptor) -> Schema:
        schema = self.object_of(message)
        comment = self.comments.get(message.full_name)
        if comment:
            schema["description"] = comment
        return schema

    def _enum(self, enum: EnumDescriptor) -> Schema:
        lines = [self.comments.get(enum.full_name, "")]
        for value in enum.values:
            meaning = self.comments.get(f"{enum.full_name}.{value.name}", "")
            lines.append(f"- `{value.name}`: {' '.join(meaning.split())}")
        return {
            "type": "string",
            "enum": [value.name for value in enum.values],
            "description": "\n".join(lines).strip(),
        }


class _Operation:
    """The operation of one binding, and the OpenAPI path it lives at."""

    def __init__(
        self, binding: Binding, schemas: _Schemas, comments: Mapping[str, str]
    ) -> None:
        self.binding = binding
        self.schemas = schemas
        self.comments = comments
        self.request = binding.rpc.request_class.DESCRIPTOR

    def build(self) -> tuple[str, dict[str, Any]]:
        rpc = self.binding.rpc
        path, path_parameters = self._path()
        comment = self.comments.get(f"{rpc.service.full_name}.{rpc.name}", "")
        operation: dict[str, Any] = {
            "operationId": self.binding.operation_id,
            "tags": [rpc.service.name],
            "summary": _first_sentence(comment) or rpc.name,
            "description": comment,
            "parameters": [
                *path_parameters,
                *self._query_parameters(),
                *self._header_parameters(),
            ],
            "responses": {
                "200": {
                    "description": f"The {rpc.method.output_type.name}.",
                    "content": {
                        "application/json": {
                            "schema": self.schemas.message_ref(rpc.method.output_type)
                        }
                    },
                },
                "default": {"$ref": "#/components/responses/Error"},
            },
        }
        body = self._request_body()
        if body is not None:
            operation["requestBody"] = body
        return path, operation

    def _path(self) -> tuple[str, list[Schema]]:
        template = self.binding.template
        names = _parameter_names(template)
        parts = [
            f"{{{names[index]}}}" if index in names else segment.text
            for index, segment in enumerate(template.segments)
        ]
        parameters = [
            self._path_parameter(name, template, names, template.segments[index])
            for index, name in names.items()
        ]
        verb = f":{template.verb}" if template.verb else ""
        return "/" + "/".join(parts) + verb, parameters

    def _path_parameter(
        self,
        name: str,
        template: PathTemplate,
        names: Mapping[int, str],
        segment: Segment,
    ) -> Schema:
        variable = segment.variable or ""
        pattern = "/".join(
            f"{{{names[index]}}}" if index in names else part.text
            for index, part in enumerate(template.segments)
            if part.variable == variable
        )
        field = fields.resolve(self.request, variable)
        meaning = self.comments.get(field[-1].full_name, "") if field else ""
        return {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "description": f"The {{{name}}} part of `{variable}` (`{pattern}`). "
            f"{meaning}".strip(),
        }

    def _query_parameters(self) -> list[Schema]:
        parameters = []
        for path in _plain_field_paths(self.request, (), frozenset()):
            if self.binding.query_refusal(path) is not None:
                continue
            leaf = path[-1]
            schema = self.schemas.field(leaf)
            parameter: Schema = {
                "name": ".".join(field.json_name for field in path),
                "in": "query",
                "schema": schema,
            }
            comment = self.comments.get(leaf.full_name)
            if comment:
                parameter["description"] = comment
            if leaf.is_repeated:
                parameter.update(style="form", explode=True)
            parameters.append(parameter)
        return parameters

    def _header_parameters(self) -> list[Schema]:
        parameters = []
        if self._takes_request_id():
            parameters.append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "schema": {"type": "string"},
                    "description": "Becomes `requestId` when nothing else sets "
                    "it: a retry with the same key gets the first answer.",
                }
            )
        if self.binding.http_method in STATE_CHANGING:
            parameters.append(_csrf_parameter())
        return parameters

    def _request_body(self) -> Schema | None:
        binding = self.binding
        if not binding.body:
            return None
        field = binding.body_field
        if field is None:
            in_path = frozenset(v for v in binding.template.variables if "." not in v)
            schema = self.schemas.object_of(self.request, in_path)
            if self._takes_request_id():
                _not_required(schema, fields.field_named(self.request, REQUEST_ID))
            required = bool(schema.get("required"))
        else:
            schema = self.schemas.described(field)
            required = is_required(field)
        return {
            "required": required,
            "content": {"application/json": {"schema": schema}},
        }

    def _takes_request_id(self) -> bool:
        field = self.request.fields_by_name.get(REQUEST_ID)
        return field is not None and field.type == FieldDescriptor.TYPE_STRING


def field_behaviours(field: FieldDescriptor) -> list[int]:
    return list(field.GetOptions().Extensions[field_behavior_pb2.field_behavior])


def is_required(field: FieldDescriptor) -> bool:
    return field_behavior_pb2.REQUIRED in field_behaviours(field)


def _not_required(schema: Schema, field: FieldDescriptor | None) -> None:
    """Drops ``field`` from ``required``: the ``Idempotency-Key`` header
    may supply it instead."""
    required = schema.get("required", [])
    if field is not None and field.json_name in required:
        required.remove(field.json_name)
    if not required:
        schema.pop("required", None)


def _plain_field_paths(
    message: Descriptor, above: tuple[FieldDescriptor, ...], seen: frozenset[str]
) -> Iterator[tuple[FieldDescriptor, ...]]:
    """Paths to every field a query parameter could set: plain values,
    reached through singular messages, each message once per path."""
    seen = seen | {message.full_name}
    for field in message.fields:
        path = (*above, field)
        if fields.is_plain_value(field):
            yield path
        elif _singular_object(field) and field.message_type.full_name not in seen:
            yield from _plain_field_paths(field.message_type, path, seen)


def _singular_object(field: FieldDescriptor) -> bool:
    return fields.is_object(field) and not field.is_repeated


def _parameter_names(template: PathTemplate) -> dict[int, str]:
    """A path parameter name for each wildcard, by segment index:
    ``appointment`` for the one after ``appointments`` in the same variable,
    else the variable's own name; numbered when taken."""
    names: dict[int, str] = {}
    segments = template.segments
    for index, segment in enumerate(segments):
        if not segment.wildcard:
            continue
        before = segments[index - 1] if index else None
        if before and not before.wildcard and before.variable == segment.variable:
            base = before.text.removesuffix("s") or before.text
        else:
            base = (segment.variable or "value").rsplit(".", 1)[-1]
        name, number = base, 2
        while name in names.values():
            name, number = f"{base}{number}", number + 1
        names[index] = name
    return names


def _csrf_parameter() -> Schema:
    return {
        "name": "X-CSRF-Token",
        "in": "header",
        "schema": {"type": "string"},
        "description": f"The `{CSRF_COOKIE}` cookie's value; required when the "
        f"`{SESSION_COOKIE}` cookie, not a bearer token, signs the request in.",
    }


def _sign_out_operation() -> dict[str, Any]:
    return {
        "operationId": "SignOut",
        "tags": ["Session"],
        "summary": "Ends the browser session",
        "description": f"Clears the `{SESSION_COOKIE}` and `{CSRF_COOKIE}` "
        "cookies that a successful `CompleteSignIn` set. The token itself stays "
        "valid until it expires.",
        "parameters": [_csrf_parameter()],
        "responses": {
            "200": {
                "description": "The cookies are cleared.",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "default": {"$ref": "#/components/responses/Error"},
        },
    }


def _tags(bindings: Sequence[Binding], comments: Mapping[str, str]) -> list[Schema]:
    services: dict[str, ServiceDescriptor] = {}
    for binding in bindings:
        services.setdefault(binding.rpc.service.full_name, binding.rpc.service)
    tags = [
        {"name": service.name, "description": comments.get(full_name, "")}
        for full_name, service in services.items()
    ]
    return [*tags, {"name": "Session", "description": "Browser sessions."}]


def _first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    sentence, _, _ = flat.partition(". ")
    return sentence.removesuffix(".")
