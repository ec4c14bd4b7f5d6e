"""The services the gateway exposes, and the comments that document them.

Services are found by importing every generated ``*_pb2`` module under the
``vaxbook`` package, so a new proto file needs no change here. The generated
modules carry no comments; ``make generate`` also writes a descriptor set
with source info (``generated/vaxbook_descriptors.binpb``), read for them.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Iterator
from pathlib import Path

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import ServiceDescriptor

log = logging.getLogger(__name__)

DESCRIPTOR_SET_NAME = "vaxbook_descriptors.binpb"

# Field numbers of the descriptor messages, as source locations name them.
_FILE_MESSAGES, _FILE_ENUMS, _FILE_SERVICES = 4, 5, 6
_MESSAGE_FIELDS, _MESSAGE_NESTED, _MESSAGE_ENUMS = 2, 3, 4
_ENUM_VALUES = 2
_SERVICE_METHODS = 2

LocationPath = tuple[int, ...]
Named = Iterator[tuple[LocationPath, str]]


def vaxbook_services() -> list[ServiceDescriptor]:
    """Every service declared in the generated ``vaxbook`` modules."""
    import vaxbook

    services: list[ServiceDescriptor] = []
    for module in pkgutil.walk_packages(vaxbook.__path__, "vaxbook."):
        if module.name.endswith("_pb2"):
            loaded = importlib.import_module(module.name)
            services.extend(loaded.DESCRIPTOR.services_by_name.values())
    return services


def descriptor_set_path(configured: str = "") -> Path | None:
    """The descriptor set to read comments from: ``configured`` when given,
    else the one beside the generated package, else ``generated/`` under
    the working directory (an installed package keeps no copy)."""
    if configured:
        return Path(configured)
    import vaxbook

    candidates = [
        Path(vaxbook.__file__).resolve().parent.parent / DESCRIPTOR_SET_NAME,
        Path.cwd() / "generated" / DESCRIPTOR_SET_NAME,
    ]
    return next((path for path in candidates if path.is_file()), None)


def load_comments(path: Path | None) -> dict[str, str]:
    """The leading comment of every service, method, message, field, enum
    and enum value (under its enum) in the descriptor set at ``path``, by
    full name. Without the file the documents go without descriptions
    rather than not at all."""
    if path is None or not path.is_file():
        log.warning("no descriptor set with comments found; docs lack descriptions")
        return {}
    files = descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes())
    comments: dict[str, str] = {}
    for file in files.file:
        located = {
            tuple(location.path): location.leading_comments
            for location in file.source_code_info.location
            if location.leading_comments
        }
        for element_path, name in _named_paths(file):
            if element_path in located:
                comments[name] = _clean(located[element_path])
    return comments


def _named_paths(file: descriptor_pb2.FileDescriptorProto) -> Named:
    """(source location path, full name) of each element of ``file``."""
    package = file.package
    for index, message in enumerate(file.message_type):
        yield from _message_paths(message, (_FILE_MESSAGES, index), package)
    for index, enum in enumerate(file.enum_type):
        yield from _enum_paths(enum, (_FILE_ENUMS, index), package)
    for index, service in enumerate(file.service):
        name = f"{package}.{service.name}"
        yield (_FILE_SERVICES, index), name
        for number, method in enumerate(service.method):
            yield (
                (_FILE_SERVICES, index, _SERVICE_METHODS, number),
                (f"{name}.{method.name}"),
            )


def _message_paths(
    message: descriptor_pb2.DescriptorProto, at: LocationPath, scope: str
) -> Named:
    name = f"{scope}.{message.name}"
    yield at, name
    for index, field in enumerate(message.field):
        yield (*at, _MESSAGE_FIELDS, index), f"{name}.{field.name}"
    for index, nested in enumerate(message.nested_type):
        yield from _message_paths(nested, (*at, _MESSAGE_NESTED, index), name)
    for index, enum in enumerate(message.enum_type):
        yield from _enum_paths(enum, (*at, _MESSAGE_ENUMS, index), name)


def _enum_paths(
    enum: descriptor_pb2.EnumDescriptorProto, at: LocationPath, scope: str
) -> Named:
    name = f"{scope}.{enum.name}"
    yield at, name
    for index, value in enumerate(enum.value):
        # Kept under the enum's name (protobuf scopes values beside it), so
        # a value is found from its enum.
        yield (*at, _ENUM_VALUES, index), f"{name}.{value.name}"


def _clean(comment: str) -> str:
    """A comment without the space after each ``//``, trimmed."""
    lines = [line.removeprefix(" ") for line in comment.splitlines()]
    return "\n".join(lines).strip()
