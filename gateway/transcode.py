"""Turning an HTTP request into the RPC's request message, and a reply
into JSON.

The message is filled in this order, later steps winning: the JSON body
(all of it for ``body: "*"``, else the one body field), then query
parameters (every field neither the path nor the body sets; nested with
dots, repeated by repeating the parameter, in lowerCamel or snake_case),
then the path variables. Last, an ``Idempotency-Key`` header becomes the
``request_id`` when the message has one and nothing else set it.

JSON goes through ``google.protobuf.json_format``, so it is proto JSON:
lowerCamel names, enums by name, 64-bit integers and bytes (base64) as
strings. A field the message does not have is refused by name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from gateway import fields
from gateway.errors import GatewayError
from gateway.routes import Binding

REQUEST_ID = "request_id"
_TRUE_WORDS = frozenset({"true", "1"})
_FALSE_WORDS = frozenset({"false", "0"})
# What json_format raises for a value that does not fit its field.
_PARSE_ERRORS = (json_format.Error, ValueError, TypeError)


def build_request(
    binding: Binding,
    variables: Mapping[str, str],
    query: Iterable[tuple[str, str]],
    body: bytes,
    idempotency_key: str | None,
) -> Message:
    """The request message of ``binding``'s RPC; raises :class:`GatewayError`
    naming what does not fit."""
    message = binding.rpc.request_class()
    if binding.body:
        _merge_body(message, binding, body)
    _merge_query(message, binding, query)
    _merge_path(message, variables)
    if idempotency_key:
        _fill_request_id(message, idempotency_key)
    return message


def reply_json(message: Message) -> dict[str, Any]:
    """A reply as proto JSON with lowerCamel names."""
    return json_format.MessageToDict(message)


def _merge_body(message: Message, binding: Binding, body: bytes) -> None:
    data = _decode_json(body)
    if data is None:
        return
    field = binding.body_field
    if field is None:
        _require_object(data, "a JSON object")
        _refuse_unknown(message.DESCRIPTOR, data)
        _parse(data, message)
        return
    if fields.is_object(field) and not field.is_repeated:
        _require_object(data, f"a JSON {field.message_type.name} object")
        _refuse_unknown(field.message_type, data)
    _parse({field.json_name: data}, message)


def _decode_json(body: bytes) -> Any:
    """The body's JSON; ``None`` for an empty body."""
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as error:
        raise GatewayError.malformed_body(f"not valid JSON ({error})") from None


def _require_object(data: Any, expected: str) -> None:
    if not isinstance(data, dict):
        raise GatewayError.malformed_body(f"expected {expected}")


def _parse(data: Any, message: Message) -> None:
    try:
        json_format.ParseDict(data, message)
    except _PARSE_ERRORS as error:
        raise GatewayError.malformed_body(str(error)) from None


def _refuse_unknown(descriptor: Descriptor, data: Mapping[str, Any]) -> None:
    unknown = unknown_fields(descriptor, data)
    if unknown:
        raise GatewayError.unknown_fields(descriptor.full_name, unknown)


def unknown_fields(
    descriptor: Descriptor, data: Mapping[str, Any], prefix: str = ""
) -> list[str]:
    """The names in ``data``, and in the objects nested in it, that are no
    field of ``descriptor``; dotted from the top (``slot.startTim``)."""
    unknown: list[str] = []
    for name, value in data.items():
        field = fields.field_named(descriptor, name)
        if field is None:
            unknown.append(f"{prefix}{name}")
        elif fields.is_object(field):
            unknown += _unknown_inside(field, value, f"{prefix}{name}")
        elif fields.is_map(field) and isinstance(value, dict):
            unknown += _unknown_in_map(field, value, f"{prefix}{name}")
    return unknown


def _unknown_inside(field: FieldDescriptor, value: Any, at: str) -> list[str]:
    if field.is_repeated and isinstance(value, list):
        items = [(f"{at}[{i}].", item) for i, item in enumerate(value)]
    else:
        items = [(f"{at}.", value)]
    return [
        name
        for prefix, item in items
        if isinstance(item, dict)
        for name in unknown_fields(field.message_type, item, prefix)
    ]


def _unknown_in_map(field: FieldDescriptor, value: dict, at: str) -> list[str]:
    value_field = field.message_type.fields_by_name["value"]
    if not fields.is_object(value_field):
        return []
    return [
        name
        for key, item in value.items()
        if isinstance(item, dict)
        for name in unknown_fields(value_field.message_type, item, f"{at}.{key}.")
    ]


def _merge_query(
    message: Message, binding: Binding, query: Iterable[tuple[str, str]]
) -> None:
    """Sets each field the query names, one field at a time, so a value
    that does not fit is refused under the parameter's own name."""
    grouped: dict[str, tuple[str, list[FieldDescriptor], list[str]]] = {}
    for key, value in query:
        path = _query_field(message.DESCRIPTOR, binding, key)
        dotted = ".".join(field.name for field in path)
        _, _, values = grouped.setdefault(dotted, (key, path, []))
        if values and not path[-1].is_repeated:
            raise GatewayError.bad_field(key, "given more than once")
        values.append(value)
    for key, path, values in grouped.values():
        scratch = type(message)()
        try:
            json_format.ParseDict(_nested(path, values, key), scratch)
        except _PARSE_ERRORS as error:
            raise GatewayError.bad_field(key, str(error)) from None
        message.MergeFrom(scratch)


def _query_field(
    descriptor: Descriptor, binding: Binding, key: str
) -> list[FieldDescriptor]:
    path = fields.resolve(descriptor, key)
    if path is None:
        raise GatewayError.unknown_fields(descriptor.full_name, [key])
    refusal = binding.query_refusal(path)
    if refusal is None and not fields.is_plain_value(path[-1]):
        refusal = "a query parameter can only set a string, number or boolean"
    if refusal is not None:
        raise GatewayError.bad_field(key, refusal)
    return path


def _nested(path: list[FieldDescriptor], values: list[str], key: str) -> dict:
    """``{"a": {"b": value}}`` for the path ``a.b``, in JSON names."""
    leaf = path[-1]
    converted = [_query_value(leaf, value, key) for value in values]
    nested: dict[str, Any] = {
        leaf.json_name: converted if leaf.is_repeated else converted[0]
    }
    for field in reversed(path[:-1]):
        nested = {field.json_name: nested}
    return nested


def _query_value(field: FieldDescriptor, value: str, key: str) -> Any:
    """Query text as the JSON value proto JSON expects: booleans are JSON
    booleans; every other plain value parses from its string."""
    if not fields.is_boolean(field):
        return value
    word = value.lower()
    if word in _TRUE_WORDS | _FALSE_WORDS:
        return word in _TRUE_WORDS
    raise GatewayError.bad_field(key, f"expected true or false, got {value!r}")


def _merge_path(message: Message, variables: Mapping[str, str]) -> None:
    for variable, value in variables.items():
        *parents, leaf = variable.split(".")
        target = message
        for name in parents:
            target = getattr(target, name)
        field = target.DESCRIPTOR.fields_by_name[leaf]
        try:
            json_format.ParseDict({field.json_name: value}, target)
        except _PARSE_ERRORS as error:
            raise GatewayError.bad_field(variable, str(error)) from None


def _fill_request_id(message: Message, key: str) -> None:
    field = message.DESCRIPTOR.fields_by_name.get(REQUEST_ID)
    if field is None or field.type != FieldDescriptor.TYPE_STRING:
        return
    if not getattr(message, REQUEST_ID):
        setattr(message, REQUEST_ID, key)
