"""Questions about message fields that transcoding and the OpenAPI document
both ask: which messages JSON writes as plain values, which fields are maps,
and which field a dotted name means."""

from __future__ import annotations

from google.protobuf.descriptor import Descriptor, FieldDescriptor

# Well-known types whose JSON form is a single string, number or boolean, so
# a query parameter or a path variable can carry them.
SCALAR_WELL_KNOWN = frozenset(
    {
        "google.protobuf.Timestamp",
        "google.protobuf.Duration",
        "google.protobuf.FieldMask",
        "google.protobuf.DoubleValue",
        "google.protobuf.FloatValue",
        "google.protobuf.Int64Value",
        "google.protobuf.UInt64Value",
        "google.protobuf.Int32Value",
        "google.protobuf.UInt32Value",
        "google.protobuf.BoolValue",
        "google.protobuf.StringValue",
        "google.protobuf.BytesValue",
    }
)


def is_well_known(message: Descriptor) -> bool:
    """JSON writes these in their own forms, not as objects of fields."""
    return message.full_name.startswith("google.protobuf.")


def is_map(field: FieldDescriptor) -> bool:
    message = field.message_type
    return message is not None and message.GetOptions().map_entry


def is_object(field: FieldDescriptor) -> bool:
    """A message JSON writes as an object of the message's own fields."""
    message = field.message_type
    return message is not None and not is_well_known(message) and not is_map(field)


def is_plain_value(field: FieldDescriptor) -> bool:
    """A field whose one value is a string, number or boolean in JSON."""
    message = field.message_type
    return message is None or message.full_name in SCALAR_WELL_KNOWN


def is_boolean(field: FieldDescriptor) -> bool:
    message = field.message_type
    if message is not None:
        return message.full_name == "google.protobuf.BoolValue"
    return field.type == FieldDescriptor.TYPE_BOOL


def field_named(message: Descriptor, name: str) -> FieldDescriptor | None:
    """The field ``name`` means: its proto name or its lowerCamel JSON name."""
    by_proto = message.fields_by_name.get(name)
    if by_proto is not None:
        return by_proto
    return next((f for f in message.fields if f.json_name == name), None)


def resolve(message: Descriptor, dotted: str) -> list[FieldDescriptor] | None:
    """The fields along ``dotted`` (``filter.start_time`` or
    ``filter.startTime``), each but the last a singular message; ``None``
    when a name does not resolve."""
    fields: list[FieldDescriptor] = []
    current: Descriptor | None = message
    for name in dotted.split("."):
        if current is None:
            return None
        field = field_named(current, name)
        if field is None:
            return None
        fields.append(field)
        single_object = is_object(field) and not field.is_repeated
        current = field.message_type if single_object else None
    return fields
